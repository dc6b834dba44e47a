import type { Kysely } from 'kysely';

/**
 * Issue 17, part 1: key rotation. Every stored PIN hash and sealed secret records the key version
 * it was made with (rows written before rings were made with version 1): users and pin_history
 * (PIN hashes), outbox (the sealed PIN and a command's sealed relay password), directory
 * connections (bind password), DKIM keys (private key). `key_versions`: the versions this
 * database was written with, each with the public fingerprint of its key (never the key) and
 * when it was retired. `key_holders`: one row per running process (serve, worker) with the
 * fingerprint of its key ring, renewed as a heartbeat, so `dialin doctor` can say when processes
 * disagree. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('pin_key_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('pin_history').addColumn('pin_key_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('outbox').addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('directory_connections').addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('dkim_keys').addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema
    .createTable('key_versions')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  await db.schema
    .createTable('key_holders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('ring_fingerprint', 'text', (c) => c.notNull())
    .addColumn('current_version', 'integer', (c) => c.notNull())
    .addColumn('versions', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .execute();
}
