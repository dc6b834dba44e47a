import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import SqliteDatabase from 'better-sqlite3';
import type pgModule from 'pg';
import { CompiledQuery, Kysely, sql, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type LogConfig, type MigrationResultSet } from 'kysely';
import type { Database } from './schema.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { AppError } from '../../core/errors.ts';
import { refuseNewerSchema } from '../../core/schema-version.ts';

export type Dialect = 'sqlite' | 'postgres';

/** An open database: the typed query layer plus what differs between the two dialects. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where the data lives, for messages (file path or URL without password). */
  readonly location: string;
  close(): Promise<void>;
  /** SQLite only: one-user transactions grouped under one commit (see GroupCommit). */
  readonly groupCommit?: GroupCommit;
  /**
   * A write that may be skipped: it runs at once or not at all, never waiting for another writer
   * nor for the disk. For what the next occasion redoes anyway (moving a PIN hash to the current key
   * version at a right PIN): a bridge's answer must not queue behind a re-seal's batch. Resolves
   * whether it was written.
   */
  skippableWrite(fn: (trx: Kysely<Database>) => Promise<void>): Promise<boolean>;
}

// Each driver is loaded when a database of its kind is opened: a CLI call on SQLite never pays
// for pg's start-up (its modules and type parsers), nor PostgreSQL for better-sqlite3's add-on
// (better-sqlite3's JavaScript is in dist/'s bundle; its add-on loads when a database is opened).
const require = createRequire(import.meta.url);
let pgLoaded: typeof pgModule | null = null;
export function loadPg(): typeof pgModule {
  if (!pgLoaded) {
    pgLoaded = require('pg') as typeof pgModule;
    // int8 (bigint) comes back from pg as a string by default; our bigints are epoch milliseconds,
    // well inside Number's exact range.
    pgLoaded.types.setTypeParser(20, (v: string) => Number(v));
  }
  return pgLoaded;
}

/**
 * Group commit, for a script's run of one-user calls (`ForEach-Object { Set-… -Identity $_.Email }`):
 * between `enter()` and `flush()` each transaction is a savepoint inside one real transaction,
 * committed every GROUP_MAX transactions or GROUP_MS (so other writers wait little), and at
 * `flush()`. A transaction that fails rolls back its savepoint alone: the other users stay done.
 * One fsync per group instead of one per user; the caller flushes before it prints, prompts or
 * ends, so nothing is reported done before it is on disk.
 */
export interface GroupCommit {
  enter(): void;
  flush(): Promise<void>;
}

const GROUP_MAX = 500;
const GROUP_MS = 250;
const raw = (q: string) => CompiledQuery.raw(q);

/**
 * SQLite transactions start with BEGIN IMMEDIATE: a deferred BEGIN that later writes can fail
 * with SQLITE_BUSY at once (no busy wait) when another process (a worker, the CLI) writes too.
 */
class ImmediateSqliteDriver extends SqliteDriver implements GroupCommit {
  #grouping = false;
  /** The real transaction of a group, while one is open: when it began and how many it holds. */
  #open: { since: number; count: number } | null = null;

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#open && (!this.#grouping || this.#open.count >= GROUP_MAX || Date.now() - this.#open.since >= GROUP_MS)) await this.#commitGroup(connection);
    if (!this.#grouping) {
      await connection.executeQuery(raw('begin immediate'));
      return;
    }
    if (!this.#open) {
      await connection.executeQuery(raw('begin immediate'));
      this.#open = { since: Date.now(), count: 0 };
    }
    await connection.executeQuery(raw('savepoint dialin_group'));
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#open) return super.commitTransaction(connection);
    await connection.executeQuery(raw('release dialin_group'));
    this.#open.count++;
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#open) return super.rollbackTransaction(connection);
    await connection.executeQuery(raw('rollback to dialin_group'));
    await connection.executeQuery(raw('release dialin_group'));
  }

  async #commitGroup(connection: DatabaseConnection): Promise<void> {
    this.#open = null;
    try {
      await connection.executeQuery(raw('commit'));
    } catch (e) {
      await connection.executeQuery(raw('rollback')).catch(() => {});
      throw e;
    }
  }

  enter(): void {
    this.#grouping = true;
  }

  async flush(): Promise<void> {
    this.#grouping = false;
    if (!this.#open) return;
    const connection = await this.acquireConnection();
    try {
      if (this.#open) await this.#commitGroup(connection);
    } finally {
      await this.releaseConnection();
    }
  }

  override async destroy(): Promise<void> {
    // What a group holds was reported done to the script: it is committed, not dropped at close.
    await this.flush().catch(() => {});
    await super.destroy();
  }
}
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  driver: ImmediateSqliteDriver | null = null;
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    this.driver = new ImmediateSqliteDriver(this.#config);
    return this.driver;
  }
}

