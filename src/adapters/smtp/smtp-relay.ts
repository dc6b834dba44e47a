import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { deadlineError } from './classify.ts';
import { heloName } from './helo-name.ts';
import { describeRelay, type RelaySpec } from './relay-url.ts';
import type { OutgoingMail, Relay, RelayReceipt } from './relay.ts';

/** How hard the pool works: sessions kept open, and the longest wait for any SMTP reply. */
export interface SmtpTuning {
  connections: number;
  replyTimeoutMs: number;
  /** The EHLO name (DIALIN_SMTP_HELO_NAME or the machine's FQDN, see helo-name.ts). */
  heloName?: string;
}

/** The options of one SMTP session (nodemailer's SMTP connection), also used to check a relay. */
function sessionOptions(spec: RelaySpec, t: SmtpTuning): SMTPConnection.Options {
  const connectMs = Math.min(30_000, t.replyTimeoutMs);
  const isIp = /^[0-9.]+$|:/.test(spec.host);
  return {
    name: t.heloName ?? heloName(null),
    host: spec.host,
    port: spec.port,
    secure: spec.secure,
    requireTLS: spec.requireTLS,
    // Certificates are always verified; a private relay's CA is added, never "accept anything".
    tls: { minVersion: 'TLSv1.2', ...(spec.ca ? { ca: spec.ca } : {}), ...(isIp ? {} : { servername: spec.host }) },
    connectionTimeout: connectMs,
    greetingTimeout: connectMs,
    dnsTimeout: connectMs,
    socketTimeout: t.replyTimeoutMs,
    // No transaction log: with debug on, nodemailer would write message bodies (PINs) to it.
    logger: false,
    debug: false,
  };
}

/** Messages sent over one connection before it is replaced (as nodemailer's pool does). */
const MAX_MESSAGES = 1000;

/** One pooled session: `broken` once it failed or the server closed it (never reused then). */
interface Session {
  smtp: SMTPConnection;
  sent: number;
  broken: boolean;
}

/**
 * The relay in DIALIN_SMTP_URL (or a command's own): a pool of nodemailer SMTP connections
 * (`nodemailer/lib/smtp-connection`: EHLO, STARTTLS, AUTH, pipelined MAIL/RCPT/DATA, dot-stuffing)
 * that messages composed beforehand are written to directly. nodemailer's transport would wrap
 * each raw message in a mail object, a MIME node and a stream pipeline again: 0.25 ms of CPU a
 * message against 0.10 ms here. Sessions are opened on demand up to `connections`, reused for up
 * to 1,000 messages, and dropped after any failure or a send past its deadline, so a hung or
 * confused connection never carries the next message.
 */
