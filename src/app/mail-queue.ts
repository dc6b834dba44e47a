import { PostgresAdapter, sql } from 'kysely';
import { KIND_CARRIES_PIN, shouldWriteMail, type MailData, type MailKind } from '../core/mail-kinds.ts';
import { pickMailLanguage } from '../core/languages.ts';
import { chooseSender } from '../core/sender.ts';
import { mergeChanges } from '../core/mail-changes.ts';
import { domainOf } from '../core/deliverability.ts';
import type { TenantSettings } from '../core/tenant-settings.ts';
import type { OutboxTable, UsersTable } from '../adapters/db/schema.ts';
import { payloadWithoutRelayPassword } from '../adapters/db/outbox-payload.ts';
import type { TenantScope, Trx } from './context.ts';

/** Per-message send options beyond the defaults (Set-CsPinSendCAWelcomeMail uses them). */
export interface MailOptions {
  from?: { name: string; address: string };
  subject?: string;
  cc?: string[];
  bcc?: string[];
  templateHtml?: string;
  templateText?: string;
  plainText?: boolean;
  /** An explicit relay for this message (host, port, TLS, user, sealed password). */
  relay?: { host: string; port: number; secure: boolean; requireTLS: boolean; user?: string; passwordSealed?: string };
  /** Groups the messages of one command so it can wait for their outcome and resume. */
  runId?: string;
  /** A test mail (`dialin template test-send`): sample data, a placeholder instead of a PIN. */
  sample?: boolean;
  /**
   * A sign_in_link mail: the id its link token is derived from with a key outside the database
   * (`keys.derivedToken`), so neither the outbox nor the link table ever holds the token itself.
   */
  loginLinkId?: string;
}

export interface MailPayload {
  data: MailData;
  options?: MailOptions;
}

export interface MailRequest {
  kind: MailKind;
  user: Pick<UsersTable, 'id' | 'email' | 'language'>;
  data: MailData;
  /** Another recipient than the user's own address (-SendEmailToAddress, -UserEmailAddress). */
  recipient?: string | null;
  pin?: string | null;
  options?: MailOptions;
}

export { OUTBOX_STATUSES } from '../core/mail-kinds.ts';

/** PostgreSQL NOTIFY channel the delivery workers LISTEN on; notified when outbox rows commit. */
export const OUTBOX_CHANNEL = 'dialin_outbox';

/**
 * The outbox row for a mail, or null when the tenant's AutomaticallySendEmailsToUsers is off and
 * the kind is automatic. The PIN is sealed (AES-256-GCM); nothing else secret goes in the row.
 */
export function mailRow(s: TenantScope, settings: TenantSettings, req: MailRequest): OutboxTable | null {
  if (!shouldWriteMail(req.kind, settings.AutomaticallySendEmailsToUsers)) return null;
  const id = s.newId();
  const now = s.now();
  const carriesPin = KIND_CARRIES_PIN[req.kind] && !!req.pin;
  const payload: MailPayload = { data: req.data, ...(req.options ? { options: req.options } : {}) };
  const pinEnc = carriesPin ? s.keys.sealPin(req.pin!) : null;
  // The oldest version among the row's seals, so a re-seal run finds the row while any still needs it.
  const sealed = [pinEnc, req.options?.relay?.passwordSealed].filter((x): x is string => !!x);
  return {
    id,
    tenant_id: s.tenant.id,
    user_id: req.user.id,
    kind: req.kind,
    recipient: req.recipient || req.user.email,
    language: pickMailLanguage(req.user.language, settings.DefaultLanguage),
    payload: JSON.stringify(payload),
    pin_enc: pinEnc,
    key_version: sealed.length ? Math.min(...sealed.map((x) => s.keys.versionOf(x))) : s.keys.current,
    // On the sender's domain (receivers compare them), fixed for every retry of the message.
    message_id: `<${id}@${domainOf(chooseSender(settings, s.defaultFrom, req.options?.from).address)}>`,
    status: 'queued',
    attempts: 0,
    run_at: now,
    lease_until: null,
    lease_owner: null,
    last_error: null,
    last_reply: null,
    created_at: now,
    sent_at: null,
    expires_at: now + s.mailLifetimeMs,
  };
}

/**
 * Writes mail rows in the caller's transaction. A newer PIN mail supersedes a PIN mail to the same
 * user that has not been claimed yet, so the last PIN a user receives is the one that works.
 */
