import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * LIKE with the admin's text taken literally: `%` and `_` in a search are characters, not
 * wildcards (a search for "%" must not match everyone). Both dialects get an explicit ESCAPE:
 * PostgreSQL's default escape is the backslash, SQLite has none.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `column LIKE pattern ESCAPE '\'`, the column lower-cased when asked (the pattern is then lower-case too). */
export function likeEscaped(column: string, pattern: string, opts: { lower?: boolean } = {}): RawBuilder<SqlBool> {
  const col = opts.lower ? sql`lower(${sql.ref(column)})` : sql.ref(column);
  return sql<SqlBool>`${col} like ${pattern} escape '\\'`;
}

/** Rows whose column contains the text (case-insensitive), wildcards escaped. */
export function containsText(column: string, text: string): RawBuilder<SqlBool> {
  return likeEscaped(column, `%${escapeLike(text.toLowerCase())}%`, { lower: true });
}

/**
 * The same test as containsText, without lower() on every row on SQLite (a users-list search reads
 * 100,000 rows): its LIKE already ignores ASCII case, which is all its lower() folds. PostgreSQL
 * keeps lower() … LIKE (ILIKE measured slower there at 100,000 users).
 */
export function containsTextFolded(dialect: 'sqlite' | 'postgres', column: string, text: string): RawBuilder<SqlBool> {
  if (dialect === 'postgres') return containsText(column, text);
  return sql<SqlBool>`${sql.ref(column)} like ${`%${escapeLike(text.toLowerCase())}%`} escape '\\'`;
}
