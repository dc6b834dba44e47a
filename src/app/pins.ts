import { AppError, isAppError } from '../core/errors.ts';
import { checkPin, generatePin } from '../core/pin.ts';
import { isWellFormedConferenceId } from '../core/conference-id.ts';
import { isLockedOut, lockoutLimits, recordAttempt, type LockoutState } from '../core/pin-lockout.ts';
import type { PinPolicy } from '../core/pin-policy.ts';
import type { AuditTable, UsersTable } from '../adapters/db/schema.ts';
import { inTransaction } from '../adapters/db/database.ts';
import { VERIFY_DECOY_SLOTS } from '../adapters/db/migrations/0013_verify_decoys.ts';
import { audit, auditRow, insertAuditRows } from './audit.ts';
import { skippedFor, type ItemResult } from './bulk.ts';
import { findUsers, type Resolved } from './users.ts';
import { policyForUser, tenantPolicies } from './pin-policies.ts';
import { readSettings } from './tenant-settings.ts';
import { supersedePinMails } from './mail-queue.ts';
import { hashIsStale, rehashPin, writePins, type PinWrite } from './pin-writes.ts';
import type { TenantScope, Trx } from './context.ts';

const DAY_MS = 86_400_000;

export interface NewPin {
  pin: string;
  hash: string;
}

/**
 * Chooses the user's next PIN: the one given (checked against the user's policy, and against the
 * history when `checkHistory`, as the self-service page does) or a generated one of the tenant's
 * PinLength (at least the policy minimum).
 */
export async function nextPin(trx: Trx, s: TenantScope, user: UsersTable, chosen: string | null | undefined, opts: { checkHistory: boolean; pinLength?: number; policy?: PinPolicy }): Promise<NewPin> {
  const policy = opts.policy ?? (await policyForUser(trx, s.tenant.id, user));
  const rules = { minLength: policy.MinPasswordLength, allowCommonPatterns: policy.AllowCommonPatterns, phone: user.phone, extension: user.extension };
  let pin: string;
  if (chosen !== null && chosen !== undefined) {
    checkPin(chosen, rules);
    pin = chosen;
  } else {
    const length = Math.max(opts.pinLength ?? (await readSettings(trx, s.tenant.id)).PinLength, Math.min(policy.MinPasswordLength, 24));
    pin = generatePin(Math.max(length, 4), rules, s.randomInt);
  }
  const hash = s.keys.hashPin(user.id, pin);
  if (opts.checkHistory && policy.PINHistoryCount > 0) {
    const recent = await trx.selectFrom('pin_history').select('pin_hash').where('user_id', '=', user.id).orderBy('created_at', 'desc').limit(policy.PINHistoryCount).execute();
    // Each hash under its own key version: a PIN of before a rotation is still recognised.
    if (recent.some((r) => s.keys.pinMatches(user.id, pin, r.pin_hash)) || (user.pin_hash !== null && s.keys.pinMatches(user.id, pin, user.pin_hash))) {
      throw new AppError('PIN_REUSED', `This PIN was used recently; the PIN policy keeps the last ${policy.PINHistoryCount} PINs.`, { field: 'Pin' });
    }
  }
  return { pin, hash };
}

/**
 * Stores one user's new PIN hash through `writePins` (which supersedes their queued PIN mails,
 * for `reason`); kept in the history only when the user's policy keeps a history.
 */
export async function storePin(trx: Trx, s: TenantScope, user: UsersTable, hash: string, reason: string): Promise<void> {
  const policy = await policyForUser(trx, s.tenant.id, user);
  await writePins(trx, s, [{ userId: user.id, hash, keepInHistory: policy.PINHistoryCount > 0 }], reason);
}

const SET_PIN_REASON = 'the PIN was set again with Set-CsClientPin before this mail went out';

/**
 * Set-CsClientPin for one user: sets a chosen or generated PIN and sends no mail. An
 * administrator is not bound by the PIN history (as in Lync), but is by length and patterns.
 */
export async function setClientPin(trx: Trx, s: TenantScope, user: UsersTable, chosen: string | null): Promise<NewPin> {
  if (user.pin_locked === 1) throw new AppError('PIN_LOCKED', `The PIN of ${user.sip} is locked; unlock it first with Unlock-CsClientPin.`, { field: 'Identity' });
  const p = await nextPin(trx, s, user, chosen, { checkHistory: false });
  await storePin(trx, s, user, p.hash, SET_PIN_REASON);
  await audit(trx, s, 'pin.set', { userId: user.id, label: user.sip }, { chosen: chosen !== null && chosen !== undefined });
  return p;
}

