import type { Kysely } from 'kysely';

/**
 * Issue 17, part 3: where each backfill (db/backfills.ts — a rewrite of a large table that runs in
 * batches after the schema migrations) has got to: the last key done, the rows rewritten, and
 * when it finished. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('dialin_backfills')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('after_key', 'text', (c) => c.notNull())
    .addColumn('rows_done', 'bigint', (c) => c.notNull())
    .addColumn('done_at', 'bigint')
    .execute();
}
