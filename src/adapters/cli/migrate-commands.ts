import type { Command } from 'commander';
import { migrate, openDb, pendingMigrations } from '../db/database.ts';
import { BACKFILLS, backfillStates, runBackfills } from '../db/backfills.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { json?: boolean };

/**
 * `dialin migrate [--dry-run]`: applies (or only lists) the migrations this code has and the
 * database lacks. Opens the database alone, not the context (which would migrate). A database
 * written by a newer dialin is refused with SCHEMA_NEWER_THAN_CODE, here as in every start.
 * Then the backfills (db/backfills.ts) run, batch after batch: Ctrl-C stops after the batch in
 * hand, and the next `dialin migrate` goes on from there.
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
          // Before migration 0028 no backfill has run: all of them would.
          const backfills = applied.includes('0028_backfills') ? (await backfillStates(db)).filter((b) => !b.done).map((b) => b.name) : BACKFILLS.map((b) => b.name);
          if (g().json) term.out(JSON.stringify({ Database: db.location, Applied: applied.length, Pending: pending, Backfills: backfills }, null, 2));
          else {
            term.out(pending.length ? `${pending.length} migration(s) would run on ${db.location}, in this order:\n${pending.map((p) => `  ${p}`).join('\n')}` : `Database ${db.location} is up to date (${applied.length} migration(s) applied); nothing would run.`);
            if (backfills.length) term.out(`Then ${backfills.length} backfill(s), in batches (resumable):\n${backfills.map((b) => `  ${b}`).join('\n')}`);
          }
          return;
        }
        const res = await migrate(db);
        const ran = (res.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        const stop = new AbortController();
        const onInt = () => stop.abort();
        process.once('SIGINT', onInt);
        let runs;
        let shown = 0;
        const onBatch = (name: string, n: number) => {
          if (Date.now() - shown < 5000) return; // a line every 5 s, not every batch
          shown = Date.now();
          term.err(`backfill ${name}: ${n.toLocaleString('en-US')} rows so far`);
        };
        try {
          runs = await runBackfills(db, { signal: stop.signal, onBatch });
        } finally {
          process.off('SIGINT', onInt);
        }
        const unfinished = runs.filter((r) => !r.done).map((r) => r.name);
        if (g().json) term.out(JSON.stringify({ Database: db.location, Applied: ran, Backfilled: runs.map((r) => ({ Name: r.name, Rows: r.rows, Done: r.done })) }, null, 2));
        else term.out(`Database ${db.location} is ${unfinished.length ? 'migrated' : 'up to date'}${ran.length ? ` (${ran.length} migration(s) applied: ${ran.join(', ')})` : ''}.`);
        if (unfinished.length) {
          term.err(`Stopped before the end of backfill ${unfinished.join(', ')}: what was done is kept; run dialin migrate again to go on from there.`);
          process.exitCode = 130;
        }
      } finally {
        await db.close();
      }
    });
}
