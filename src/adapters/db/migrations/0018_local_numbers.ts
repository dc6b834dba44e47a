import crypto from 'node:crypto';
import type { Kysely } from 'kysely';

/**
 * Issue 13. `bridges.local_numbers_token`: the random part of the bridge's public "Find a local
 * number" page (/numbers/<token>), 256 bits, base64url; regenerable. Existing bridges get one here.
 * Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('bridges').addColumn('local_numbers_token', 'text').execute();
  const rows = (await db.selectFrom('bridges').select('id').execute()) as { id: string }[];
  for (const r of rows) await db.updateTable('bridges').set({ local_numbers_token: crypto.randomBytes(32).toString('base64url') }).where('id', '=', r.id).execute();
  await db.schema.createIndex('bridges_local_numbers_token').on('bridges').column('local_numbers_token').unique().execute();
}
