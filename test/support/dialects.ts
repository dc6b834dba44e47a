import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createContext } from '../../src/main/context.ts';
import type { AppContext, TenantScope } from '../../src/app/context.ts';
import { ensureDefaultTenant, scopeOf } from '../../src/app/tenants.ts';
import type { Dialect } from '../../src/adapters/db/database.ts';

/** The dialects integration tests loop over; DIALIN_TEST_DIALECTS=sqlite runs one. */
export const DIALECTS: Dialect[] = (process.env.DIALIN_TEST_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim() as Dialect);

/** Admin connection used to create and drop the per-test databases. */
export const PG_ADMIN_URL = process.env.DIALIN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestEnv {
  dialect: Dialect;
  dataDir: string;
  /** Environment for a `dialin` subprocess that uses the same database and keys. */
  env: Record<string, string>;
  config: Readonly<Config>;
  ctx: AppContext;
  scope: TenantScope;
  cleanup(): Promise<void>;
}

/** Creates an empty PostgreSQL database of its own and returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dialin_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A fresh, migrated database of the dialect, a temp data dir, and a context on the default tenant. */
export async function testEnv(dialect: Dialect, extraEnv: Record<string, string> = {}): Promise<TestEnv> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-test-'));
  const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
  const env: Record<string, string> = {
    DIALIN_DATA_DIR: dataDir,
    DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
    DIALIN_PUBLIC_URL: 'https://dialin.test.example',
    ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
    ...extraEnv,
  };
  const config = loadConfig(env);
  const ctx = await createContext(config, { actor: 'test' });
  const scope = scopeOf(ctx, await ensureDefaultTenant(ctx));
  return {
    dialect,
    dataDir,
    env,
    config,
    ctx,
    scope,
    async cleanup() {
      await ctx.db.close();
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
