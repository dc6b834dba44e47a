import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { AppError } from '../../core/errors.ts';
import { checkBackupKeys, IN_USE_TABLES, parseManifest, type BackupManifest } from '../../core/backup-manifest.ts';
import { refuseNewerSchema } from '../../core/schema-version.ts';
import { memberStream, readBackupArchive, type VerifiedArchive } from '../files/backup-archive.ts';
import { keyFilePath, loadKeys, type KeySource } from '../crypto/keys.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { migrate, openDb, sqliteFile } from './database.ts';
import { pgToolArgs, runPgTool } from './backup.ts';

/**
 * `dialin restore FILE [--force]`. Everything that can refuse is checked before the target is
 * touched, in this order: the archive is whole (tar headers, sizes, SHA256SUMS), the backup is of
 * this dialect and of a schema this code knows (no downgrade), this process's key ring holds
 * every key version the backup uses under the same key (by fingerprint), the target is empty (or
 * --force) and no serve or worker runs on it. Then the data is loaded (SQLite: extracted beside
 * the database, its rows counted against the manifest, then renamed over it; PostgreSQL:
 * pg_restore in one transaction), mail that was being sent at the snapshot is queued again
 * (its Message-ID unchanged, so a receiver can tell a copy), the old deployment's process rows are
 * dropped, and the schema is migrated to this code's.
 */

export interface RestoreTarget extends KeySource {
  databaseUrl: string | null;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Mail that was being sent at the snapshot, queued again. */
  requeued: number;
  /** Mail waiting to be sent after the restore. */
  pending: number;
  /** Migrations this code applied after the restore (a backup of an older version). */
  migrated: number;
}

/** A process that renewed its key_holders row this recently is taken for running on the target. */
const LIVE_MS = 60_000;

function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Rows in the tables that say the database is in use, and live processes on it. */
interface TargetState {
  inUse: Record<string, number>;
  liveProcesses: number;
}

function sqliteState(file: string, now: number): TargetState | null {
  if (!fs.existsSync(file)) return null;
  const d = new SqliteDatabase(file, { fileMustExist: true });
  try {
    d.pragma('busy_timeout = 10000');
    const tables = new Set((d.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map((t) => t.name));
    const inUse: Record<string, number> = {};
    for (const t of IN_USE_TABLES) if (tables.has(t)) inUse[t] = (d.prepare(`select count(*) as n from ${q(t)}`).get() as { n: number }).n;
    const liveProcesses = tables.has('key_holders') ? (d.prepare('select count(*) as n from key_holders where seen_at > ?').get(now - LIVE_MS) as { n: number }).n : 0;
    return { inUse, liveProcesses };
  } finally {
    d.close();
  }
}

async function pgTables(c: pg.ClientBase): Promise<string[]> {
  return (await c.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`)).rows.map((r) => r.name);
}

async function pgState(c: pg.ClientBase, now: number): Promise<TargetState> {
  const tables = new Set(await pgTables(c));
  const inUse: Record<string, number> = {};
  for (const t of IN_USE_TABLES) if (tables.has(t)) inUse[t] = Number((await c.query<{ n: string }>(`select count(*) as n from ${q(t)}`)).rows[0]!.n);
  const liveProcesses = tables.has('key_holders') ? Number((await c.query<{ n: string }>('select count(*) as n from key_holders where seen_at > $1', [now - LIVE_MS])).rows[0]!.n) : 0;
  return { inUse, liveProcesses };
}

function refuseTarget(state: TargetState | null, where: string, force: boolean): void {
  if (!state) return;
  if (state.liveProcesses > 0) {
    throw new AppError('BACKUP_TARGET_NOT_EMPTY', `${state.liveProcesses} dialin process(es) (serve or worker) ran on ${where} within the last minute: stop every serve and worker of this deployment before restoring. Nothing was restored.`);
  }
  const used = Object.entries(state.inUse).filter(([, n]) => n > 0);
  if (used.length && !force) {
    throw new AppError('BACKUP_TARGET_NOT_EMPTY', `${where} is not empty (${used.map(([t, n]) => `${n} ${t}`).join(', ')}): restore into an empty database, or pass --force to replace its contents. Nothing was restored.`);
  }
}

function checkCounts(manifest: BackupManifest, counted: Record<string, number>): void {
  const wrong = Object.entries(manifest.counts).filter(([t, n]) => counted[t] !== n);
  if (wrong.length) {
    throw new AppError('BACKUP_CORRUPT', `The restored data does not match the manifest's row counts (${wrong.slice(0, 3).map(([t, n]) => `${t}: ${counted[t] ?? 'missing'} instead of ${n}`).join(', ')}).`);
  }
}

/** The ring's versions and fingerprints, without creating a key file (a refused restore leaves nothing behind). */
function ringOf(target: RestoreTarget): { ring: Map<number, string>; source: string } {
  if (!target.pinKey && !fs.existsSync(keyFilePath(target.dataDir))) {
    throw new AppError('BACKUP_KEY_MISMATCH', `There is no key ring: no DIALIN_PIN_KEY and no key file ${keyFilePath(target.dataDir)}. The backup holds no key (by design): put the key file of the deployment the backup comes from there (or set DIALIN_PIN_KEY and DIALIN_PIN_KEYS_FILE as it had them) first. Nothing was restored.`);
  }
  const keys = loadKeys(target);
  return { ring: new Map(keys.versions().map((v) => [v, keys.fingerprint(v)])), source: keys.source };
}

/** Verifies the archive and everything a restore needs, before anything is written. */
export function verifyBackup(file: string, target: RestoreTarget): { archive: VerifiedArchive; manifest: BackupManifest } {
  const archive = readBackupArchive(file);
  const manifest = parseManifest(archive.manifest.toString('utf8'));
  const dialect = target.databaseUrl ? 'postgres' : 'sqlite';
  if (manifest.dialect !== dialect || archive.data.name !== manifest.data.member) {
    throw new AppError('BACKUP_DIALECT_MISMATCH', `The backup is of ${manifest.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} and this deployment uses ${dialect === 'sqlite' ? 'SQLite (no DATABASE_URL)' : 'PostgreSQL (DATABASE_URL)'}. Nothing was restored.`);
  }
  refuseNewerSchema(manifest.migrations, Object.keys(MIGRATIONS), `The backup (made by dialin ${manifest.dialinVersion})`);
  const { ring, source } = ringOf(target);
  checkBackupKeys(manifest, ring, source);
  return { archive, manifest };
}

/** Extracts the data member to `to`, checking its sha-256 again (the file could change between the passes). */
async function extract(archive: VerifiedArchive, to: string): Promise<void> {
  const hash = crypto.createHash('sha256');
  const out = fs.createWriteStream(to, { mode: 0o600, flags: 'wx' });
  const tee = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      out.write(chunk) ? cb() : out.once('drain', () => cb());
    },
    final(cb) {
      out.end(() => cb());
    },
  });
  await pipeline(memberStream(archive), tee);
  const fd = fs.openSync(to, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  if (hash.digest('hex') !== archive.dataSha256) throw new AppError('BACKUP_CORRUPT', `${archive.file} changed while it was restored. Nothing was restored.`);
}

