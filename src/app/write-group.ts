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
 *
 * Writes of one kind can also be batched (`groupedBatch`, SCIM creates): those waiting together are
 * done by one call (a multi-row insert instead of one insert each). On SQLite a batch is one unit
 * of the group above; on PostgreSQL batches run as their own transactions, at most PG_PARALLEL at a
 * time, each taking every item of its kind queued when it starts — so items wait together only
 * while the database is busy with earlier ones, and one round trip serves them all.
 */

/** A commit starts at once when this many writes wait. */
const GROUP_SIZE = 64;
/** PostgreSQL: transactions of one batch kind in flight at once (the rest queue and join one). */
const PG_PARALLEL = 4;

export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

/** Writes that can be done together. `all` gives one outcome per item, in order; when it throws, each item is done alone by `one`. */
export interface Batch<I, O> {
  all(trx: Trx, items: I[]): Promise<Outcome<O>[]>;
  one(trx: Trx, item: I): Promise<O>;
}

interface Pending {
  work?: (trx: Trx) => Promise<unknown>;
  batch?: { kind: Batch<unknown, unknown>; key: string; item: unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Runs `fn` in a savepoint: an error rolls back what it did (the transaction goes on) and is returned. */
export async function inSavepoint<O>(trx: Trx, fn: () => Promise<O>): Promise<Outcome<O>> {
  await sql`savepoint dialin_write`.execute(trx);
  try {
    const value = await fn();
    await sql`release savepoint dialin_write`.execute(trx);
    return { ok: true, value };
  } catch (error) {
    // If even this fails the transaction is gone: every write of the group fails.
    await sql`rollback to savepoint dialin_write`.execute(trx);
    await sql`release savepoint dialin_write`.execute(trx);
    return { ok: false, error };
  }
}

/** A batch's items inside a shared transaction: together, or one by one (each in a savepoint) if `all` refuses. */
async function runBatch(trx: Trx, kind: Batch<unknown, unknown>, items: unknown[]): Promise<Outcome<unknown>[]> {
  const together = await inSavepoint(trx, () => kind.all(trx, items));
  if (together.ok) return together.value;
  const out: Outcome<unknown>[] = [];
  for (const item of items) out.push(await inSavepoint(trx, () => kind.one(trx, item)));
  return out;
}

function settle(p: Pending, o: Outcome<unknown>): void {
  if (o.ok) p.resolve(o.value);
  else p.reject(o.error);
}

class WriteGroup {
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  add(p: Pending): void {
    this.#queue.push(p);
    this.#running ??= this.#drain().finally(() => (this.#running = null));
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
      const group = this.#queue.splice(0, GROUP_SIZE);
      const outcomes = new Map<Pending, Outcome<unknown>>();
      try {
        await this.db.kysely.transaction().execute(async (trx) => {
          for (const p of group) {
            if (outcomes.has(p)) continue;
            if (p.work) {
              outcomes.set(p, await inSavepoint(trx, () => p.work!(trx)));
              continue;
            }
            // Every item of this batch kind in the group, done together where the first one stood.
            const b = p.batch!;
            const same = group.filter((q) => q.batch?.kind === b.kind && q.batch.key === b.key);
            const out = await runBatch(trx, b.kind, same.map((q) => q.batch!.item));
            same.forEach((q, i) => outcomes.set(q, out[i]!));
          }
        });
      } catch (e) {
        for (const p of group) p.reject(e);
        continue;
      }
      for (const p of group) settle(p, outcomes.get(p)!);
    }
  }
}

/** PostgreSQL: one queue per batch kind and key; see above. */
class PgBatchQueue {
  #queue: Pending[] = [];
  #inflight = 0;

  constructor(
    private readonly db: Db,
    private readonly kind: Batch<unknown, unknown>,
  ) {}

  add(p: Pending): void {
    this.#queue.push(p);
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight < PG_PARALLEL && this.#queue.length) {
      const take = this.#queue.splice(0, GROUP_SIZE);
      this.#inflight++;
      void this.#run(take).finally(() => {
        this.#inflight--;
        this.#pump();
      });
    }
  }

  async #run(take: Pending[]): Promise<void> {
    const items = take.map((p) => p.batch!.item);
    let out: Outcome<unknown>[];
    try {
      out = await this.db.kysely.transaction().execute((trx) => this.kind.all(trx, items));
    } catch {
      // Refused together (or the commit failed: nothing of it is kept): each alone, its own transaction.
      out = await Promise.all(
        items.map((item) =>
          this.db.kysely
            .transaction()
            .execute((trx) => this.kind.one(trx, item))
            .then(
              (value): Outcome<unknown> => ({ ok: true, value }),
              (error: unknown): Outcome<unknown> => ({ ok: false, error }),
            ),
        ),
      );
    }
    take.forEach((p, i) => settle(p, out[i]!));
  }
}

const groups = new WeakMap<Db, WriteGroup>();
const pgQueues = new WeakMap<Db, Map<Batch<unknown, unknown>, Map<string, PgBatchQueue>>>();

function sqliteGroup(db: Db): WriteGroup {
  let g = groups.get(db);
  if (!g) groups.set(db, (g = new WriteGroup(db)));
  return g;
}

/** Runs `work` in a transaction: on SQLite one shared with the writes waiting with it (see above). */
export function groupedWrite<T>(s: TenantScope, work: (trx: Trx) => Promise<T>): Promise<T> {
  if (s.db.dialect !== 'sqlite') return s.db.kysely.transaction().execute(work);
  return new Promise<T>((resolve, reject) => sqliteGroup(s.db).add({ work, resolve: resolve as (v: unknown) => void, reject }));
}

/** Does `item` with the others of its `kind` and `key` waiting with it (see above); answered once committed. */
export function groupedBatch<I, O>(s: TenantScope, kind: Batch<I, O>, key: string, item: I): Promise<O> {
  const k = kind as Batch<unknown, unknown>;
  return new Promise<O>((resolve, reject) => {
    const p: Pending = { batch: { kind: k, key, item }, resolve: resolve as (v: unknown) => void, reject };
    if (s.db.dialect === 'sqlite') return sqliteGroup(s.db).add(p);
    let byKind = pgQueues.get(s.db);
    if (!byKind) pgQueues.set(s.db, (byKind = new Map()));
    let byKey = byKind.get(k);
    if (!byKey) byKind.set(k, (byKey = new Map()));
    let q = byKey.get(key);
    if (!q) byKey.set(key, (q = new PgBatchQueue(s.db, k)));
    q.add(p);
  });
}
