import crypto from 'node:crypto';
import { AppError } from '../core/errors.ts';
import { normalizeEmail, printable } from '../core/email-address.ts';
import { pickMailLanguage, type MailLanguage } from '../core/languages.ts';
import { checkPin, generatePin } from '../core/pin.ts';
import type { PinPolicy } from '../core/pin-policy.ts';
import { parseMailbox, type Mailbox } from '../core/sender.ts';
import { validateTemplatePart } from '../core/templates/engine.ts';
import type { TenantSettings } from '../core/tenant-settings.ts';
import type { AuditTable, OutboxTable, UsersTable } from '../adapters/db/schema.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { skippedFor, type BatchHandler, type ItemResult } from './bulk.ts';
import { mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow, type MailOptions } from './mail-queue.ts';
import { policyForUser } from './pin-policies.ts';
import { writePins, type PinWrite } from './pin-writes.ts';
import { readSettings } from './tenant-settings.ts';
import type { TenantScope, Trx } from './context.ts';

/** The subject when -Subject is not given, in the mail's language (the Lync script's default). */
export const WELCOME_SUBJECTS: Readonly<Record<MailLanguage, string>> = Object.freeze({
  en: 'Welcome to Dial-In Conferencing',
  fr: 'Bienvenue dans les conférences rendez-vous',
});

/** The relay of a run as its outbox rows keep it for the worker's retries: the password only sealed. */
export type RunRelay = NonNullable<MailOptions['relay']>;

/** Set-CsPinSendCAWelcomeMail's parameters as given. */
export interface WelcomeInput {
  from: string;
  subject?: string | null;
  userEmailAddress?: string | null;
  cc?: string[] | null;
  bcc?: string[] | null;
  /** The -TemplatePath file's content: HTML, or text with `plainText`. */
  template?: string | null;
  plainText?: boolean;
  pin?: string | null;
  force?: boolean;
  relay: RunRelay;
  /** What the users were named by (the file, or the list): part of the run's identity. */
  source: string;
}

/** The parameters checked and normalised, and the run they make. */
export interface WelcomeRequest {
  from: Mailbox;
  subject: string | null;
  recipient: string | null;
  cc: string[];
  bcc: string[];
  template: string | null;
  plainText: boolean;
  pin: string | null;
  force: boolean;
  relay: RunRelay;
  /**
   * Identifies the run: a hash of the tenant, the normalised parameters and the user source (never
   * the PIN, only whether one was given). Its outbox rows carry it, so running the same command
   * again finishes what an interrupted run left instead of resetting users already done.
   */
  runId: string;
}

const COPIES_MAX = 50;
const SUBJECT_MAX = 250;
const CONTROL = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/;

/**
 * Checks every parameter before anything changes: the sender, the addresses, the subject, and the
 * template (only the documented placeholders), so a bad value fails the command, not its users.
 */
export function welcomeRequest(s: TenantScope, input: WelcomeInput): WelcomeRequest {
  const from = parseMailbox(input.from, 'From');
  const copies = (list: string[] | null | undefined, field: string) => {
    const out = (list ?? []).map((a) => normalizeEmail(a, field));
    if (out.length > COPIES_MAX) throw new AppError('INVALID_ARGUMENT', `-${field} takes at most ${COPIES_MAX} addresses.`, { field });
    return [...new Set(out)];
  };
  let subject: string | null = null;
  if (input.subject !== null && input.subject !== undefined) {
    subject = input.subject.trim();
    if (!subject || subject.length > SUBJECT_MAX || CONTROL.test(subject)) {
      throw new AppError('INVALID_ARGUMENT', `-Subject "${printable(input.subject)}" must be one line of 1 to ${SUBJECT_MAX} characters.`, { field: 'Subject' });
    }
  }
  const plainText = !!input.plainText;
  const template = input.template ?? null;
  if (template !== null) validateTemplatePart('welcome', plainText ? 'text' : 'html', template);
  const req = {
    from,
    subject,
    recipient: input.userEmailAddress ? normalizeEmail(input.userEmailAddress, 'UserEmailAddress') : null,
    cc: copies(input.cc, 'Cc'),
    bcc: copies(input.bcc, 'Bcc'),
    template,
    plainText,
    pin: input.pin ?? null,
    force: !!input.force,
    relay: input.relay,
  };
  const { passwordSealed: _, ...relay } = req.relay;
  const identity = [s.tenant.id, req.from, req.subject, req.recipient, req.cc, req.bcc, template === null ? null : sha256(template), plainText, req.pin !== null, req.force, relay, input.source];
  return { ...req, runId: sha256(JSON.stringify(identity)).slice(0, 32) };
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('base64url');
}

