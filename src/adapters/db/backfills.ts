import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { Db } from './database.ts';
import { backfill as usersFirstMail } from './migrations/0029_users_first_mail.ts';

/**
 * A rewrite of a large table that a migration leaves to run after it, in batches. The migration
 * changes only the schema (one transaction, quick on any size of table); the backfill then
 * rewrites the rows in key order, each batch one transaction that also records the last key done,
 * so a run stopped anywhere (Ctrl-C, kill -9, a crash) resumes where it was and no row is
 * rewritten twice. Until a backfill is done, the code must read the rows it has not reached yet.
 */
export interface Backfill {
  /** Unique and immutable once shipped, like a migration's name. */
  name: string;
  table: keyof Database & string;
  /** A unique text column the table is walked by. */
  key: string;
  /** Rewrites the rows with these keys, in the batch's transaction. */
  rewrite(trx: Kysely<Database>, keys: string[]): Promise<void>;
}

/** The backfills of this code, in the order they run (each after every schema migration). */
export const BACKFILLS: readonly Backfill[] = Object.freeze([usersFirstMail]);

export interface BackfillState {
  name: string;
  rowsDone: number;
  done: boolean;
}

/** Where each backfill is ([] before migration 0028, which records them). */
export async function backfillStates(db: Db, list: readonly Backfill[] = BACKFILLS): Promise<BackfillState[]> {
  const rows = list.length ? await db.kysely.selectFrom('dialin_backfills').selectAll().where('name', 'in', list.map((b) => b.name)).execute() : [];
  return list.map((b) => {
    const r = rows.find((x) => x.name === b.name);
    return { name: b.name, rowsDone: Number(r?.rows_done ?? 0), done: r?.done_at != null };
  });
}

/**
 * One batch of `b`: the next `batch` keys after the recorded one, rewritten, and the new position
 * recorded, all in one transaction (PostgreSQL locks the position row: two `dialin migrate` at once
 * take turns; SQLite's BEGIN IMMEDIATE does the same). Returns the rows rewritten and whether it is done.
 */
async function runBatch(db: Db, b: Backfill, batch: number, now: () => number): Promise<{ rows: number; done: boolean }> {
  await db.kysely.insertInto('dialin_backfills').values({ name: b.name, after_key: '', rows_done: 0, done_at: null }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return db.kysely.transaction().execute(async (trx) => {
    const q = trx.selectFrom('dialin_backfills').selectAll().where('name', '=', b.name);
    const state = await (db.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirstOrThrow();
    if (state.done_at !== null) return { rows: 0, done: true };
    const keys = (await sql<{ k: string }>`select ${sql.ref(b.key)} as k from ${sql.table(b.table)} where ${sql.ref(b.key)} > ${state.after_key} order by ${sql.ref(b.key)} limit ${batch}`.execute(trx)).rows.map((r) => r.k);
    if (keys.length) await b.rewrite(trx, keys);
    const done = keys.length < batch;
    await trx
      .updateTable('dialin_backfills')
      .set({ after_key: keys.length ? keys[keys.length - 1]! : state.after_key, rows_done: Number(state.rows_done) + keys.length, done_at: done ? now() : null })
      .where('name', '=', b.name)
      .execute();
    return { rows: keys.length, done };
  });
}

export interface BackfillRun {
  name: string;
  /** Rows rewritten by this run. */
  rows: number;
  done: boolean;
}

/**
 * Runs every unfinished backfill, batch after batch, until done or `signal` aborts (checked
 * between batches: what is committed stays, the next run goes on from there).
 */
export async function runBackfills(
  db: Db,
  opts: { list?: readonly Backfill[]; batch?: number; signal?: AbortSignal; now?: () => number; onBatch?: (name: string, rowsDone: number) => void } = {},
): Promise<BackfillRun[]> {
  const runs: BackfillRun[] = [];
  for (const b of opts.list ?? BACKFILLS) {
    const run: BackfillRun = { name: b.name, rows: 0, done: false };
    runs.push(run);
    while (!run.done && !opts.signal?.aborted) {
      const r = await runBatch(db, b, opts.batch ?? 5000, opts.now ?? Date.now);
      run.rows += r.rows;
      run.done = r.done;
      opts.onBatch?.(b.name, run.rows);
    }
    if (!run.done) break;
  }
  return runs;
}
