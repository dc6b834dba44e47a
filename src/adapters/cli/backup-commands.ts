import type { Command } from 'commander';
import { takeBackup } from '../db/backup.ts';
import { restoreBackup } from '../db/restore.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { json?: boolean };

/**
 * `dialin backup FILE` and `dialin restore FILE [--force]` (adapters/db/backup.ts, restore.ts).
 * Neither opens the application context: a backup must not migrate the database it copies, and a
 * restore must check the backup before it creates anything (not even a key file).
 */
export function registerBackupCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  program
    .command('backup')
    .description('Write a consistent snapshot of the database to FILE while serve and worker run (SQLite online backup or pg_dump -Fc), with a manifest and SHA256SUMS; never the key ring (back up the key file separately)')
    .argument('<file>', 'the backup file to write, e.g. /var/backups/dialin/dialin-2026-12-03.tar')
    .action(async (file: string) => {
      const c = holder.config;
      const started = Date.now();
      const r = await takeBackup({ dataDir: c.dataDir, databaseUrl: c.databaseUrl }, file, () => Date.now());
      const m = r.manifest;
      const out = {
        File: r.file,
        Bytes: r.bytes,
        Seconds: Math.round((Date.now() - started) / 100) / 10,
        CreatedAt: m.createdAt,
        Dialect: m.dialect,
        Migrations: m.migrations.length,
        Users: m.counts.users ?? 0,
        Outbox: m.counts.outbox ?? 0,
        KeyVersions: m.keys.map((k) => `${k.version}:${k.fingerprint}`).join(', '),
        Sha256: r.dataSha256,
      };
      if (g().json) term.out(JSON.stringify(out, null, 2));
      else {
        term.out(render([out], [], false, true));
        term.err(`Backup written. It holds no key: keep a copy of the key ring (${c.pinKey ? 'DIALIN_PIN_KEY and DIALIN_PIN_KEYS_FILE' : 'the key file in DIALIN_DATA_DIR'}) apart from it, or it cannot be restored.`);
      }
    });

  program
    .command('restore')
    .description('Restore a backup into an empty database (refused when it has users, mail, bridges, admins or audit entries, unless --force), after checking its checksums, its schema and that this key ring holds its key versions; mail unsent at the snapshot is delivered afterwards (Message-IDs kept)')
    .argument('<file>', 'a file written by dialin backup')
    .option('--force', 'replace the contents of a database that is not empty')
    .action(async (file: string, o: { force?: boolean }) => {
      const c = holder.config;
      const r = await restoreBackup(file, { dataDir: c.dataDir, databaseUrl: c.databaseUrl, pinKey: c.pinKey, pinKeysFile: c.pinKeysFile }, { force: !!o.force, now: () => Date.now() });
      const out = { File: file, CreatedAt: r.manifest.createdAt, Dialect: r.manifest.dialect, Users: r.manifest.counts.users ?? 0, Outbox: r.manifest.counts.outbox ?? 0, MailPending: r.pending, MailRequeued: r.requeued, MigrationsApplied: r.migrated };
      if (g().json) term.out(JSON.stringify(out, null, 2));
      else {
        term.out(render([out], [], false, true));
        term.err(`Restored the backup of ${r.manifest.createdAt}. ${r.pending} mail(s) wait to be sent: start serve or worker to deliver them${r.requeued ? ` (${r.requeued} were being sent at the snapshot; a receiver may get those twice, with the same Message-ID)` : ''}.`);
      }
    });
}
