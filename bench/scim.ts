/**
 * `npm run bench -- scim [--users N] [--clients C] [--dialects sqlite,postgres]`
 *
 * SCIM provisioning over real HTTP (`dialin serve` in this process, its delivery worker off):
 * N users (default 10,000) created by C concurrent clients (default 4) with POST /scim/v2/Users,
 * as Entra ID or Okta push them; creates/s and latency percentiles. Then one group PATCH adding
 * all N as members of the licence group (`--licence-group`): every one enabled, N welcome mails
 * queued, in one transaction. The baseline measured in the same run: the same N people created
 * through the REST API (POST /api/v1/users) by the same clients.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createPgDatabase } from '../test/support/dialects.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import { newBridge } from '../src/app/bridges.ts';
import { createApiToken } from '../src/app/api-tokens.ts';
import { configureScim } from '../src/app/scim-licence.ts';
import { serve } from '../src/main/serve.ts';
import type { Goal, ScenarioReport } from './report.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const fmt = (n: number) => n.toLocaleString('en');

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** `n` requests from `clients` closed-loop clients; each latency in ms, and the wall time. */
async function drive(n: number, clients: number, send: (i: number) => Promise<Response>, ok: number): Promise<{ seconds: number; ms: number[]; failures: number; ids: string[] }> {
  const ms: number[] = [];
  const ids: string[] = new Array(n);
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = performance.now();
        const r = await send(i);
        const body = (await r.json()) as { id?: string; Identity?: string };
        ms.push(performance.now() - t);
        if (r.status !== ok) failures++;
        else ids[i] = body.id ?? body.Identity ?? '';
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, ms: ms.sort((a, b) => a - b), failures, ids };
}

export async function run(args: string[]): Promise<ScenarioReport> {
  const n = Number(opt(args, 'users', '10000'));
  const clients = Number(opt(args, 'clients', '4'));
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-scim-'));
  const rows: string[][] = [];
  const goals: Goal[] = [];
  for (const dialect of dialects) {
    const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
    const env: Record<string, string> = { DIALIN_DATA_DIR: path.join(dir, dialect), DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'), DIALIN_LOG_LEVEL: 'warn', PORT: '0', ...(pgdb ? { DATABASE_URL: pgdb.url } : {}) };
    try {
      const config = loadConfig(env);
      const server = await serve(config, { worker: false, log: pino({ level: 'warn' }) });
      const ctx = await createContext(config, { actor: 'bench' });
      const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
      await newBridge(s, { name: 'Conference Bridge' });
      await configureScim(s, { licenceGroup: 'Dial-in users' });
      const scimToken = (await createApiToken(s, { role: 'scim', name: 'bench scim' })).token;
      const adminToken = (await createApiToken(s, { role: 'admin', name: 'bench admin' })).token;
      const url = server.url.replace(/\/$/, '');
      const post = (p: string, token: string, body: unknown, type = 'application/scim+json') => fetch(`${url}${p}`, { method: p.includes('Groups/') ? 'PATCH' : 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: JSON.stringify(body) });

      console.log(`scim (${dialect}): ${fmt(n)} creates by ${clients} clients…`);
      const created = await drive(n, clients, (i) => post('/scim/v2/Users', scimToken, { schemas: [USER, ENTERPRISE], userName: `scim.user${i}@contoso.com`, externalId: `ext-${i}`, active: true, name: { givenName: 'Scim', familyName: `User ${i}` }, displayName: `Scim User ${i}`, emails: [{ value: `scim.user${i}@contoso.com`, type: 'work', primary: true }], preferredLanguage: i % 3 ? 'en-US' : 'fr-FR', [ENTERPRISE]: { department: 'Sales', employeeNumber: String(i) } }), 201);
      console.log(`scim (${dialect}): baseline, ${fmt(n)} creates through the REST API…`);
      const baseline = await drive(n, clients, (i) => post('/api/v1/users', adminToken, { UserUri: `rest.user${i}@contoso.com`, DisplayName: `Rest User ${i}`, EmailAddress: `rest.user${i}@contoso.com` }, 'application/json'), 201);

      console.log(`scim (${dialect}): one PATCH adding ${fmt(n)} members to the licence group…`);
      const g = (await (await post('/scim/v2/Groups', scimToken, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Dial-in users' })).json()) as { id: string };
      const t0 = performance.now();
      const pr = await post(`/scim/v2/Groups/${g.id}`, scimToken, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Add', path: 'members', value: created.ids.filter(Boolean).map((value) => ({ value })) }] });
      const patchSeconds = (performance.now() - t0) / 1000;
      if (pr.status !== 204) throw new Error(`group PATCH answered ${pr.status}: ${(await pr.text()).slice(0, 300)}`);
      const enabled = Number((await ctx.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('source', '=', 'scim').where('dialin_enabled', '=', 1).executeTakeFirstOrThrow()).n);
      const welcomes = Number((await ctx.db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', 'welcome').executeTakeFirstOrThrow()).n);
      await ctx.db.close();
      await server.close();

      const rate = n / created.seconds;
      const p99 = pct(created.ms, 99);
      rows.push([dialect, `${rate.toFixed(0)}/s`, `${pct(created.ms, 50).toFixed(1)} / ${pct(created.ms, 90).toFixed(1)} / ${p99.toFixed(1)} ms`, String(created.failures), `${(n / baseline.seconds).toFixed(0)}/s (p99 ${pct(baseline.ms, 99).toFixed(1)} ms)`, `${patchSeconds.toFixed(1)} s (${fmt(enabled)} enabled, ${fmt(welcomes)} welcomes)`]);
      if (dialect === 'sqlite') goals.push({ goal: `${fmt(n)} SCIM creates by ${clients} clients ≥ 1,000/s on SQLite, p99 ≤ 50 ms`, measured: `${rate.toFixed(0)}/s, p99 ${p99.toFixed(1)} ms`, met: rate >= 1000 && p99 <= 50 });
      else goals.push({ goal: `${fmt(n)} SCIM creates by ${clients} clients ≥ 500/s on PostgreSQL`, measured: `${rate.toFixed(0)}/s`, met: rate >= 500 });
      goals.push({ goal: `a group PATCH adding ${fmt(n)} members (licence for all) ≤ 20 s (${dialect})`, measured: `${patchSeconds.toFixed(1)} s`, met: patchSeconds <= 20 && enabled === n });
    } finally {
      await pgdb?.drop();
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`\nSCIM over HTTP: ${fmt(n)} POST /scim/v2/Users by ${clients} clients, then one group PATCH adding them all to the licence group`);
  const head = ['dialect', 'SCIM creates', 'p50 / p90 / p99', 'failed', 'baseline: POST /api/v1/users', 'group PATCH (enable + welcome each)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  return { goals };
}
