import { sql } from 'kysely';
import { openDb } from '../../../src/adapters/db/database.ts';
import { runBackfills, type Backfill } from '../../../src/adapters/db/backfills.ts';

/** The test's backfill: appends MARK to every user's display name, once (twice would show a batch run again). */
export const MARK = ' [b]';

export function marking(name: string, failOnBatch?: number): Backfill {
  let batches = 0;
  return {
    name,
    table: 'users',
    key: 'id',
    async rewrite(trx, keys) {
      await trx.updateTable('users').set({ display_name: sql`display_name || ${MARK}` }).where('id', 'in', keys).execute();
      if (++batches === failOnBatch) throw new Error('the process died in this batch');
    },
  };
}

// As a process of its own (two of them race in the test): DATA_DIR DATABASE_URL|'' NAME BATCH; prints the rows it did.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [dataDir, url, name, batch] = process.argv.slice(2) as [string, string, string, string];
  const db = openDb({ dataDir, databaseUrl: url || null, poolSize: 2 });
  const [run] = await runBackfills(db, { list: [marking(name)], batch: Number(batch) });
  await db.close();
  process.stdout.write(JSON.stringify(run));
}