/** What an earlier run of the same command left for a user. */
type EarlierRow = Pick<OutboxTable, 'id' | 'user_id' | 'status' | 'created_at'>;

/**
 * Set-CsPinSendCAWelcomeMail over a batch of users, in the batch's transaction: each user gets a
 * new PIN (chosen or generated) and a welcome mail carrying it, written to the outbox together, so
 * a crash never leaves a new PIN nobody is told. A user with a PIN keeps it (and gets no mail)
 * unless `force`. A user the same run already reached is not reset again: a mail still queued is
 * handed back to be sent, and with `resume` (a group) one sent or being sent is reported done,
 * where a single user named again gets what they asked for once more. Results of users given a mail carry its
 * outbox id in `output.MailId`. The rows wait `holdMs` before `dialin worker` may take them: the
 * command sends them itself, and the worker only takes over if the command dies.
 */
export function welcomeBatch(s: TenantScope, req: WelcomeRequest, opts: { dryRun: boolean; holdMs: number; resume: boolean }): BatchHandler {
  let settings: TenantSettings | null = null;
  const policies = new Map<string, PinPolicy>();
  const seen = new Set<string>();
  const policyOf = async (trx: Trx, u: UsersTable) => {
    const key = u.pin_policy ?? 'Global';
    if (!policies.has(key)) policies.set(key, await policyForUser(trx, s.tenant.id, u));
    return policies.get(key)!;
  };

  return async (trx, resolved) => {
    settings ??= { ...(await readSettings(trx, s.tenant.id)), AutomaticallySendEmailsToUsers: true }; // asked for by name: never gated
    const users = resolved.flatMap((r) => ('user' in r ? [r.user] : []));
    const earlier = await earlierRows(trx, s, req.runId, users.map((u) => u.id));
    const bridges = await bridgeNames(trx, users);
    const cities = await numberCities(trx, s.tenant.id);
    const now = s.now();
    const results: ItemResult[] = [];
    const pins: PinWrite[] = [];
    const mails: OutboxTable[] = [];
    const audits: AuditTable[] = [];

    for (const r of resolved) {
      if ('error' in r) {
        results.push(skippedFor(r.input, r.error));
        continue;
      }
      const u = r.user;
      const base = { input: r.input, user: u.sip };
      const to = req.recipient ?? u.email;
      if (seen.has(u.id)) {
        results.push({ ...base, outcome: 'unchanged', reason: 'listed twice' });
        continue;
      }
      seen.add(u.id);
      const before = earlier.get(u.id);
      if (opts.resume && before?.status === 'sent') {
        results.push({ ...base, outcome: 'unchanged', status: 'sent', reason: 'sent by an earlier run of this command' });
        continue;
      }
      if (opts.resume && before?.status === 'sending') {
        results.push({ ...base, outcome: 'unchanged', reason: 'being sent by another process (an earlier run of this command left it)' });
        continue;
      }
      if (before?.status === 'queued') {
        // The earlier run set the PIN and queued the mail, then stopped: send that mail, no new PIN.
        const status = opts.dryRun ? { status: 'would send' } : {};
        results.push({ ...base, outcome: 'done', ...status, reason: 'queued by an earlier run of this command', output: { Identity: u.sip, EmailAddress: to, MailId: before.id } });
        continue;
      }
      // A mail of this run that failed or expired never told the user their PIN: issue another.
      const retry = before?.status === 'failed' || before?.status === 'expired';
      if (u.provider !== 'Microsoft' || u.dialin_enabled !== 1) {
        results.push(skippedFor(r.input, new AppError('USER_NOT_ENABLED', `${u.sip} is not enabled for dial-in conferencing; enable them first (Enable-CsOnlineDialInConferencingUser).`, { field: 'UserUri' }), u.sip));
        continue;
      }
      if (u.pin_locked === 1) {
        results.push(skippedFor(r.input, new AppError('PIN_LOCKED', `The PIN of ${u.sip} is locked; unlock it first with Unlock-CsClientPin.`, { field: 'UserUri' }), u.sip));
        continue;
      }
      if (u.pin_hash !== null && !req.force && !retry) {
        results.push({ ...base, outcome: 'unchanged', reason: 'PIN already set; use -Force to reset' });
        continue;
      }
      const policy = await policyOf(trx, u);
      let pin: string;
      try {
        pin = newPin(req.pin, policy, u, settings.PinLength, s);
      } catch (e) {
        results.push(skippedFor(r.input, e as AppError, u.sip));
        continue;
      }
      if (opts.dryRun) {
        results.push({ ...base, outcome: 'done', status: 'would send', reason: `new PIN and welcome mail to ${to}`, output: { Identity: u.sip, EmailAddress: to } });
        continue;
      }
      pins.push({ userId: u.id, hash: s.keys.hashPin(u.id, pin), keepInHistory: policy.PINHistoryCount > 0 });
      const language = pickMailLanguage(u.language, settings.DefaultLanguage);
      const row = mailRow(s, settings, { kind: 'welcome', user: u, data: mailData(u, bridges.get(u.bridge_id ?? '') ?? null, cities), recipient: req.recipient, pin, options: mailOptions(req, language) })!;
      mails.push({ ...row, run_at: now + opts.holdMs });
      audits.push(auditRow(s, 'pin.set', { userId: u.id, label: u.sip }, { chosen: req.pin !== null, welcomeMail: row.id, recipient: row.recipient }));
      results.push({ ...base, outcome: 'done', ...(retry ? { reason: 'the mail of an earlier run of this command failed; new PIN' } : {}), output: { Identity: u.sip, EmailAddress: row.recipient, MailId: row.id } });
    }
    await writePins(trx, s, pins, 'a new PIN was set by Set-CsPinSendCAWelcomeMail before this mail went out');
    await insertMailRows(trx, mails);
    await insertAuditRows(trx, audits);
    return results;
  };
}