/**
 * Set-CsClientPin over a batch of users, set-wise: the policies and settings read once, each
 * user's PIN checked and chosen in memory (a refusal — locked, a PIN the policy refuses — skips
 * that user before anything is written), then every hash, history row, superseded mail and audit
 * row of the batch in a few statements. The same effect as `setClientPin` per user, in the
 * batch's one transaction. A user named twice keeps the last PIN (the one printed last).
 */
export async function setClientPins(trx: Trx, s: TenantScope, resolved: Resolved[], chosen: string | null): Promise<ItemResult[]> {
  const policyOf = await tenantPolicies(trx, s.tenant.id);
  const pinLength = chosen === null ? (await readSettings(trx, s.tenant.id)).PinLength : undefined;
  const out: ItemResult[] = [];
  const writes = new Map<string, PinWrite>();
  const audits: AuditTable[] = [];
  for (const r of resolved) {
    if ('error' in r) {
      out.push(skippedFor(r.input, r.error));
      continue;
    }
    const u = r.user;
    try {
      if (u.pin_locked === 1) throw new AppError('PIN_LOCKED', `The PIN of ${u.sip} is locked; unlock it first with Unlock-CsClientPin.`, { field: 'Identity' });
      const policy = policyOf(u);
      const p = await nextPin(trx, s, u, chosen, { checkHistory: false, policy, pinLength });
      writes.delete(u.id);
      writes.set(u.id, { userId: u.id, hash: p.hash, keepInHistory: policy.PINHistoryCount > 0 });
      audits.push(auditRow(s, 'pin.set', { userId: u.id, label: u.sip }, { chosen: chosen !== null }));
      out.push({ input: r.input, user: u.sip, outcome: 'done', output: { Identity: u.sip, Pin: p.pin } });
    } catch (e) {
      if (!isAppError(e)) throw e;
      out.push(skippedFor(r.input, e, u.sip));
    }
  }
  await writePins(trx, s, [...writes.values()], SET_PIN_REASON);
  await insertAuditRows(trx, audits);
  return out;
}

export interface PinInfo {
  Identity: string;
  IsPinSet: boolean;
  IsLockedOut: boolean;
  LastPinChangeTime: string | null;
  PinExpirationTime: string | null;
}

export async function pinInfo(trx: Trx, s: TenantScope, user: UsersTable): Promise<PinInfo> {
  return pinInfoView(user, await policyForUser(trx, s.tenant.id, user), s.now());
}

function pinInfoView(user: UsersTable, policy: PinPolicy, now: number): PinInfo {
  return {
    Identity: user.sip,
    IsPinSet: user.pin_hash !== null,
    IsLockedOut: isLockedOut(lockoutOf(user), now),
    LastPinChangeTime: user.pin_set_at ? new Date(user.pin_set_at).toISOString() : null,
    PinExpirationTime: user.pin_set_at && policy.PINLifetime > 0 ? new Date(user.pin_set_at + policy.PINLifetime * DAY_MS).toISOString() : null,
  };
}

/**
 * The PIN information of many users as their identities come (a pipeline from Get-CsUser, a
 * file): resolved `batchSize` at a time with the policies read once a batch, each object handed
 * on before the next batch is read, so 100,000 users never sit in memory. An identity that names
 * no user gives no object (as the group run did).
 */
export async function* pinInfoOf(s: TenantScope, inputs: AsyncIterable<string> | Iterable<string>, batchSize = 500): AsyncGenerator<PinInfo> {
  const db = s.db.kysely;
  async function* resolve(batch: string[]): AsyncGenerator<PinInfo> {
    const policyOf = await tenantPolicies(db, s.tenant.id);
    for (const r of await findUsers(db, s.tenant.id, batch)) if ('user' in r) yield pinInfoView(r.user, policyOf(r.user), s.now());
  }
  let batch: string[] = [];
  for await (const input of inputs) {
    batch.push(input);
    if (batch.length < batchSize) continue;
    const full = batch;
    batch = [];
    yield* resolve(full);
  }
  if (batch.length) yield* resolve(batch);
}

export async function lockPin(trx: Trx, s: TenantScope, user: UsersTable): Promise<void> {
  await trx.updateTable('users').set({ pin_locked: 1, updated_at: s.now() }).where('id', '=', user.id).execute();
  // The bridge now refuses the PIN: a queued mail carrying it would tell the user a PIN that fails.
  await supersedePinMails(trx, [user.id], 'the PIN was locked (Lock-CsClientPin) before this mail went out');
  await audit(trx, s, 'pin.lock', { userId: user.id, label: user.sip });
}

/** The only way back from a permanent lock: clears the lock and both failure counters. */
export async function unlockPin(trx: Trx, s: TenantScope, user: UsersTable): Promise<void> {
  await trx
    .updateTable('users')
    .set({ pin_locked: 0, pin_locked_until: null, pin_fail_local: 0, pin_window_start: null, pin_fail_global: 0, updated_at: s.now() })
    .where('id', '=', user.id)
    .execute();
  await audit(trx, s, 'pin.unlock', { userId: user.id, label: user.sip });
}

