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
 * The same test as containsText without lower() on every row (a users-list search reads 100,000
 * rows): SQLite's LIKE already ignores ASCII case, which is all its lower() folds; PostgreSQL's
 * ILIKE folds case as lower() does.
 */
export function containsTextFolded(dialect: 'sqlite' | 'postgres', column: string, text: string): RawBuilder<SqlBool> {
  const pattern = `%${escapeLike(text.toLowerCase())}%`;
  return dialect === 'postgres' ? sql<SqlBool>`${sql.ref(column)} ilike ${pattern} escape '\\'` : sql<SqlBool>`${sql.ref(column)} like ${pattern} escape '\\'`;
}
