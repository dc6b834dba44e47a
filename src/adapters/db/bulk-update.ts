import { sql, type Kysely } from 'kysely';

export type ColumnCast = 'text' | 'integer' | 'bigint';

/**
 * Updates many rows with different values in one statement per chunk:
 * `UPDATE t SET c = CAST(v.c AS …) FROM (SELECT column1 AS k, … FROM (VALUES …)) v WHERE t.k = v.k`.
 * The same SQL runs on SQLite (≥ 3.33) and PostgreSQL; the casts give PostgreSQL the types its
 * untyped VALUES parameters lack. Used where one statement per row would dominate a bulk run.
 */
export async function bulkUpdate(
  db: Kysely<any>,
  table: string,
  key: string,
  columns: Record<string, ColumnCast>,
  rows: Record<string, unknown>[],
  chunk = 400,
): Promise<void> {
  const names = Object.keys(columns);
  if (rows.length === 1) {
    // One row (a call per user in a script's loop): a plain UPDATE by key, cheaper to plan than a join on VALUES.
    const r = rows[0]!;
    await db.updateTable(table).set(Object.fromEntries(names.map((n) => [n, r[n] ?? null]))).where(key, '=', r[key]).execute();
    return;
  }
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const values = sql.join(part.map((r) => sql`(${sql.join([r[key], ...names.map((n) => r[n] ?? null)])})`));
    const selectList = sql.join([sql`column1 as ${sql.ref(key)}`, ...names.map((n, j) => sql`${sql.raw(`column${j + 2}`)} as ${sql.ref(n)}`)]);
    const sets = sql.join(names.map((n) => sql`${sql.ref(n)} = cast(v.${sql.ref(n)} as ${sql.raw(columns[n]!)})`));
    await sql`update ${sql.table(table)} set ${sets} from (select ${selectList} from (values ${values}) as t) as v where ${sql.ref(`${table}.${key}`)} = v.${sql.ref(key)}`.execute(db);
  }
}