export async function insertMailRows(trx: Trx, rows: OutboxTable[]): Promise<void> {
  const pinUsers = [...new Set(rows.filter((r) => r.pin_enc && r.user_id).map((r) => r.user_id!))];
  await supersedePinMails(trx, pinUsers, 'superseded by a newer PIN mail');
  await foldInfoChangedMails(trx, rows);
  for (let i = 0; i < rows.length; i += 400) await trx.insertInto('outbox').values(rows.slice(i, i + 400)).execute();
  await markFirstMail(trx, rows);
  // Delivered to listening workers when the transaction commits (and not at all if it rolls back).
  if (rows.length && trx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(trx);
}

/** Users mailed for the first time get the time of it (the users list's "never mailed", 0029). */
async function markFirstMail(trx: Trx, rows: OutboxTable[]): Promise<void> {
  const users = [...new Set(rows.filter((r) => r.user_id).map((r) => r.user_id!))];
  if (!users.length) return;
  const at = rows.reduce((m, r) => Math.min(m, r.created_at), Infinity);
  for (let i = 0; i < users.length; i += 500) {
    await trx.updateTable('users').set({ first_mail_at: at }).where('id', 'in', users.slice(i, i + 500)).where('first_mail_at', 'is', null).execute();
  }
}

/**
 * An *information changed* mail supersedes the user's unsent one (queued, not yet claimed): the
 * newer mail carries both changes, each with its oldest old value, so moving both default numbers
 * before delivery sends one mail naming both moves. Rewrites the new rows' payloads in place.
 */
async function foldInfoChangedMails(trx: Trx, rows: OutboxTable[]): Promise<void> {
  const fresh = new Map(rows.filter((r) => r.kind === 'info_changed' && r.user_id).map((r) => [r.user_id!, r]));
  const users = [...fresh.keys()];
  for (let i = 0; i < users.length; i += 500) {
    const older = (await trx.selectFrom('outbox').select(['id', 'user_id', 'kind', 'status', 'recipient', 'payload', 'created_at']).where('user_id', 'in', users.slice(i, i + 500)).execute())
      .filter((r) => r.kind === 'info_changed' && r.status === 'queued')
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    if (!older.length) continue;
    for (const o of older) {
      const row = fresh.get(o.user_id!)!;
      if (o.recipient !== row.recipient) continue;
      const mine = JSON.parse(row.payload) as MailPayload;
      const theirs = JSON.parse(o.payload) as MailPayload;
      mine.data.changes = mergeChanges(theirs.data.changes ?? [], mine.data.changes ?? []);
      row.payload = JSON.stringify(mine);
    }
    const superseded = older.filter((o) => o.recipient === fresh.get(o.user_id!)!.recipient).map((o) => o.id);
    for (let j = 0; j < superseded.length; j += 500) {
      await trx.updateTable('outbox').set({ status: 'superseded', last_error: 'superseded by a newer information-changed mail that carries its changes' }).where('id', 'in', superseded.slice(j, j + 500)).where('status', '=', 'queued').execute();
    }
  }
}

/**
 * Cancels the PIN mails of these users that no worker has claimed yet: their PIN no longer
 * works (a newer PIN mail follows, the PIN was set without a mail, or dial-in was turned off).
 * The sealed PIN is wiped with them (and a command's sealed relay password).
 */
export async function supersedePinMails(trx: Trx, userIds: string[], reason: string): Promise<void> {
  const payload = payloadWithoutRelayPassword(trx.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');
  for (let i = 0; i < userIds.length; i += 500) {
    // Look up by user only (the outbox_user index); filtering on status in the same query lets
    // SQLite pick the status index and scan every queued row, which grows with the backlog.
    const pending = (await trx.selectFrom('outbox').select(['id', 'status', 'pin_enc']).where('user_id', 'in', userIds.slice(i, i + 500)).execute())
      .filter((r) => r.status === 'queued' && r.pin_enc !== null)
      .map((r) => r.id);
    if (pending.length) await trx.updateTable('outbox').set({ status: 'superseded', pin_enc: null, payload, last_error: reason }).where('id', 'in', pending).execute();
  }
}

export async function queueMail(trx: Trx, s: TenantScope, settings: TenantSettings, req: MailRequest): Promise<OutboxTable | null> {
  const row = mailRow(s, settings, req);
  if (row) await insertMailRows(trx, [row]);
  return row;
}