function lockoutOf(u: UsersTable): LockoutState {
  return { failuresLocal: u.pin_fail_local, windowStart: u.pin_window_start, failuresGlobal: u.pin_fail_global, lockedUntil: u.pin_locked_until, locked: u.pin_locked === 1 };
}

export interface VerifyResult {
  /** True when the caller is the meeting leader. Unknown ID and wrong PIN answer alike. */
  IsLeader: boolean;
  /** The in-call experience the bridge applies (only on success). */
  EnableEntryExitNotifications?: boolean;
  EntryExitAnnouncementsType?: string;
  EnableNameRecording?: boolean;
  AllowPstnOnlyMeetings?: boolean;
}

const isExpired = (policy: PinPolicy, user: UsersTable, now: number) => policy.PINLifetime > 0 && user.pin_set_at !== null && now > user.pin_set_at + policy.PINLifetime * DAY_MS;

async function leaderAnswer(trx: Trx, s: TenantScope, user: UsersTable): Promise<VerifyResult> {
  const settings = await readSettings(trx, s.tenant.id);
  return {
    IsLeader: true,
    EnableEntryExitNotifications: settings.EnableEntryExitNotifications,
    EntryExitAnnouncementsType: settings.EntryExitAnnouncementsType,
    EnableNameRecording: settings.EnableNameRecording,
    AllowPstnOnlyMeetings: user.allow_pstn_only === 1,
  };
}

/**
 * The stand-in for a conference ID that cannot be checked (unknown, no PIN set, locked out): the
 * refusal then runs the same statements and the same two HMACs as a wrong PIN for a real user,
 * against this id that no user has (its counters go to a `verify_decoys` row), so the time of an
 * answer does not tell a real conference ID (issue 10). Its stored hash has the length of a real one, so the comparison takes as long; a
 * match could not make the caller a leader anyway (only a real user can).
 */
const DECOY_USER_ID = '00000000-0000-7000-8000-000000000000';
const DECOY_PIN_HASH = 'A'.repeat(43);

function decoyFor(s: TenantScope, now: number): UsersTable {
  return {
    id: DECOY_USER_ID, tenant_id: s.tenant.id, pin_hash: DECOY_PIN_HASH, pin_policy: null, pin_set_at: now,
    pin_fail_local: 0, pin_window_start: null, pin_fail_global: 0, pin_locked_until: null, pin_locked: 0,
  } as UsersTable;
}

/**
 * The `verify_decoys` row a refusal for this unknown conference ID writes its counters to, as a
 * wrong PIN writes its user's: then both commits write one row and wait for the disk alike (an
 * fsync only a real ID paid told it). The same ID always takes the same row, as it would the
 * same user; different IDs spread over the rows, so concurrent refusals rarely wait on one lock.
 */