/** Restores a verified backup into the target (see the module comment for the order of checks). */
export async function restoreBackup(file: string, target: RestoreTarget, opts: { force: boolean; now: () => number }): Promise<RestoreResult> {
  const { archive, manifest } = verifyBackup(file, target);
  let requeued = 0;
  if (!target.databaseUrl) {
    const dbFile = sqliteFile(target.dataDir);
    refuseTarget(sqliteState(dbFile, opts.now()), dbFile, opts.force);
    fs.mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${dbFile}.restore-${process.pid}`;
    fs.rmSync(tmp, { force: true });
    try {
      await extract(archive, tmp);
      const d = new SqliteDatabase(tmp, { fileMustExist: true });
      try {
        const counted: Record<string, number> = {};
        for (const t of Object.keys(manifest.counts)) {
          try {
            counted[t] = (d.prepare(`select count(*) as n from ${q(t)}`).get() as { n: number }).n;
          } catch {
            // a missing table is reported by checkCounts
          }
        }
        checkCounts(manifest, counted);
        requeued = afterRestoreSqlite(d);
      } finally {
        d.close();
      }
      // The old database's -wal would be replayed into the new file: it goes first.
      for (const suffix of ['-wal', '-shm', '']) fs.rmSync(dbFile + suffix, { force: true });
      fs.renameSync(tmp, dbFile);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  } else {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      refuseTarget(await pgState(client, opts.now()), 'the PostgreSQL database of DATABASE_URL', opts.force);
      // An empty (migrated) target or --force: its tables go, so the dump's can be created.
      const existing = await pgTables(client);
      if (existing.length) {
        await client.query('begin');
        for (const t of existing) await client.query(`drop table if exists ${q(t)} cascade`);
        await client.query('commit');
      }
      const { dbname, env } = pgToolArgs(target.databaseUrl);
      await runPgTool('pg_restore', ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${dbname}`], env, memberStream(archive));
      const counted: Record<string, number> = {};
      const tables = new Set(await pgTables(client));
      for (const t of Object.keys(manifest.counts)) if (tables.has(t)) counted[t] = Number((await client.query<{ n: string }>(`select count(*) as n from ${q(t)}`)).rows[0]!.n);
      checkCounts(manifest, counted);
      requeued = await afterRestorePg(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
  const db = openDb({ dataDir: target.dataDir, databaseUrl: target.databaseUrl, poolSize: 2 });
  try {
    const res = await migrate(db);
    const pending = Number((await db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'queued').executeTakeFirstOrThrow()).n);
    return { manifest, requeued, pending, migrated: res.results?.length ?? 0 };
  } finally {
    await db.close();
  }
}

/**
 * What was true of the old deployment's processes is not of this one: mail claimed by its
 * workers (sending) is queued again, Message-ID unchanged; its process rows go.
 */
const REQUEUE = `update outbox set status = 'queued', lease_owner = null, lease_until = null where status = 'sending'`;

function afterRestoreSqlite(d: SqliteDatabase.Database): number {
  const tables = new Set((d.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map((t) => t.name));
  let n = 0;
  d.transaction(() => {
    if (tables.has('outbox')) n = d.prepare(REQUEUE).run().changes;
    if (tables.has('key_holders')) d.prepare('delete from key_holders').run();
  })();
  return n;
}

async function afterRestorePg(c: pg.ClientBase): Promise<number> {
  const tables = new Set(await pgTables(c));
  await c.query('begin');
  const n = tables.has('outbox') ? ((await c.query(REQUEUE)).rowCount ?? 0) : 0;
  if (tables.has('key_holders')) await c.query('delete from key_holders');
  await c.query('commit');
  return n;
}
