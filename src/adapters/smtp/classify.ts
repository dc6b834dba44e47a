import { printable } from '../../core/email-address.ts';

/**
 * What a failed send means for the message:
 * - `transient`: try again later (4xx, 503, connection refused or lost, timeouts);
 * - `permanent`: the relay refused this message for good (5xx): failed after one attempt;
 * - `pause`: the relay refused us, not the message (login or TLS): the tenant's mail waits.
 * `uncertain` marks failures after the message may have been handed over (a retry may duplicate).
 */
export interface SendFailure {
  class: 'transient' | 'permanent' | 'pause';
  /** The relay's reply, or what went wrong, on one line; never a password or the message. */
  reply: string;
  code: number | null;
  uncertain: boolean;
  /** The relay could not be reached at all (refused, no greeting, unknown host): nothing was sent. */
  unreachable?: boolean;
}

interface MailerError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
  originalCode?: string;
  timeoutType?: string;
  reason?: string;
}

const TLS_CERT = /certificate|self[- ]signed|altname|hostname\/ip does not match|unable to verify|CERT_|ssl|tls|wrong version number/i;
const DEADLINE = 'EDEADLINE';

/** The error a send gets when the relay did not answer within the worker's own deadline. */
export function deadlineError(ms: number): Error & { code: string } {
  return Object.assign(new Error(`no answer from the relay within ${Math.round(ms / 1000)} s`), { code: DEADLINE });
}

/** One line for the status column: the SMTP reply when there is one, else the error. */
function replyOf(e: MailerError): string {
  const text = e.response ?? e.message ?? String(e);
  return printable(String(text).replace(/\s+/g, ' ').trim(), 500);
}

/** Classifies an error from nodemailer (or our deadline) into what the worker does next. */
export function classifySendError(err: unknown): SendFailure {
  const e = (err ?? {}) as MailerError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  const reply = replyOf(e);
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || code === 530 || code === 534 || code === 535) {
    return { class: 'pause', reply: `the relay refused the login: ${reply}`, code, uncertain: false };
  }
  if (e.code === 'ETLS' || e.code === 'EREQUIRETLS' || (e.code === 'ESOCKET' && TLS_CERT.test(`${e.message} ${e.reason ?? ''} ${e.originalCode ?? ''}`))) {
    return { class: 'pause', reply: `TLS with the relay failed: ${reply}`, code, uncertain: false };
  }
  if (e.code === 'ECONFIG') return { class: 'pause', reply: `the relay settings are not usable: ${reply}`, code, uncertain: false };
  if (code !== null && code >= 500 && code < 600 && code !== 503) return { class: 'permanent', reply, code, uncertain: false };
  // A connection lost or silent once the session was under way may have delivered the message.
  const connecting = e.originalCode === 'ECONNREFUSED' || e.timeoutType === 'CONNECT_TIMEOUT' || e.timeoutType === 'GREETING_TIMEOUT' || e.code === 'EDNS';
  const uncertain = code === null && !connecting && (e.code === 'ECONNECTION' || e.code === 'ETIMEDOUT' || e.code === DEADLINE);
  return { class: 'transient', reply, code, uncertain, ...(connecting ? { unreachable: true } : {}) };
}