function decoyRowFor(tenantId: string, conferenceId: string): string {
  let h = 0x811c9dc5; // FNV-1a: cheap and stable; nothing secret depends on it.
  for (const ch of `${tenantId}/${conferenceId}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `decoy-${String(h % VERIFY_DECOY_SLOTS).padStart(2, '0')}`;
}

/** The user whose PIN this attempt is checked against: the real one when it can be, else the decoy. */
function checkable(s: TenantScope, user: UsersTable | undefined, now: number): { user: UsersTable; real: boolean } {
  if (user && user.pin_hash && !isLockedOut(lockoutOf(user), now)) return { user, real: true };
  return { user: decoyFor(s, now), real: false };
}

/**
 * The bridge's PIN check. A malformed ID or PIN is refused at once (that says nothing). Otherwise
 * a wrong PIN, an unknown ID, a user without a PIN and a locked-out PIN all take the same path:
 * two HMACs, then in one durable transaction the locked read, the policy, and the lockout
 * counters written — to the real user's row, or for the decoy to a `verify_decoys` row, so both
 * commits write one row and flush it. A locked PIN is never compared (the decoy's is). On PostgreSQL the
 * transaction holds the user's row lock so concurrent guesses cannot overrun the limit.
 */
export async function verifyLeaderPin(
  s: TenantScope,
  conferenceId: string,
  pin: string,
  hooks: { onLockout?: (level: 'temporary' | 'permanent') => void; /** The move of a right PIN's hash to the current key, made after the answer: resolves whether it was written. */ onRehash?: (written: Promise<boolean>) => void } = {},
): Promise<VerifyResult> {
  const no: VerifyResult = { IsLeader: false };
  if (typeof conferenceId !== 'string' || typeof pin !== 'string' || !isWellFormedConferenceId(conferenceId) || !/^[0-9]{4,24}$/.test(pin)) return no;
  const byConferenceId = (db: Trx) => db.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('conference_id', '=', conferenceId).where('dialin_enabled', '=', 1);
  // Read first, without a transaction: a right PIN with no failures to reset is accepted without
  // taking a lock (nor waiting for another writer such as the mail worker). Everything else takes
  // the locked path.
  const seen = checkable(s, await byConferenceId(s.db.kysely).executeTakeFirst(), s.now());
  const matches = s.keys.pinMatches(seen.user.id, pin, seen.user.pin_hash!);
  if (seen.real && matches && seen.user.pin_fail_local === 0 && seen.user.pin_window_start === null && seen.user.pin_locked_until === null) {
    if (!isExpired(await policyForUser(s.db.kysely, s.tenant.id, seen.user), seen.user, s.now())) {
      if (hashIsStale(s.keys, seen.user)) {
        const written = moveHashAfterAnswer(s, seen.user, pin);
        hooks.onRehash?.(written);
      }
      return leaderAnswer(s.db.kysely, s, seen.user);
    }
  }
  // Reported after the commit, so a metric never counts a lockout that was rolled back.
  let lockout = null as 'temporary' | 'permanent' | null;
  const result = await inTransaction(s.db, async (trx) => {
    let q = byConferenceId(trx);
    if (s.db.dialect === 'postgres') q = q.forUpdate();
    const now = s.now();
    const { user, real } = checkable(s, await q.executeTakeFirst(), now);
    const state = lockoutOf(user);
    const policy = await policyForUser(trx, s.tenant.id, user);
    const correct = s.keys.pinMatches(user.id, pin, user.pin_hash!) && real && !isExpired(policy, user, now);
    // Lync sizes the automatic limits by the policy's PIN length.
    const limits = lockoutLimits(policy.MinPasswordLength, policy.MaximumLogonAttempts);
    const { state: next, outcome } = recordAttempt(state, now, correct, limits);
    if (JSON.stringify(next) !== JSON.stringify(state)) {
      // A durable commit either way: the real user's counters, or the decoy row (same columns, same statement).
      await trx
        .updateTable(real ? 'users' : 'verify_decoys')
        .set({ pin_fail_local: next.failuresLocal, pin_window_start: next.windowStart, pin_fail_global: next.failuresGlobal, pin_locked_until: next.lockedUntil, pin_locked: next.locked ? 1 : 0 })
        .where('id', '=', real ? user.id : decoyRowFor(s.tenant.id, conferenceId))
        .execute();
      if (!real) return no;
      if (next.locked && !state.locked) {
        await audit(trx, s, 'pin.lockout', { userId: user.id, label: user.sip }, { level: 'permanent' });
        lockout = 'permanent';
      } else if (next.lockedUntil && next.lockedUntil !== state.lockedUntil) {
        await audit(trx, s, 'pin.lockout', { userId: user.id, label: user.sip }, { level: 'temporary', until: new Date(next.lockedUntil).toISOString() });
        lockout = 'temporary';
      }
    }
    if (outcome !== 'accepted' || !real) return no;
    await rehashPin(trx, s.keys, user, pin);
    return leaderAnswer(trx, s, user);
  });
  if (lockout) hooks.onLockout?.(lockout);
  return result;
}

/**
 * A right PIN's hash moved to the current key once the answer is out (the next turn of the event
 * loop), and skipped when it would wait for another writer (a re-seal's batch): the next right PIN
 * moves it. The bridge's answer waits for neither. Resolves whether it was written; never rejects
 * (a failure, such as the database closing meanwhile, leaves the hash for the next right PIN).
 */
function moveHashAfterAnswer(s: TenantScope, user: UsersTable, pin: string): Promise<boolean> {
  return new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => s.db.skippableWrite((trx) => rehashPin(trx, s.keys, user, pin)))
    .catch(() => false);
}

/**
 * The PIN status of every user of the tenant, read in pages of `pageSize` by SIP address (a keyset,
 * never OFFSET) as the consumer asks, so a pipeline over 100,000 users holds one page at a time.
 */
export async function* pinInfoPages(s: TenantScope, pageSize = 1000): AsyncGenerator<PinInfo> {
  let after: string | null = null;
  for (;;) {
    let q = s.db.kysely.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id);
    if (after !== null) q = q.where('sip', '>', after);
    const page = await q.orderBy('sip').limit(pageSize).execute();
    if (page.length === 0) return;
    // Users share a handful of policies: each is read once a page, not once a user.
    const policies = new Map<string, Promise<PinPolicy>>();
    for (const u of page) {
      const key = u.pin_policy ?? '';
      if (!policies.has(key)) policies.set(key, policyForUser(s.db.kysely, s.tenant.id, u));
      const policy = await policies.get(key)!;
      yield pinInfoView(u, policy, s.now());
    }
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.sip;
  }
}
