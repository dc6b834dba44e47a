import type { Kysely } from 'kysely';

/**
 * Issue 11: a connection added in the admin center carries its CA certificate itself (pasted or
 * uploaded PEM), not a path on one server — serve and the workers may run on other machines.
 * A public certificate, so kept in clear. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('directory_connections').addColumn('ca_pem', 'text').execute();
}
