import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * Group commit for small writes that arrive concurrently (SCIM: an identity provider pushing users
 * from several connections). On SQLite every commit waits for an fsync (synchronous=FULL) and the
 * writes are serialised on one connection anyway, so the writes waiting together share one
 * transaction: each runs in a savepoint of its own — a refused write (409, 400) rolls back alone
 * and its caller gets its error, the others go on — and every caller is answered only once the
 * commit holding its write is on disk. On PostgreSQL each write is its own transaction: the server
 * runs them side by side and groups their WAL flushes itself.
 */

/** A commit starts at once when this many writes wait. */
const GROUP_SIZE = 64;

interface Pending {
  work: (trx: Trx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

class WriteGroup {
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  run<T>(work: (trx: Trx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.#running ??= this.#drain().finally(() => (this.#running = null));
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      // Let the requests already received join this commit: their bytes arrived while the last
      // commit blocked the event loop (SQLite's fsync). Turns of the event loop read them; the
      // group closes at the first turn that brings no new write.
      for (let seen = -1; this.#queue.length > seen && this.#queue.length < GROUP_SIZE; ) {
        seen = this.#queue.length;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const batch = this.#queue.splice(0, GROUP_SIZE);
      const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
      try {
        await this.db.kysely.transaction().execute(async (trx) => {
          for (const p of batch) {
            await sql`savepoint dialin_write`.execute(trx);
            try {
              const value = await p.work(trx);
              await sql`release savepoint dialin_write`.execute(trx);
              outcomes.push({ ok: true, value });
            } catch (error) {
              // If even this fails the transaction is gone: every write of the group fails.
              await sql`rollback to savepoint dialin_write`.execute(trx);
              await sql`release savepoint dialin_write`.execute(trx);
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    }
  }
}

const groups = new WeakMap<Db, WriteGroup>();

/** Runs `work` in a transaction: on SQLite one shared with the writes waiting with it (see above). */
export function groupedWrite<T>(s: TenantScope, work: (trx: Trx) => Promise<T>): Promise<T> {
  if (s.db.dialect !== 'sqlite') return s.db.kysely.transaction().execute(work);
  let g = groups.get(s.db);
  if (!g) groups.set(s.db, (g = new WriteGroup(s.db)));
  return g.run(work);
}
