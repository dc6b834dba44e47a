import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { AppError } from '../../core/errors.ts';
import type { BackupManifest } from '../../core/backup-manifest.ts';
import { writeBackupArchive } from '../files/backup-archive.ts';
import { DIALIN_VERSION } from '../version.ts';
import { sqliteFile } from './database.ts';

/**
 * `dialin backup FILE`: a consistent snapshot while serve and worker keep running, in the archive
 * of files/backup-archive.ts. SQLite: the online backup API copying every page in one step (one
 * read transaction: WAL lets writers go on, and the copy is of one moment). PostgreSQL: pg_dump
 * -Fc in a snapshot exported from a REPEATABLE READ transaction, which also counts the rows, so
 * the manifest and the dump describe the same moment. The key ring is never in it (it lives
 * outside the database); the manifest names its versions by fingerprint.
 */

export interface BackupTarget {
  dataDir: string;
  databaseUrl: string | null;
}

export interface BackupResult {
  file: string;
  bytes: number;
  dataSha256: string;
  manifest: BackupManifest;
}

/** What the snapshot holds: its migrations, rows per table, key versions in use. */
interface Contents {
  migrations: string[];
  counts: Record<string, number>;
  keys: { version: number; fingerprint: string }[];
}

function sqliteContents(d: SqliteDatabase.Database): Contents {
  const tables = (d.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all() as { name: string }[]).map((t) => t.name);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = (d.prepare(`select count(*) as n from "${t.replace(/"/g, '""')}"`).get() as { n: number }).n;
  const migrations = tables.includes('dialin_migrations') ? (d.prepare('select name from dialin_migrations order by name').all() as { name: string }[]).map((r) => r.name) : [];
  const keys = tables.includes('key_versions') ? (d.prepare('select version, fingerprint from key_versions where retired_at is null order by version').all() as { version: number; fingerprint: string }[]) : [];
  return { migrations, counts, keys };
}

async function pgContents(c: pg.ClientBase): Promise<Contents> {
  const tables = (await c.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`)).rows.map((t) => t.name);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await c.query<{ n: string }>(`select count(*) as n from "${t.replace(/"/g, '""')}"`)).rows[0]!.n);
  const migrations = tables.includes('dialin_migrations') ? (await c.query<{ name: string }>('select name from dialin_migrations order by name')).rows.map((r) => r.name) : [];
  const keys = tables.includes('key_versions') ? (await c.query<{ version: number; fingerprint: string }>('select version, fingerprint from key_versions where retired_at is null order by version')).rows : [];
  return { migrations, counts, keys };
}

/** libpq's connection settings without the password in the command line (ps shows it): PGPASSWORD instead. */
export function pgToolArgs(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env };
}

/** Runs a PostgreSQL client tool; its stderr (never a password: none is on its command line) goes in the error. */
export function runPgTool(tool: string, args: string[], env: Record<string, string>, stdin?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: { ...process.env, ...env }, stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('error', (e) => reject(new AppError('BACKUP_FAILED', `Cannot run ${tool} (${(e as Error).message}): install the PostgreSQL client tools of the server's version.`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new AppError('BACKUP_FAILED', `${tool} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`))));
    if (stdin) {
      stdin.on('error', (e) => child.kill() && reject(e));
      child.stdin!.on('error', () => {});
      stdin.pipe(child.stdin!);
    }
  });
}

function manifestOf(dialect: 'sqlite' | 'postgres', c: Contents, bytes: number, at: number): BackupManifest {
  return {
    format: 'dialin-backup',
    formatVersion: 1,
    dialinVersion: DIALIN_VERSION,
    createdAt: new Date(at).toISOString(),
    dialect,
    data: { member: dialect === 'sqlite' ? 'data.sqlite' : 'data.pgdump', bytes },
    migrations: c.migrations,
    counts: c.counts,
    keys: c.keys,
  };
}

/** Takes the snapshot into `file` (written whole or not at all: a temporary file renamed at the end). */
export async function takeBackup(target: BackupTarget, file: string, now: () => number): Promise<BackupResult> {
  const out = path.resolve(file);
  const snap = `${out}.snapshot-${process.pid}`;
  try {
    let contents: Contents;
    let at: number;
    if (!target.databaseUrl) {
      const dbFile = sqliteFile(target.dataDir);
      if (!fs.existsSync(dbFile)) throw new AppError('FILE_NOT_FOUND', `There is no database at ${dbFile} (DIALIN_DATA_DIR) to back up.`);
      const src = new SqliteDatabase(dbFile, { fileMustExist: true });
      try {
        src.pragma('busy_timeout = 10000');
        at = now();
        // All pages in one step: a step is one read transaction, so the copy is of one moment
        // (smaller steps restart whenever another process writes, which a busy worker always does).
        await src.backup(snap, { progress: () => 0x7fffffff });
      } finally {
        src.close();
      }
      const d = new SqliteDatabase(snap);
      try {
        // The copy is self-contained: no -wal file goes with it.
        d.pragma('journal_mode = DELETE');
        contents = sqliteContents(d);
      } finally {
        d.close();
      }
    } else {
      const client = new pg.Client({ connectionString: target.databaseUrl });
      await client.connect();
      try {
        await client.query('begin isolation level repeatable read read only');
        const snapshot = (await client.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
        at = now();
        const { dbname, env } = pgToolArgs(target.databaseUrl);
        const dump = runPgTool('pg_dump', ['--format=custom', `--snapshot=${snapshot}`, '--no-password', `--file=${snap}`, `--dbname=${dbname}`], env);
        // The counts come from the same snapshot as the dump, while it runs.
        dump.catch(() => {}); // awaited below; a failure while the counts run is not an unhandled rejection
        try {
          contents = await pgContents(client);
        } catch (e) {
          await dump.catch(() => {});
          throw e;
        }
        await dump;
        await client.query('commit');
      } finally {
        await client.end().catch(() => {});
      }
    }
    const bytes = fs.statSync(snap).size;
    const manifest = manifestOf(target.databaseUrl ? 'postgres' : 'sqlite', contents, bytes, at);
    const w = writeBackupArchive(out, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), { member: manifest.data.member, path: snap }, at);
    return { file: out, bytes: w.bytes, dataSha256: w.dataSha256, manifest };
  } catch (e) {
    if (e instanceof AppError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError('BACKUP_FAILED', `The backup to ${out} failed${code ? ` (${code})` : ''}: ${(e as Error).message}`, { cause: e });
  } finally {
    fs.rmSync(snap, { force: true });
  }
}
