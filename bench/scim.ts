/**
 * `npm run bench -- scim [--users N] [--clients C] [--dialects sqlite,postgres]`
 *
 * SCIM provisioning over real HTTP (`dialin serve` in this process, its delivery worker off):
 * N users (default 10,000) created by C concurrent clients (default 4, keep-alive connections from
 * another process: bench/http-load.ts) with POST /scim/v2/Users, as Entra ID or Okta push them; creates/s and latency percentiles. Then one group PATCH adding
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
import { runHttpLoad } from './http-load-run.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const fmt = (n: number) => n.toLocaleString('en');

/**
 * Each body POSTed once by `clients` closed-loop keep-alive connections from another process
 * (bench/http-load.ts), as an identity provider's connections would come: the clients' own CPU
 * is not the server's. The answers' `idField` values come back in the bodies' order.
 */
async function drive(o: { port: number; path: string; token: string; contentType: string; idField: string; bodies: string[]; clients: number; dir: string }, ok: number): Promise<{ seconds: number; p50: number; p90: number; p99: number; failures: number; ids: string[] }> {
  const bodiesFile = path.join(o.dir, 'bodies.jsonl');
  fs.writeFileSync(bodiesFile, o.bodies.join('\n'));
  const r = await runHttpLoad({ port: o.port, token: o.token, bodiesFile, connections: o.clients, path: o.path, once: true, contentType: o.contentType, idField: o.idField });
  return { seconds: r.seconds, p50: r.p50, p90: r.p90, p99: r.p99, failures: o.bodies.length - (r.statuses[String(ok)] ?? 0), ids: r.ids ?? [] };
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
      const port = Number(new URL(url).port);
      const scimBody = (i: number) => JSON.stringify({ schemas: [USER, ENTERPRISE], userName: `scim.user${i}@contoso.com`, externalId: `ext-${i}`, active: true, name: { givenName: 'Scim', familyName: `User ${i}` }, displayName: `Scim User ${i}`, emails: [{ value: `scim.user${i}@contoso.com`, type: 'work', primary: true }], preferredLanguage: i % 3 ? 'en-US' : 'fr-FR', [ENTERPRISE]: { department: 'Sales', employeeNumber: String(i) } });
      const created = await drive({ port, path: '/scim/v2/Users', token: scimToken, contentType: 'application/scim+json', idField: 'id', bodies: Array.from({ length: n }, (_, i) => scimBody(i)), clients, dir }, 201);
      console.log(`scim (${dialect}): baseline, ${fmt(n)} creates through the REST API…`);
      const baseline = await drive({ port, path: '/api/v1/users', token: adminToken, contentType: 'application/json', idField: 'Identity', bodies: Array.from({ length: n }, (_, i) => JSON.stringify({ UserUri: `rest.user${i}@contoso.com`, DisplayName: `Rest User ${i}`, EmailAddress: `rest.user${i}@contoso.com` })), clients, dir }, 201);

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
      const p99 = created.p99;
      rows.push([dialect, `${rate.toFixed(0)}/s`, `${created.p50.toFixed(1)} / ${created.p90.toFixed(1)} / ${p99.toFixed(1)} ms`, String(created.failures), `${(n / baseline.seconds).toFixed(0)}/s (p99 ${baseline.p99.toFixed(1)} ms)`, `${patchSeconds.toFixed(1)} s (${fmt(enabled)} enabled, ${fmt(welcomes)} welcomes)`]);
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