/** The chosen PIN checked against the user's policy (not the history, as Set-CsClientPin), or a generated one. */
function newPin(chosen: string | null, policy: PinPolicy, u: UsersTable, pinLength: number, s: TenantScope): string {
  const rules = { minLength: policy.MinPasswordLength, allowCommonPatterns: policy.AllowCommonPatterns, phone: u.phone, extension: u.extension };
  if (chosen !== null) {
    checkPin(chosen, rules);
    return chosen;
  }
  return generatePin(Math.max(pinLength, Math.min(policy.MinPasswordLength, 24), 4), rules, s.randomInt);
}

function mailOptions(req: WelcomeRequest, language: MailLanguage): MailOptions {
  return {
    from: req.from,
    subject: req.subject ?? WELCOME_SUBJECTS[language],
    ...(req.cc.length ? { cc: req.cc } : {}),
    ...(req.bcc.length ? { bcc: req.bcc } : {}),
    ...(req.template !== null ? (req.plainText ? { templateText: req.template } : { templateHtml: req.template }) : {}),
    ...(req.plainText ? { plainText: true } : {}),
    relay: req.relay,
    runId: req.runId,
  };
}

/**
 * The latest welcome row of this run per user. A run is the same command again within the mail
 * lifetime (DIALIN_MAIL_LIFETIME_MS, 4 days): later, the same command is a new round of welcomes.
 */
async function earlierRows(trx: Trx, s: TenantScope, runId: string, userIds: string[]): Promise<Map<string, EarlierRow>> {
  const out = new Map<string, EarlierRow>();
  const since = s.now() - s.mailLifetimeMs;
  for (let i = 0; i < userIds.length; i += 500) {
    const rows = await trx
      .selectFrom('outbox')
      .select(['id', 'user_id', 'status', 'created_at', 'payload'])
      .where('user_id', 'in', userIds.slice(i, i + 500))
      .where('kind', '=', 'welcome')
      .where('created_at', '>=', since)
      .execute();
    for (const r of rows) {
      if ((JSON.parse(r.payload) as { options?: MailOptions }).options?.runId !== runId) continue;
      const prev = out.get(r.user_id!);
      if (!prev || prev.created_at < r.created_at || (prev.created_at === r.created_at && prev.id < r.id)) out.set(r.user_id!, r);
    }
  }
  return out;
}

async function bridgeNames(trx: Trx, users: UsersTable[]): Promise<Map<string, string>> {
  const ids = [...new Set(users.flatMap((u) => (u.bridge_id ? [u.bridge_id] : [])))];
  if (!ids.length) return new Map();
  const rows = await trx.selectFrom('bridges').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}
