import { AppError } from './errors.ts';

/**
 * The schema version is the set of migrations applied. One this code does not know means the
 * database (or a backup) was written by a newer dialin: running older code on it is a downgrade,
 * refused before anything runs.
 */

/** Migrations in `applied` that `known` (this code's) lacks: the schema is newer than the code. */
export function unknownMigrations(applied: readonly string[], known: readonly string[]): string[] {
  const k = new Set(known);
  return applied.filter((a) => !k.has(a));
}

/** Refuses a schema written by a newer dialin (a downgrade), naming what this code does not know. */
export function refuseNewerSchema(applied: readonly string[], known: readonly string[], what: string): void {
  const unknown = unknownMigrations(applied, known);
  if (unknown.length) {
    throw new AppError('SCHEMA_NEWER_THAN_CODE', `${what} has ${unknown.length} migration(s) this version of dialin does not know (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}): it was written by a newer dialin, and a downgrade is refused. Run the newer version, or restore a backup made before the upgrade.`);
  }
}
