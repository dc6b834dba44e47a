import { sql, type Kysely } from 'kysely';

/** How many decoy rows there are: refusals for different unknown IDs rarely wait for the same row lock. */
export const VERIFY_DECOY_SLOTS = 64;

/**
 * Issue 10, defect 6. `verify_decoys`: rows with the lockout counters of `users`, which a bridge
 * PIN refusal for an unknown conference ID (or a locked PIN) updates the way a wrong PIN updates
 * its user's counters, so both commits write a row and wait for the same flush. No user, tenant
 * or secret is in them. And an index on lower(email) for the sign-in-link lookup, which the
 * query uses with the same expression. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('verify_decoys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('pin_fail_local', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pin_window_start', 'bigint')
    .addColumn('pin_fail_global', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pin_locked_until', 'bigint')
    .addColumn('pin_locked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  const rows = Array.from({ length: VERIFY_DECOY_SLOTS }, (_, i) => ({ id: `decoy-${String(i).padStart(2, '0')}` }));
  await db.insertInto('verify_decoys').values(rows).execute();
  await sql`create index users_lower_email on users (lower(email))`.execute(db);
}