/**
 * Keeps the last prepared statements: kysely prepares every query again, and on short queries
 * (the bridge's PIN check) preparing costs more than running. Safe because the one connection is
 * used by one query at a time (kysely's mutex) and nothing streams with `iterate`.
 */
function withStatementCache(db: SqliteDatabase.Database, size = 256): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof db.prepare;
  return db;
}

/**
 * better-sqlite3's add-on where `npm ci` builds it, loaded once; left to better-sqlite3 (its
 * `bindings` lookup, which tries a dozen paths and reads a stack trace: milliseconds of every CLI
 * call) only when the add-on is elsewhere.
 */
let addonLoaded: object | undefined;
function sqliteAddon(): object | undefined {
  if (addonLoaded) return addonLoaded;
  const addon = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
  if (fs.existsSync(addon)) addonLoaded = require(addon) as object;
  return addonLoaded;
}

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'dialin.sqlite');
}

/** Opens the embedded SQLite database (WAL, synchronous=FULL) or PostgreSQL when a URL is given. */
export function openDb(opts: { dataDir: string; databaseUrl: string | null; poolSize?: number; log?: LogConfig }): Db {
  if (opts.databaseUrl) {
    // A bounded wait for a connection: a server that is down refuses at once (503); one that does
    // not answer fails after this. pg counts the wait in the pool's queue too, so it must outlast
    // a burst on a busy machine (200 PIN checks at once on 10 connections, CPUs shared).
    const pool = new (loadPg().Pool)({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, connectionTimeoutMillis: 15_000 });
    // An idle client losing its server (PostgreSQL restart) emits 'error'; without a handler
    // that would crash the process. The next query gets a fresh client.
    pool.on('error', () => {});
    // A client checked out of the pool has no listener of pg's: if the server dies between two
    // of its queries (kill -9, `pg_ctl stop -m immediate`), its 'error' event crashed the process.
    // The query that follows fails instead (and the pool drops the client).
    pool.on('connect', (client) => client.on('error', () => {}));
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: opts.log });
    const skippableWrite = async (fn: (trx: Kysely<Database>) => Promise<void>) => {
      try {
        await kysely.transaction().execute(async (trx) => {
          // No wait for the WAL flush nor for a row another transaction holds (55P03: skipped).
          await sql`set local synchronous_commit = off`.execute(trx);
          await sql`set local lock_timeout = '20ms'`.execute(trx);
          await fn(trx);
        });
        return true;
      } catch (e) {
        if ((e as { code?: unknown }).code === '55P03') return false;
        throw e;
      }
    };
    return { kysely, dialect: 'postgres', location: redactUrl(opts.databaseUrl), close: () => kysely.destroy(), skippableWrite };
  }
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = sqliteFile(opts.dataDir);
  const connect = (pragmas: { synchronous: 'FULL' | 'NORMAL'; busyTimeout: number; autoCheckpoint?: false }) => async () => {
    // The options' type has the add-on's path only; better-sqlite3 takes the add-on itself too.
    const d = new SqliteDatabase(file, { nativeBinding: sqliteAddon() as string | undefined });
    d.pragma('journal_mode = WAL');
    d.pragma(`synchronous = ${pragmas.synchronous}`);
    d.pragma('foreign_keys = ON');
    d.pragma(`busy_timeout = ${pragmas.busyTimeout}`);
    if (pragmas.autoCheckpoint === false) d.pragma('wal_autocheckpoint = 0');
    // 32 MB of page cache: bulk runs over 100,000s of users re-read index pages otherwise.
    d.pragma('cache_size = -32768');
    return withStatementCache(d);
  };
  // FULL: a commit is on disk before we answer, so "done" means durable (reliability.md §1.4).
  const dialect = new ImmediateSqliteDialect({ database: connect({ synchronous: 'FULL', busyTimeout: 10_000 }) });
  const kysely = new Kysely<Database>({ log: opts.log, dialect });
  // The driver is made when Kysely is constructed; the group commit goes through it.
  const groupCommit: GroupCommit = { enter: () => dialect.driver?.enter(), flush: async () => dialect.driver?.flush() };
  // Skippable writes go through a connection of their own, opened when first needed: BEGIN
  // IMMEDIATE with no busy wait fails at once while another connection writes (better-sqlite3
  // would block the whole event loop waiting), and synchronous=NORMAL spares the fsync. Its commits
  // reach the disk with the next FULL commit of any connection (the WAL is one file, in order).
  let side: Kysely<Database> | null = null;
  const skippableWrite = async (fn: (trx: Kysely<Database>) => Promise<void>) => {
    // No checkpoint from this connection: a side commit that crosses the WAL's 1,000 pages would
    // checkpoint (and fsync the database) in the middle of a PIN check; the main connection's commits do it.
    side ??= new Kysely<Database>({ log: opts.log, dialect: new ImmediateSqliteDialect({ database: connect({ synchronous: 'NORMAL', busyTimeout: 0, autoCheckpoint: false }) }) });
    try {
      await side.transaction().execute(fn);
      return true;
    } catch (e) {
      if (String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return false;
      throw e;
    }
  };
  const close = async () => {
    await side?.destroy();
    await kysely.destroy();
  };
  return { kysely, dialect: 'sqlite', location: file, close, groupCommit, skippableWrite };
}

