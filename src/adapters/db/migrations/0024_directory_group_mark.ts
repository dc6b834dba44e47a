import type { Kysely } from 'kysely';

/**
 * Incremental directory sync without reading the licence group every time (issue 11, 100,000
 * entries): the connection keeps a fingerprint of its groups (each group's DN with its entryCSN or
 * uSNChanged) in group_mark, and each user linked to an entry keeps whether that entry was a
 * licence group member at the last pass that read the group (directory_licensed, null: not known).
 * A pass that finds the same fingerprint knows no membership changed. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('directory_connections').addColumn('group_mark', 'text').execute();
  await db.schema.alterTable('users').addColumn('directory_licensed', 'integer').execute();
}
