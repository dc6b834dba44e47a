import { encodeCursor, type UserCursor } from '../core/user-filter.ts';

/**
 * What a keyset page query asked for and got back, turned into the page's rows (in display
 * order) and the cursors of its next and previous pages. The query asks for one row more than
 * the page, so `got.length > limit` says there is more in the direction it read.
 */
export function keysetPage<T>(got: T[], limit: number, q: { after: UserCursor | null; before: UserCursor | null }, at: (row: T) => UserCursor): { rows: T[]; next: string | null; prev: string | null } {
  const backwards = q.before !== null;
  const more = got.length > limit;
  const rows = got.slice(0, limit);
  if (backwards) rows.reverse();
  const first = rows[0];
  const last = rows[rows.length - 1];
  // Going forward, a previous page exists when we came from a cursor; going back, a next one always does.
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : q.after !== null;
  return { rows, next: hasNext && last !== undefined ? encodeCursor(at(last)) : null, prev: hasPrev && first !== undefined ? encodeCursor(at(first)) : null };
}
