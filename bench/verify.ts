/**
 * `npm run bench -- verify [--users N] [--seconds S] [--connections C] [--dialects sqlite,postgres] [--wrong F] [--worker]`
 *
 * The bridge's PIN check over HTTP while the outbox holds a mail backlog: N users are imported
 * and enabled (N welcome mails queued, default 100,000), then `dialin serve` (this process,
 * without the delivery worker unless --worker) answers POST /api/v1/bridge/verify from a load
 * generator in another process (bench/http-load.ts: C keep-alive connections, closed loop).
 * A fraction F of the checks use a wrong PIN (each one a durable lockout-counter write).
 * Prints checks/s and latency percentiles; the baseline measured in the same run is the same
 * check called in-process without HTTP.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pino from 'pino';
import { createPgDatabase } from '../test/support/dialects.ts';
import { ROOT } from '../test/support/cli.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import { runInBatches } from '../src/app/bulk.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { importUsers } from '../src/app/import-users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';
import { verifyLeaderPin } from '../src/app/pins.ts';
import { createApiToken } from '../src/app/api-tokens.ts';
import { serve } from '../src/main/serve.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

interface Load {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Imports and enables `n` users; returns each one's conference ID and PIN (kept only in this process). */
async function seed(env: Record<string, string>, n: number): Promise<{ cid: string; pin: string }[]> {
  const ctx = await createContext(loadConfig(env), { actor: 'bench' });
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await newBridge(s, { name: 'Conference Bridge' });
  await registerServiceNumber(s, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
  await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
  async function* records() {
    for (let i = 0; i < n; i++) yield { line: i + 2, fields: { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, EmailAddress: `user${i}@contoso.com`, Language: i % 3 ? 'en' : 'fr' } };
  }
  await importUsers(s, records(), { skipInvalid: false });
  const out: { cid: string; pin: string }[] = [];
  const ids = Array.from({ length: n }, (_, i) => `sip:user${i}@contoso.com`);
  await runInBatches(s, ids, enableUsers(s, { bridge: {}, returnPin: true }), { batchSize: 1000, onResult: (r) => out.push({ cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string }) });
  // Baseline: the same check in-process, without HTTP, on a sample.
  const sample = out.slice(0, 2000);
  const t0 = performance.now();
  for (const u of sample) await verifyLeaderPin(s, u.cid, u.pin);
  const inProcess = sample.length / ((performance.now() - t0) / 1000);
  await ctx.db.close();
  return Object.assign(out, { inProcess });
}

async function load(opts: { port: number; token: string; bodiesFile: string; connections: number; seconds: number }): Promise<Load> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/http-load.ts'), JSON.stringify({ ...opts, warmupSeconds: 2, path: '/api/v1/bridge/verify' })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await once(child, 'close');
  return JSON.parse(out) as Load;
}

export async function run(args: string[]): Promise<void> {
  const n = Number(opt(args, 'users', '100000'));
  const seconds = Number(opt(args, 'seconds', '10'));
  const connections = Number(opt(args, 'connections', '32'));
  const wrong = Number(opt(args, 'wrong', '0'));
  const worker = args.includes('--worker');
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-verify-'));
  const rows: string[][] = [];
  for (const dialect of dialects) {
    const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
    const env: Record<string, string> = {
      DIALIN_DATA_DIR: path.join(dir, dialect),
      DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
      DIALIN_LOG_LEVEL: 'warn',
      // One bridge token carries the whole load; the per-conference-ID limit stays at its default.
      DIALIN_VERIFY_TOKEN_RATE: '1000000',
      ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
    };
    try {
      console.log(`verify (${dialect}): importing and enabling ${n.toLocaleString('en')} users (welcome mails queued)…`);
      const users = await seed(env, n);
      const bodies = path.join(dir, `${dialect}-bodies.txt`);
      // Shuffled, so consecutive checks hit different users and pages; a fraction with a wrong PIN.
      const lines = users.map((u, i) => JSON.stringify({ conferenceId: u.cid, pin: i % 1000 < wrong * 1000 ? (u.pin === '13579' ? '97531' : '13579') : u.pin }));
      for (let i = lines.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      }
      fs.writeFileSync(bodies, `${lines.join('\n')}\n`);
      const config = loadConfig({ ...env, PORT: '0' });
      const server = await serve(config, { worker, log: pino({ level: 'warn' }) });
      const ctx = await createContext(config, { actor: 'bench' });
      const { token } = await createApiToken(scopeOf(ctx, await ensureDefaultTenant(ctx)), { role: 'bridge', name: 'bench' });
      const backlog = Number((await ctx.db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'queued').executeTakeFirstOrThrow()).n);
      await ctx.db.close();
      const port = Number(new URL(server.url).port);
      const r = await load({ port, token, bodiesFile: bodies, connections, seconds });
      await server.close();
      const rate = r.requests / r.seconds;
      rows.push([
        dialect,
        backlog.toLocaleString('en'),
        `${rate.toFixed(0)}/s`,
        `${r.p50.toFixed(1)} / ${r.p90.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(0)} ms`,
        Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(', '),
        `${(users as unknown as { inProcess: number }).inProcess.toFixed(0)}/s`,
      ]);
    } finally {
      await pgdb?.drop();
    }
  }
  console.log(`\nbridge PIN checks over HTTP, ${connections} connections, ${seconds} s, ${(wrong * 100).toFixed(0)}% wrong PINs, worker ${worker ? 'on' : 'off'} (goal: ≥ 5,000/s, p99 ≤ 20 ms)`);
  const head = ['dialect', 'queued mails', 'checks/s', 'p50 / p90 / p99 / max', 'statuses', 'baseline: in-process, no HTTP'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (x: string[]) => `| ${x.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  fs.rmSync(dir, { recursive: true, force: true });
}