export function createSmtpRelay(spec: RelaySpec, tuning: SmtpTuning): Relay {
  const options = sessionOptions(spec, tuning);
  const idle: Session[] = [];
  /** Every session not yet ended (connecting, idle or sending): at most `connections`. */
  const live = new Set<Session>();
  const waiting: (() => void)[] = [];
  let closed = false;

  const wakeOne = () => waiting.shift()?.();
  /** The session is gone: out of the pool, and its place is free for a waiting send. */
  function forget(s: Session): void {
    s.broken = true;
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    if (live.delete(s)) wakeOne();
  }
  function discard(s: Session, politely: boolean): void {
    if (politely && !s.broken) s.smtp.quit();
    else s.smtp.close();
    forget(s);
  }

  function connect(): Promise<Session> {
    return new Promise((resolve, reject) => {
      const smtp = new SMTPConnection(options);
      const s: Session = { smtp, sent: 0, broken: false };
      live.add(s);
      let settled = false;
      const ready = () => {
        if (settled) return;
        settled = true;
        resolve(s);
      };
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        smtp.close();
        forget(s);
        reject(e);
      };
      // Once the session is up, errors also reach the send in flight; here they only retire it.
      smtp.on('error', (e) => (settled ? (s.broken = true) : fail(e)));
      smtp.once('end', () => (settled ? forget(s) : fail(Object.assign(new Error('the relay closed the connection'), { code: 'ECONNECTION' }))));
      smtp.connect((err?: Error) => {
        if (err) return fail(err);
        // As nodemailer's pool: log in when the relay offers AUTH (after STARTTLS, which requireTLS enforces).
        if (!spec.auth || !smtp.allowsAuth) return ready();
        smtp.login({ user: spec.auth.user, pass: spec.auth.pass }, (e) => (e ? fail(e) : ready()));
      });
    });
  }

  async function acquire(): Promise<Session> {
    for (;;) {
      if (closed) throw Object.assign(new Error('the relay connection pool is closed'), { code: 'ECONNECTION' });
      const s = idle.pop();
      if (s && !s.broken) return s;
      if (s) continue;
      if (live.size < tuning.connections) return connect();
      await new Promise<void>((r) => waiting.push(r));
    }
  }

  function release(s: Session): void {
    if (s.broken || closed || s.sent >= MAX_MESSAGES) discard(s, !s.broken);
    else {
      idle.push(s);
      wakeOne();
    }
  }

  return {
    description: describeRelay(spec),
    async send(mail: OutgoingMail, deadlineMs: number): Promise<RelayReceipt> {
      const start = Date.now();
      const acquiring = acquire();
      let s: Session;
      try {
        s = await withDeadline(acquiring, deadlineMs);
      } catch (e) {
        // A session that comes up after the deadline goes back to the pool.
        acquiring.then(release, () => {});
        throw e;
      }
      return new Promise<RelayReceipt>((resolve, reject) => {
        let done = false;
        const timer = setTimeout(() => {
          done = true;
          discard(s, false);
          reject(deadlineError(deadlineMs));
        }, Math.max(1, deadlineMs - (Date.now() - start)));
        // A fresh envelope object: the connection keeps its transaction state on it.
        s.smtp.send({ from: mail.envelope.from, to: [...mail.envelope.to] }, Buffer.from(mail.raw.buffer, mail.raw.byteOffset, mail.raw.byteLength), (err, info) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          // Leave the connection's reply handling before it takes the next message.
          setImmediate(() => {
            if (err) {
              // A refused message leaves a session in an unknown state: start the next one afresh.
              s.broken = true;
              release(s);
              return reject(err);
            }
            s.sent++;
            release(s);
            resolve({ accepted: info.accepted.map(String), rejected: info.rejected.map(String), response: info.response });
          });
        });
      });
    },
    check: () => verifySmtpRelay(spec, tuning),
    async close() {
      closed = true;
      for (const s of [...idle]) discard(s, true);
      waiting.splice(0).forEach((w) => w());
    },
  };
}

/** Rejects with the deadline error if `p` has not settled within `ms` (connecting to a silent relay). */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(deadlineError(ms)), ms)))]).finally(() => clearTimeout(timer));
}

/** What a check of the relay found: whether the session is encrypted, and the name said in EHLO. */
export interface RelayProbe {
  tls: boolean;
  heloName: string;
}

/**
 * Connects as a delivery would (TLS as required or offered, AUTH when credentials are given),
 * says whether the session ended up encrypted, and hangs up without sending.
 */
export function probeSmtpRelay(spec: RelaySpec, tuning: SmtpTuning): Promise<RelayProbe> {
  const options = sessionOptions(spec, tuning);
  return new Promise((resolve, reject) => {
    const smtp = new SMTPConnection(options);
    let settled = false;
    const finish = (e: unknown, r?: RelayProbe) => {
      if (settled) return;
      settled = true;
      if (r) smtp.quit();
      else smtp.close();
      if (r) resolve(r);
      else reject(e);
    };
    smtp.on('error', (e) => finish(e));
    smtp.once('end', () => finish(Object.assign(new Error('the relay closed the connection'), { code: 'ECONNECTION' })));
    smtp.connect((err?: Error) => {
      if (err) return finish(err);
      const done = () => finish(null, { tls: smtp.secure, heloName: options.name! });
      if (!spec.auth || !smtp.allowsAuth) return done();
      smtp.login({ user: spec.auth.user, pass: spec.auth.pass }, (e) => (e ? finish(e) : done()));
    });
  });
}

/**
 * Checks a relay before anything depends on it: connects, does STARTTLS (required or offered)
 * and AUTH when credentials are given, with the same options as `createSmtpRelay`, then hangs up.
 * Rejects with nodemailer's error (classify it with `classifySendError`).
 */
export async function verifySmtpRelay(spec: RelaySpec, tuning: SmtpTuning): Promise<void> {
  const t = nodemailer.createTransport({ ...sessionOptions(spec, tuning), ...(spec.auth ? { auth: { user: spec.auth.user, pass: spec.auth.pass } } : {}) });
  t.on('error', () => {});
  try {
    await t.verify();
  } finally {
    t.close();
  }
}
