import { bulkUpdate } from '../adapters/db/bulk-update.ts';
import { supersedePinMails } from './mail-queue.ts';
import type { TenantScope, Trx } from './context.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import type { UsersTable } from '../adapters/db/schema.ts';

/** A user's new PIN as stored: its hash, and whether the user's policy keeps a PIN history. */
export interface PinWrite {
  userId: string;
  hash: string;
  keepInHistory: boolean;
}

const PIN_COLUMNS = { pin_hash: 'text', pin_key_version: 'integer', pin_set_at: 'bigint', pin_fail_local: 'integer', pin_window_start: 'bigint', updated_at: 'bigint' } as const;

/**
 * The one place a new PIN is written, whatever set it (Enable, -ResetLeaderPin, Set-CsClientPin,
 * the welcome script, the settings page): the hash, the reset of the local failure window (not
 * the global count), the history, and — in the same transaction — every queued PIN mail of these
 * users superseded, since the PIN it carries no longer works. Call it before inserting the mail
 * that carries the new PIN, if any. A mail a worker already holds is checked again by the worker
 * before it is sent (worker/pin-check.ts).
 */
export async function writePins(trx: Trx, s: TenantScope, writes: PinWrite[], reason: string): Promise<void> {
  if (!writes.length) return;
  const now = s.now();
  await bulkUpdate(trx, 'users', 'id', PIN_COLUMNS, writes.map((w) => ({ id: w.userId, pin_hash: w.hash, pin_key_version: s.keys.versionOf(w.hash), pin_set_at: now, pin_fail_local: 0, pin_window_start: null, updated_at: now })));
  await writePinHistory(trx, s, writes);
  await supersedePinMails(trx, writes.map((w) => w.userId), reason);
}

/**
 * After a right PIN at the bridge: a hash made with an older version is made again under the
 * current one (the PIN is in hand only now), with the history entry of the same PIN. Guarded by
 * the old hash, so a PIN changed meanwhile is left alone.
 */
export async function rehashPin(db: Trx, keys: Keys, user: Pick<UsersTable, 'id' | 'pin_hash'>, pin: string): Promise<void> {
  if (!hashIsStale(keys, user)) return;
  const hash = keys.hashPin(user.id, pin);
  const version = keys.versionOf(hash);
  await db.updateTable('users').set({ pin_hash: hash, pin_key_version: version }).where('id', '=', user.id).where('pin_hash', '=', user.pin_hash).execute();
  await db.updateTable('pin_history').set({ pin_hash: hash, pin_key_version: version }).where('user_id', '=', user.id).where('pin_hash', '=', user.pin_hash).execute();
}

/** Whether a user's PIN hash was made with a key version older than the current one. */
export function hashIsStale(keys: Keys, user: Pick<UsersTable, 'pin_hash'>): boolean {
  return !!user.pin_hash && keys.versionOf(user.pin_hash) !== keys.current;
}

/** The history entries of new PINs (for the policies that keep one); writePins calls it, and so does Enable for users it inserts. */
export async function writePinHistory(trx: Trx, s: TenantScope, writes: PinWrite[]): Promise<void> {
  const now = s.now();
  const history = writes.filter((w) => w.keepInHistory).map((w) => ({ tenant_id: s.tenant.id, user_id: w.userId, pin_hash: w.hash, pin_key_version: s.keys.versionOf(w.hash), created_at: now }));
  for (let i = 0; i < history.length; i += 400) await trx.insertInto('pin_history').values(history.slice(i, i + 400)).execute();
}
