import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPgDatabase } from '../../support/dialects.ts';
import { bridgeWithNumbers } from '../../support/fixtures.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createContext } from '../../../src/main/context.ts';
import type { AppContext, TenantScope } from '../../../src/app/context.ts';
import { ensureDefaultTenant, scopeOf } from '../../../src/app/tenants.ts';
import { createApiToken } from '../../../src/app/api-tokens.ts';
import { newUserRow } from '../../../src/app/users.ts';
import { runInBatches } from '../../../src/app/bulk.ts';
import { enableUsers } from '../../../src/app/enable-users.ts';
import { SmtpSink, type Received } from '../../mail/support/smtp-sink.ts';

/** Retry, lease and poll settings compressed so a fault run takes seconds, not hours. */
export const FAULT_TIMINGS: Record<string, string> = {
  DIALIN_RETRY_BASE_MS: '200',
  DIALIN_RETRY_MAX_MS: '2000',
  DIALIN_LEASE_MS: '4000',
  DIALIN_MAIL_POLL_MS: '100',
  DIALIN_SMTP_CONNECTIONS: '4',
  DIALIN_COMPOSE_THREADS: '0',
  // The bridge check's per-ID limit is an in-memory guard per process; the tests hit the lockout itself.
  DIALIN_VERIFY_ID_RATE: '100000',
  DIALIN_MAIL_FROM: '"Dial-in Conferencing" <noreply@dialin.contoso.com>',
};

/** The resources of a deployment before anything opened its database: what `dialin` processes get. */
export interface Prepared {
  sink: SmtpSink;
  env: Record<string, string>;
  release(): Promise<void>;
}

/**
 * A test relay, a PostgreSQL database (a fresh one on the machine's server, or the given URL)
 * left empty, a data directory and the environment pointing at them.
 */
export async function prepareDeployment(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<Prepared> {
  const sink = await SmtpSink.start();
  const pgdb = opts.databaseUrl ? null : await createPgDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-faults-'));
  return {
    sink,
    env: {
      DIALIN_DATA_DIR: dataDir,
      DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
      DIALIN_PUBLIC_URL: 'https://dialin.test.example',
      DATABASE_URL: opts.databaseUrl ?? pgdb!.url,
      DIALIN_SMTP_URL: sink.url,
      ...FAULT_TIMINGS,
      ...opts.env,
    },
    async release() {
      await sink.stop();
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A deployment for multi-process tests: the prepared resources, plus an in-process context on the
 * same database (migrated) for the test's own setup and checks, a bridge with numbers, and API
 * tokens for an admin and a bridge.
 */
export interface Deployment {
  ctx: AppContext;
  scope: TenantScope;
  sink: SmtpSink;
  env: Record<string, string>;
  adminToken: string;
  bridgeToken: string;
  cleanup(): Promise<void>;
}

export async function openDeployment(p: Prepared): Promise<Deployment> {
  const ctx = await createContext(loadConfig(p.env), { actor: 'test' });
  const scope = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await bridgeWithNumbers(scope, 'Conference Bridge', '+14255550100', ['tf:+18005550199']);
  return {
    ctx,
    scope,
    sink: p.sink,
    env: p.env,
    adminToken: (await createApiToken(scope, { role: 'admin', name: 'fault test admin' })).token,
    bridgeToken: (await createApiToken(scope, { role: 'bridge', name: 'fault test bridge' })).token,
    async cleanup() {
      await ctx.db.close();
      await p.release();
    },
  };
}

export async function deployment(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<Deployment> {
  return openDeployment(await prepareDeployment(opts));
}

/**
 * Adds `n` users `PREFIXi@contoso.com` and enables them in batches of 1,000: each gets a PIN and a
 * welcome mail in the outbox (committed with a NOTIFY, as any process writing mail does).
 * Returns the users' result outputs (conference ID and PIN) when `n` is small enough to keep.
 */
export async function enableMany(s: TenantScope, prefix: string, n: number): Promise<{ sip: string; conferenceId: string; pin: string }[]> {
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => newUserRow(s, { UserUri: `${prefix}${i}@contoso.com`, DisplayName: `${prefix} ${i}` }, now));
  for (let i = 0; i < rows.length; i += 500) await s.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();
  const out: { sip: string; conferenceId: string; pin: string }[] = [];
  await runInBatches(s, rows.map((r) => r.sip), enableUsers(s, { bridge: {}, returnPin: n <= 1000 }), {
    batchSize: 1000,
    onResult: (r) => {
      if (n <= 1000 && r.output) out.push({ sip: r.user!, conferenceId: r.output.ConferenceId as string, pin: r.output.LeaderPin as string });
    },
  });
  return out;
}

/** How many times each Message-ID reached the relay. */
export function deliveries(received: Received[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.messageId!, (counts.get(r.messageId!) ?? 0) + 1);
  return counts;
}

/** Outbox rows by status. */
export async function statusCounts(ctx: AppContext): Promise<Record<string, number>> {
  const rows = await ctx.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
