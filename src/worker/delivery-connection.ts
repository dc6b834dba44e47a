import { sql } from 'kysely';
import type { Config } from '../config/config.ts';
import { openDb, type Db } from '../adapters/db/database.ts';

/**
 * The connection a deliverer (the worker, or a command sending its own mail) claims rows and
 * records outcomes through. On SQLite it is a connection of its own with synchronous=NORMAL: its
 * commits stay atomic and survive the crash of any process, but no longer wait for an fsync, which
 * otherwise dominates a bulk run (1-8 ms each here) and blocks the event loop. Only an OS crash or
 * power loss can undo its last commits, and that only sends those messages again (a duplicate,
 * never a loss): the outbox rows themselves are written with synchronous=FULL. On PostgreSQL the
 * shared pool serves. Close it with `releaseDeliveryConnection`.
 */
export async function deliveryConnection(shared: Db, config: Readonly<Config>): Promise<Db> {
  if (shared.dialect !== 'sqlite') return shared;
  const db = openDb({ dataDir: config.dataDir, databaseUrl: null });
  await sql`pragma synchronous = NORMAL`.execute(db.kysely);
  return db;
}

/** Closes a connection from `deliveryConnection` unless it is the shared one. */
export async function releaseDeliveryConnection(db: Db, shared: Db): Promise<void> {
  if (db !== shared) await db.close();
}
