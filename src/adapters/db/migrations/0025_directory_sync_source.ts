import type { Kysely } from 'kysely';

/**
 * Incremental sync against Active Directory (issue 11): uSNChanged counts per domain controller,
 * so the watermark (sync_mark, the DC's highestCommittedUSN) is kept with the DC that gave it —
 * its NTDS Settings DN and invocationId, as JSON — and a pass that finds another DC or another
 * invocationId (a restored database) reads everything again. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('directory_connections').addColumn('sync_source', 'text').execute();
}