/** The migrations recorded as applied in the database, by name ([] for a new database). One query. */
export async function appliedMigrations(db: Db): Promise<string[]> {
  try {
    return (await sql<{ name: string }>`select name from dialin_migrations order by name`.execute(db.kysely)).rows.map((r) => r.name);
  } catch {
    return []; // a new database: no table yet
  }
}

/**
 * What `dialin migrate --dry-run` lists: the migrations of this code not applied yet, in the order
 * they would run. A database with a migration this code does not know was written by a newer
 * dialin: refused (SCHEMA_NEWER_THAN_CODE) before anything runs, here and in every start.
 */
export async function pendingMigrations(db: Db): Promise<{ applied: string[]; pending: string[] }> {
  const applied = await appliedMigrations(db);
  refuseNewerSchema(applied, Object.keys(MIGRATIONS), `The database ${db.location}`);
  const done = new Set(applied);
  // kysely's migrator runs them in name order.
  return { applied, pending: Object.keys(MIGRATIONS).filter((m) => !done.has(m)).sort() };
}

/** Applies pending migrations; PostgreSQL serialises concurrent starters with an advisory lock (kysely's migrator). */
export async function migrate(db: Db): Promise<MigrationResultSet> {
  // Every process start migrates; when every migration is recorded already (the usual case), one
  // query says so, without the migrator's lock and table introspection (most of a CLI call's time).
  // A downgrade says so plainly (kysely's own message is about a "corrupted" migration list).
  if ((await pendingMigrations(db)).pending.length === 0) return { results: [] };
  const migrator = new Migrator({
    db: db.kysely,
    // The migrations' modules are loaded here only, when one is to run.
    provider: { getMigrations: async () => Object.fromEntries(await Promise.all(Object.entries(MIGRATIONS).map(async ([name, load]) => [name, await load()] as const))) },
    migrationTableName: 'dialin_migrations',
    migrationLockTableName: 'dialin_migrations_lock',
    // Numbers are reserved per change and land in any order; each still runs once.
    allowUnorderedMigrations: true,
  });
  const res = await migrator.migrateToLatest();
  if (res.error) {
    throw new AppError('INTERNAL_ERROR', `Migration failed: ${res.error instanceof Error ? res.error.message : String(res.error)}`, { cause: res.error });
  }
  return res;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Refreshes the planner's statistics after a bulk load. PostgreSQL plans `sip IN (…)` lookups on
 * a freshly imported table as sequential scans until autovacuum gets round to it (seconds to
 * minutes later), which made the enable that follows an import ten times slower. SQLite plans
 * well enough without statistics, and ANALYZE there could change plans we rely on.
 */
export async function refreshStatistics(db: Db, tables: string[]): Promise<void> {
  if (db.dialect !== 'postgres') return;
  for (const t of tables) await sql`analyze ${sql.table(t)}`.execute(db.kysely);
}

/**
 * Whether a database error is a unique-index violation (of `index` when given): PostgreSQL's 23505
 * with the constraint's name, SQLite's SQLITE_CONSTRAINT_UNIQUE with the columns in its message.
 * Two transactions inserting the same key at once on PostgreSQL: the second one fails this way.
 */
export function isUniqueViolation(e: unknown, index?: { name: string; columns: string[] }): boolean {
  const err = e as { code?: unknown; constraint?: unknown; message?: unknown };
  if (err?.code === '23505') return !index || err.constraint === index.name;
  if (err?.code === 'SQLITE_CONSTRAINT_UNIQUE') return !index || index.columns.every((c) => String(err.message).includes(`.${c}`));
  return false;
}

/** Runs `fn` in a transaction. Every multi-statement change goes through here. */
export function inTransaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.kysely.transaction().execute(fn);
}
