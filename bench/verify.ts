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
 *
 * Then, on the same server (issue 10, defect 6), the time of an answer must not tell a real
 * conference ID or a known address: P pairs (--pairs, default 300) of a wrong-PIN check for a
 * real conference ID and for an unknown one, and of a sign-in-link request for a known and an
 * unknown address, one request at a time from another process (bench/paired-latency.ts); it
 * prints both medians side by side with their difference (goal: < 1 ms apart).
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
import { runHttpLoad } from './http-load-run.ts';
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
import { dammCheckDigit } from '../src/core/conference-id.ts';
import type { Goal, ScenarioReport } from './report.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

/** Imports and enables `n` users; returns each one's conference ID and PIN (kept only in this process). */
async function seed(env: Record<string, string>, n: number): Promise<{ email: string; cid: string; pin: string }[]> {
  const ctx = await createContext(loadConfig(env), { actor: 'bench' });
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await newBridge(s, { name: 'Conference Bridge' });
  await registerServiceNumber(s, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
  await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
  async function* records() {
    for (let i = 0; i < n; i++) yield { line: i + 2, fields: { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, EmailAddress: `user${i}@contoso.com`, Language: i % 3 ? 'en' : 'fr' } };
  }
  await importUsers(s, records(), { skipInvalid: false });
  const out: { email: string; cid: string; pin: string }[] = [];
  const ids = Array.from({ length: n }, (_, i) => `sip:user${i}@contoso.com`);
  await runInBatches(s, ids, enableUsers(s, { bridge: {}, returnPin: true }), { batchSize: 1000, onResult: (r) => out.push({ email: r.user!.replace(/^sip:/, ''), cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string }) });
  // Baseline: the same check in-process, without HTTP, on a sample.
  const sample = out.slice(0, 2000);
  const t0 = performance.now();
  for (const u of sample) await verifyLeaderPin(s, u.cid, u.pin);
  const inProcess = sample.length / ((performance.now() - t0) / 1000);
  await ctx.db.close();
  return Object.assign(out, { inProcess });
}

const load = (opts: { port: number; token: string; bodiesFile: string; connections: number; seconds: number }) => runHttpLoad({ ...opts, warmupSeconds: 2, path: '/api/v1/bridge/verify' });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A well-formed conference ID (Damm check digit) as long as `like`, that nobody has. */
function unknownConferenceId(like: string, taken: Set<string>): string {
  for (;;) {
    const body = String(crypto.randomInt(10 ** (like.length - 2), 10 ** (like.length - 1)));
    const id = body + String(dammCheckDigit(body));
    if (!taken.has(id)) return id;
  }
}

const raw = (path: string, headers: Record<string, string>, body: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

interface Side {
  ms: number[];
  statuses: Record<string, number>;
}

/**
 * The same-work check: pairs of requests (a real and an unknown conference ID with a wrong PIN;
 * a known and an unknown address asking for a sign-in link), each pair in a random order, sent one
 * at a time by another process. Returns one table row per request kind, and its goal.
 */
async function sameWork(dialect: string, port: number, token: string, users: { email: string; cid: string; pin: string }[], taken: Set<string>, dir: string): Promise<{ rows: string[][]; goals: Goal[] }> {
  const lines: string[] = [];
  const pair = (a: object, b: object) => lines.push(...(crypto.randomInt(2) ? [a, b] : [b, a]).map((x) => JSON.stringify(x)));
  users.forEach((u) => {
    const wrong = u.pin === '13579' ? '97531' : '13579';
    const verify = (conferenceId: string) => raw('/api/v1/bridge/verify', { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, JSON.stringify({ conferenceId, pin: wrong }));
    pair({ kind: 'verify-real', request: verify(u.cid) }, { kind: 'verify-unknown', request: verify(unknownConferenceId(u.cid, taken)) });
  });
  users.forEach((u, i) => {
    // A client address of its own for each request: the page's per-client limit stays out of the way.
    const link = (email: string, n: number) => raw('/dialin/sign-in-link', { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': `10.${n >> 16 & 255}.${n >> 8 & 255}.${n & 255}` }, new URLSearchParams({ email }).toString());
    pair({ kind: 'link-known', request: link(u.email, 2 * i) }, { kind: 'link-unknown', request: link(`nobody${i}@contoso.com`, 2 * i + 1) });
  });
  const file = path.join(dir, `${dialect}-pairs.txt`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/paired-latency.ts'), JSON.stringify({ port, file, pauseMs: 20 })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await once(child, 'close');
  const r = JSON.parse(out) as Record<string, Side>;
  const statuses = (x: Side) => Object.entries(x.statuses).map(([k, v]) => `${k}: ${v}`).join(', ');
  const rows: string[][] = [];
  const goals: Goal[] = [];
  for (const [what, real, unknown, realName] of [
    ['POST /api/v1/bridge/verify, wrong PIN', r['verify-real']!, r['verify-unknown']!, 'conference ID'],
    ['POST /dialin/sign-in-link', r['link-known']!, r['link-unknown']!, 'address'],
  ] as const) {
    const a = median(real.ms);
    const b = median(unknown.ms);
    const diff = a - b;
    // Pairs ran back to back, so the median of their differences drifts less with the machine's load.
    const paired = median(real.ms.map((x, i) => x - unknown.ms[i]!));
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)} ms`;
    rows.push([dialect, what, `${a.toFixed(2)} ms`, `${b.toFixed(2)} ms`, signed(diff), signed(paired), `${statuses(real)} / ${statuses(unknown)}`]);
    goals.push({ goal: `${what}: medians for a real and an unknown ${realName} < 1 ms apart (${dialect})`, measured: `${a.toFixed(2)} vs ${b.toFixed(2)} ms (${Math.abs(diff).toFixed(2)} ms apart, ${real.ms.length} pairs)`, met: Math.abs(diff) < 1 });
  }
  return { rows, goals };
}

export async function run(args: string[]): Promise<ScenarioReport> {
  const n = Number(opt(args, 'users', '100000'));
  const seconds = Number(opt(args, 'seconds', '10'));
  const connections = Number(opt(args, 'connections', '32'));
  const wrong = Number(opt(args, 'wrong', '0'));
  const worker = args.includes('--worker');
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-verify-'));
  const pairs = Number(opt(args, 'pairs', '300'));
  const rows: string[][] = [];
  const sameRows: string[][] = [];
  const goals: Goal[] = [];
  for (const dialect of dialects) {
    const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
    const env: Record<string, string> = {
      DIALIN_DATA_DIR: path.join(dir, dialect),
      DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
      DIALIN_LOG_LEVEL: 'warn',
      // One bridge token carries the whole load; the per-conference-ID limit stays at its default.
      DIALIN_VERIFY_TOKEN_RATE: '1000000',
      // The same-work pairs give each sign-in-link request a client address of its own.
      DIALIN_TRUST_PROXY: 'true',
      ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
    };
    try {
      console.log(`verify (${dialect}): importing and enabling ${n.toLocaleString('en')} users (welcome mails queued)…`);
      const all = await seed(env, n);
      // The same-work pairs use users the load does not touch (no failures, no per-ID limit reached).
      const spared = all.slice(Math.max(Math.floor(all.length / 2), all.length - pairs));
      const users = Object.assign(all.slice(0, all.length - spared.length), { inProcess: (all as unknown as { inProcess: number }).inProcess });
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
      console.log(`verify (${dialect}): ${spared.length} pairs of wrong-PIN checks and of sign-in-link requests, one at a time…`);
      const same = await sameWork(dialect, port, token, spared, new Set(all.map((u) => u.cid)), dir);
      sameRows.push(...same.rows);
      goals.push(...same.goals);
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
  console.log(`\nthe same work for a real and an unknown conference ID or address: medians of ${pairs} pairs, one request at a time, over HTTP (goal: < 1 ms apart)`);
  const sameHead = ['dialect', 'request', 'real ID / known address', 'unknown', 'difference', 'median of pair differences', 'statuses (real / unknown)'];
  const sameWidths = sameHead.map((h, i) => Math.max(h.length, ...sameRows.map((x) => x[i]!.length)));
  const sameLine = (x: string[]) => `| ${x.map((c, i) => c.padEnd(sameWidths[i]!)).join(' | ')} |`;
  console.log([sameLine(sameHead), sameLine(sameWidths.map((w) => '-'.repeat(w))), ...sameRows.map(sameLine)].join('\n'));
  fs.rmSync(dir, { recursive: true, force: true });
  return { goals };
}
