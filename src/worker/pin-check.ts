import type { Kysely } from 'kysely';
import type { Database } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';

/**
 * Says whether the PIN a mail carries still opens the user's meetings: null when it does, else
 * why not. Every PIN change supersedes the queued mails in its own transaction (app/pin-writes.ts);
 * this is the check of last resort, right before sending, for a mail that was already claimed when
 * the PIN changed and came back to the queue (a retry, a lease that ran out) with its old PIN.
 */
export type PinCheck = (userId: string, pin: string) => Promise<string | null>;

/** Lookups waiting for the next read: user id → the callers waiting for that user's row. */
type Waiting = Map<string, { resolve: (row: CurrentPin | undefined) => void; reject: (e: unknown) => void }[]>;
type CurrentPin = { id: string; pin_hash: string | null; pin_locked: number; dialin_enabled: number };

const CHUNK = 500;

/**
 * A PinCheck that reads the users of the checks asked in the same turn of the event loop with one
 * query (mails of a claim finish composing together), so the check costs no round trip per mail.
 */
export function createPinCheck(db: Kysely<Database>, keys: Keys): PinCheck {
  let waiting: Waiting = new Map();
  let scheduled = false;

  async function read(batch: Waiting): Promise<void> {
    const ids = [...batch.keys()];
    const found = new Map<string, CurrentPin>();
    try {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await db.selectFrom('users').select(['id', 'pin_hash', 'pin_locked', 'dialin_enabled']).where('id', 'in', ids.slice(i, i + CHUNK)).execute();
        for (const r of rows) found.set(r.id, r);
      }
    } catch (e) {
      // Unknown is not "still valid": the caller treats the throw as a transient failure.
      for (const list of batch.values()) for (const w of list) w.reject(e);
      return;
    }
    for (const [id, list] of batch) for (const w of list) w.resolve(found.get(id));
  }

  return async (userId, pin) => {
    const row = await new Promise<CurrentPin | undefined>((resolve, reject) => {
      const list = waiting.get(userId) ?? [];
      list.push({ resolve, reject });
      waiting.set(userId, list);
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          const batch = waiting;
          waiting = new Map();
          scheduled = false;
          void read(batch);
        });
      }
    });
    if (!row) return 'the user no longer exists';
    if (row.dialin_enabled !== 1 || row.pin_hash === null) return 'dial-in was turned off before this mail went out';
    if (row.pin_locked === 1) return 'the PIN was locked before this mail went out';
    if (!keys.pinMatches(userId, pin, row.pin_hash)) return 'the PIN was changed before this mail went out';
    return null;
  };
}
