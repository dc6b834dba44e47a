import type { Kysely } from 'kysely';

/**
 * Issue 13. `bridges.default_toll_free_number`: the toll-free number users enabled on the bridge
 * afterwards get, as they get the default toll number (Set-CsOnlineDialInConferencingBridge
 * -DefaultTollFreeServiceNumber). Null: no toll-free default. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('bridges').addColumn('default_toll_free_number', 'text').execute();
}
