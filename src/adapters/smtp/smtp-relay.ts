import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { deadlineError } from './classify.ts';
import { describeRelay, type RelaySpec } from './relay-url.ts';
import type { OutgoingMail, Relay, RelayReceipt } from './relay.ts';

/** How hard the pool works: connections kept open, and the longest wait for any SMTP reply. */
export interface SmtpTuning {
  connections: number;
  replyTimeoutMs: number;
}

function poolOptions(spec: RelaySpec, t: SmtpTuning): SMTPPool.Options {
  const connectMs = Math.min(30_000, t.replyTimeoutMs);
  const isIp = /^[0-9.]+$|:/.test(spec.host);
  return {
    pool: true,
    host: spec.host,
    port: spec.port,
    secure: spec.secure,
    requireTLS: spec.requireTLS,
    ...(spec.auth ? { auth: { user: spec.auth.user, pass: spec.auth.pass } } : {}),
    // Certificates are always verified; a private relay's CA is added, never "accept anything".
    tls: { minVersion: 'TLSv1.2', ...(spec.ca ? { ca: spec.ca } : {}), ...(isIp ? {} : { servername: spec.host }) },
    maxConnections: t.connections,
    maxMessages: 1000,
    // The outbox owns retries: a message whose connection dropped is not silently re-queued.
    maxRequeues: 0,
    connectionTimeout: connectMs,
    greetingTimeout: connectMs,
    dnsTimeout: connectMs,
    socketTimeout: t.replyTimeoutMs,
    // No transaction log: with debug on, nodemailer would write message bodies (PINs) to it.
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * The relay in DIALIN_SMTP_URL (or a command's own) through one pooled nodemailer transport.
 * A send that outlives its deadline recycles the pool: a hung connection cannot block the worker.
 */
export function createSmtpRelay(spec: RelaySpec, tuning: SmtpTuning): Relay {
  const options = poolOptions(spec, tuning);
  const open = (): Transporter<SMTPPool.SentMessageInfo> => {
    const t = nodemailer.createTransport(options);
    // Errors also reach each sendMail callback; the event must not crash the process.
    t.on('error', () => {});
    return t;
  };
  let transport = open();
  return {
    description: describeRelay(spec),
    send(mail: OutgoingMail, deadlineMs: number): Promise<RelayReceipt> {
      const current = transport;
      return new Promise<RelayReceipt>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (transport === current) {
            transport = open();
            current.close();
          }
          reject(deadlineError(deadlineMs));
        }, deadlineMs);
        current
          .sendMail({ envelope: mail.envelope, raw: Buffer.from(mail.raw.buffer, mail.raw.byteOffset, mail.raw.byteLength), messageId: mail.messageId })
          .then(
            (info) => resolve({ accepted: info.accepted.map(String), rejected: info.rejected.map(String), response: info.response }),
            reject,
          )
          .finally(() => clearTimeout(timer));
      });
    },
    check: () => verifySmtpRelay(spec, tuning),
    async close() {
      transport.close();
    },
  };
}

/**
 * Checks a relay before anything depends on it: connects, does STARTTLS (required or offered)
 * and AUTH when credentials are given, with the same options as `createSmtpRelay`, then hangs up.
 * Rejects with nodemailer's error (classify it with `classifySendError`).
 */
export async function verifySmtpRelay(spec: RelaySpec, tuning: SmtpTuning): Promise<void> {
  const t = nodemailer.createTransport(poolOptions(spec, tuning));
  t.on('error', () => {});
  try {
    await t.verify();
  } finally {
    t.close();
  }
}
