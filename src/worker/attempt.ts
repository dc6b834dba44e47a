import { isAppError } from '../core/errors.ts';
import { printable } from '../core/email-address.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import { classifySendError, type SendFailure } from '../adapters/smtp/classify.ts';
import type { Relay, RelayReceipt } from '../adapters/smtp/relay.ts';
import { ComposeInterrupted, ComposeStarved, type Composer } from './compose-pool.ts';
import { NotStarted } from './send-gate.ts';
import { buildJob, type JobEnv, type TenantMail } from './mail-job.ts';
import type { PinCheck } from './pin-check.ts';
import { isRenderTimeout } from '../core/templates/engine.ts';
import { afterTransientFailure, gaveUpNote, type RetryPolicy } from './retry-policy.ts';
import type { Outcome } from './outbox-store.ts';

/** What one attempt needs besides the row. */
export interface AttemptDeps {
  env: JobEnv;
  composer: Composer;
  /** Whether a mail's PIN is still the user's, asked right before sending. */
  pinCheck: PinCheck;
  retry: RetryPolicy;
  now: () => number;
  random: () => number;
}

/**
 * An outcome, plus whether the failure may have delivered the message (a retry may duplicate),
 * whether the relay refused us (login, TLS) rather than the message, and whether it could not be
 * reached at all: in both cases the next message fares no better.
 */
export type AttemptResult = { outcome: Outcome; uncertain: boolean; refused?: boolean; unreachable?: boolean };

const UNCERTAIN = ' (the relay may have received it: a retry can deliver it twice)';

/**
 * Delivers one claimed row: build the job (opening the PIN), compose it, hand it to the relay,
 * and say what to record. Never throws: every failure becomes an outcome. `pauseOnRefusal` is
 * false for a command's own relay, whose login or TLS failure fails its messages instead of
 * pausing the tenant.
 */
export async function attemptDelivery(row: OutboxTable, owner: string, tenant: TenantMail, relay: Relay, pauseOnRefusal: boolean, deadlineMs: number, d: AttemptDeps): Promise<AttemptResult> {
  const base = { id: row.id, owner };
  let mail;
  let job;
  try {
    job = buildJob(row, tenant, d.env, d.now());
    mail = await d.composer.compose(job);
  } catch (e) {
    // Starved of CPU by other work on the machine: nothing was tried, the attempt does not count.
    if (e instanceof ComposeStarved) return { outcome: { ...base, kind: 'retry', runAt: d.now(), error: e.message, reply: null, notAttempted: true }, uncertain: false };
    // A stopped thread or a render over its time limit says more about the machine than the
    // message: try again later. Any other render failure (the memory or size limit for this
    // user's data, say) would fail the same way at every attempt: the message fails now, with why.
    if (e instanceof ComposeInterrupted || isRenderTimeout(e)) return transient(row, owner, { class: 'transient', reply: (e as Error).message, code: null, uncertain: false }, d);
    // What the template said comes first: `dialin mail list` shows the start of the reason.
    if (isAppError(e) && (e.code === 'TEMPLATE_LIMIT_EXCEEDED' || e.code === 'TEMPLATE_INVALID')) {
      return { outcome: { ...base, kind: 'failed', error: `${printable(e.message, 400)} (${e.code}: this mail cannot be rendered; it is not tried again)`, reply: null }, uncertain: false };
    }
    const why = isAppError(e) ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e);
    return { outcome: { ...base, kind: 'failed', error: `the message could not be built: ${printable(why, 500)}`, reply: null }, uncertain: false };
  }
  // The last check before a PIN leaves: it must still be the user's PIN (see pin-check.ts).
  if (row.pin_enc && row.user_id) {
    let stale: string | null;
    try {
      stale = await d.pinCheck(row.user_id, job.values.pin);
    } catch (e) {
      return transient(row, owner, { class: 'transient', reply: `the user's current PIN could not be read: ${(e as Error).message}`, code: null, uncertain: false }, d);
    }
    if (stale !== null) return { outcome: { ...base, kind: 'superseded', reason: stale }, uncertain: false };
  }
  let receipt: RelayReceipt;
  try {
    receipt = await relay.send({ envelope: mail.envelope, raw: mail.raw, messageId: row.message_id }, deadlineMs);
  } catch (e) {
    if (e instanceof NotStarted) return { outcome: { ...base, kind: 'retry', runAt: d.now(), error: e.message, reply: null, notAttempted: true }, uncertain: false };
    const f = classifySendError(e);
    if (f.class === 'permanent') return { outcome: { ...base, kind: 'failed', error: 'the relay refused the message', reply: f.reply }, uncertain: false };
    if (f.class === 'pause') {
      if (!pauseOnRefusal) return { outcome: { ...base, kind: 'failed', error: f.reply, reply: null }, uncertain: false, refused: true };
      const at = d.now();
      return { outcome: { ...base, kind: 'paused', tenantId: row.tenant_id, reason: f.reply, at, retryAt: at + d.retry.maxMs }, uncertain: false };
    }
    return transient(row, owner, f, d);
  }
  return { outcome: checkReceipt(row, owner, mail.envelope.to, receipt, d.now()), uncertain: false };
}

/**
 * A 250 counts for the recipient only if the relay accepted exactly that address. Copies (Cc,
 * Bcc) refused while the recipient was accepted are noted, not retried: that would send twice.
 */
function checkReceipt(row: OutboxTable, owner: string, expected: string[], r: RelayReceipt, at: number): Outcome {
  const accepted = new Set(r.accepted.map((a) => a.toLowerCase()));
  const primary = expected[0]!.toLowerCase();
  const reply = printable(r.response.replace(/\s+/g, ' ').trim(), 500);
  if (!accepted.has(primary)) {
    return { id: row.id, owner, kind: 'failed', error: `the relay did not accept the recipient ${primary}`, reply };
  }
  const missing = expected.filter((a) => !accepted.has(a.toLowerCase()));
  const extra = [...accepted].filter((a) => !expected.some((x) => x.toLowerCase() === a));
  const note = missing.length || extra.length ? `accepted for the recipient; ${missing.length ? `not for ${missing.join(', ')}` : `also for ${extra.join(', ')}`}` : null;
  return { id: row.id, owner, tenantId: row.tenant_id, kind: 'sent', reply, note, at };
}

function transient(row: OutboxTable, owner: string, f: SendFailure, d: AttemptDeps): AttemptResult {
  const now = d.now();
  const next = afterTransientFailure(row.attempts, now, row.expires_at, d.retry, d.random);
  const error = `${f.reply}${f.uncertain ? UNCERTAIN : ''}`;
  const reply = f.code !== null ? f.reply : null;
  if ('expired' in next) {
    return { outcome: { id: row.id, owner, kind: 'expired', error: gaveUpNote(row.attempts, row.created_at, now, error), reply }, uncertain: f.uncertain, unreachable: !!f.unreachable };
  }
  return { outcome: { id: row.id, owner, kind: 'retry', runAt: next.retryAt, error, reply }, uncertain: f.uncertain, unreachable: !!f.unreachable };
}
