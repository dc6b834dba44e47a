import type { Command } from 'commander';
import { migrate, openDb, pendingMigrations } from '../db/database.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { json?: boolean };

/**
 * `dialin migrate [--dry-run]`: applies (or only lists) the migrations this code has and the
 * database lacks. Opens the database alone, not the context (which would migrate). A database
 * written by a newer dialin is refused with SCHEMA_NEWER_THAN_CODE, here as in every start.
 */
export function registerMigrateCommand(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  program
    .command('migrate')
    .description('Apply pending database migrations (serve and worker do it too when they start); --dry-run lists them and changes nothing. Refused when the database was written by a newer dialin')
    .option('--dry-run', 'list the migrations that would run, in order, and change nothing')
    .action(async (o: { dryRun?: boolean }) => {
      const c = holder.config;
      const db = openDb({ dataDir: c.dataDir, databaseUrl: c.databaseUrl, poolSize: 2 });
      try {
        const { applied, pending } = await pendingMigrations(db);
        if (o.dryRun) {
          if (g().json) term.out(JSON.stringify({ Database: db.location, Applied: applied.length, Pending: pending }, null, 2));
          else term.out(pending.length ? `${pending.length} migration(s) would run on ${db.location}, in this order:\n${pending.map((p) => `  ${p}`).join('\n')}` : `Database ${db.location} is up to date (${applied.length} migration(s) applied); nothing would run.`);
          return;
        }
        const res = await migrate(db);
        const ran = (res.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        if (g().json) term.out(JSON.stringify({ Database: db.location, Applied: ran }, null, 2));
        else term.out(`Database ${db.location} is up to date${ran.length ? ` (${ran.length} migration(s) applied: ${ran.join(', ')})` : ''}.`);
      } finally {
        await db.close();
      }
    });
}
