import { sql } from 'kysely';
import type { Db } from '../../src/adapters/db/database.ts';

/** Every table of the database (but the migrator's own) with its rows in a stable order. */
export type Dump = Record<string, Record<string, unknown>[]>;

/** Names of our tables, found in the catalogue so that tables added by later migrations are included. */
export async function tableNames(db: Db): Promise<string[]> {
  const rows =
    db.dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db.kysely)).rows
      : (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(db.kysely)).rows;
  return rows.map((r) => r.name).filter((n) => !n.startsWith('dialin_migrations')).sort();
}

/** Reads every row of every table; comparing two dumps proves a command changed nothing. */
export async function dumpDb(db: Db): Promise<Dump> {
  const out: Dump = {};
  for (const t of await tableNames(db)) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(db.kysely)).rows;
    out[t] = rows.map((r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return out;
}

/** Every cell of every row as text, to search the whole database for a secret. */
export async function allCells(db: Db): Promise<{ table: string; column: string; value: string }[]> {
  const dump = await dumpDb(db);
  return Object.entries(dump).flatMap(([table, rows]) =>
    rows.flatMap((r) => Object.entries(r).filter(([, v]) => v !== null && v !== undefined).map(([column, v]) => ({ table, column, value: typeof v === 'string' ? v : JSON.stringify(v) }))),
  );
}
