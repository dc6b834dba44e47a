/**
 * `npm run bench -- web [--users N] [--outbox M] [--enabled E] [--repeat R] [--dialects sqlite,postgres]`
 *
 * The admin center at scale (issue 16): N users (default 100,000, E of them enabled, default
 * 10,000) and M outbox rows (default 1,000,000, over the last 30 days, every status and kind),
 * then the users list (several filters, a sort, a second page by its keyset link), the Mail page
 * (filters and a recipient search) and the dashboard, each asked R times (default 20) by a
 * signed-in administrator through the real app (fastify's inject: routing, session, page
 * rendering, no socket). Prints p50/p95 per page; the baseline in the same run is the health
 * route (/healthz), the cheapest answer the same app gives.
 */
import { sql } from 'kysely';
import { testEnv } from '../test/support/dialects.ts';
import { appFor, signIn } from '../test/http/harness.ts';
import { insertOutboxRows, type OutboxSeed } from '../test/support/outbox-rows.ts';
import { runBackfills } from '../src/adapters/db/backfills.ts';
import { runInBatches } from '../src/app/bulk.ts';
import { importUsers } from '../src/app/import-users.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';
import type { Goal, ScenarioReport } from './report.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const STATUSES = ['sent', 'sent', 'sent', 'sent', 'sent', 'sent', 'failed', 'bounced', 'queued', 'superseded'];
const KINDS = ['welcome', 'pin_changed', 'info_changed', 'conference_info', 'turned_off'];

export async function run(args: string[]): Promise<ScenarioReport> {
  const n = Number(opt(args, 'users', '100000'));
  const m = Number(opt(args, 'outbox', '1000000'));
  const enabled = Math.min(n, Number(opt(args, 'enabled', '10000')));
  const repeat = Number(opt(args, 'repeat', '20'));
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const goals: Goal[] = [];
  const rows: string[][] = [];
  for (const dialect of dialects) {
    const t = await testEnv(dialect as 'sqlite' | 'postgres', { DIALIN_LOG_LEVEL: 'warn' });
    try {
      const s = t.scope;
      const t0 = performance.now();
      await newBridge(s, { name: 'Conference Bridge' });
      await registerServiceNumber(s, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
      await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
      async function* records() {
        for (let i = 0; i < n; i++) yield { line: i + 2, fields: { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, EmailAddress: `user${i}@contoso.com`, Language: i % 3 ? 'en-US' : 'fr-FR' } };
      }
      await importUsers(s, records(), { skipInvalid: false });
      const ids = (await t.ctx.db.kysely.selectFrom('users').select('sip').where('tenant_id', '=', s.tenant.id).orderBy('sip').limit(enabled).execute()).map((u) => u.sip);
      await runInBatches(s, ids, enableUsers(s, { bridge: {} }), { batchSize: 1000 });
      const now = Date.now();
      // Each mail is a user's, so the list's last-mail column and filters meet real rows.
      const userOf = new Map((await t.ctx.db.kysely.selectFrom('users').select(['id', 'sip']).where('tenant_id', '=', s.tenant.id).execute()).map((u) => [u.sip, u.id]));
      for (let i = 0; i < m; i += 20_000) {
        const chunk: OutboxSeed[] = [];
        for (let k = i; k < Math.min(m, i + 20_000); k++) chunk.push({ tenant_id: s.tenant.id, user_id: userOf.get(`sip:user${k % n}@contoso.com`) ?? null, kind: KINDS[k % KINDS.length]!, recipient: `user${k % n}@contoso.com`, status: STATUSES[k % STATUSES.length]!, created_at: now - Math.floor((k / m) * 30 * 86_400_000) });
        await insertOutboxRows(t.ctx.db, chunk);
      }
      // Seeded past the outbox's insert, as by a version before 0029: what `dialin migrate` does after an upgrade.
      await runBackfills(t.ctx.db);
      // The test server runs PostgreSQL with autovacuum off; a real one would have analysed the tables by now.
      if (dialect === 'postgres') await sql`vacuum analyze`.execute(t.ctx.db.kysely);
      console.log(`${dialect}: ${fmt(n)} users (${fmt(enabled)} enabled), ${fmt(m)} outbox rows, seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s…`);

      // A clock the bench moves on, to meet the dashboard's figures stale (past the minute, past midnight).
      let skew = 0;
      const app = await appFor(t, { now: () => Date.now() + skew });
      try {
        let admin = await signIn(app, s, 'admin@contoso.com', 'admin');
        const get = async (url: string) => {
          // Between two requests a real server's event loop turns (its sockets are I/O); inject's are
          // promises only, which would starve what the app runs in the background (setImmediate).
          await new Promise<void>((resolve) => setImmediate(resolve));
          const c0 = performance.now();
          const res = await app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
          const ms = performance.now() - c0;
          if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
          return { ms, body: res.body };
        };
        const first = await get('/admin/users?state=disabled');
        const next = /<a[^>]*href="([^"]*after=[^"]*)"/.exec(first.body)?.[1]?.replace(/&amp;/g, '&') ?? null;
        const pages: { group: 'users' | 'mail' | 'dashboard' | 'baseline'; url: string }[] = [
          { group: 'baseline', url: '/healthz' },
          ...['', '?state=enabled', '?state=disabled', '?pin=notset', '?mail=never', '?mail=failed', '?language=fr-FR', '?q=user4242', '?sort=name&dir=desc', '?source=csv'].map((q) => ({ group: 'users' as const, url: `/admin/users${q}` })),
          ...(next ? [{ group: 'users' as const, url: next }] : []),
          ...['', '?status=failed', '?status=bounced', '?kind=welcome', '?q=user4242', '?status=queued&kind=pin_changed'].map((q) => ({ group: 'mail' as const, url: `/admin/mail${q}` })),
          { group: 'dashboard', url: '/admin/dashboard' },
        ];
        const byGroup = new Map<string, number[]>();
        for (const p of pages) {
          const ms: number[] = [];
          const warm = await get(p.url); // warm-up
          // The dashboard's days before today were counted as the app started, in the background.
          if (p.group === 'dashboard') rows.push([dialect, `${p.url} (first request after the start)`, `${warm.ms.toFixed(1)} ms`, '']);
          for (let r = 0; r < repeat; r++) ms.push((await get(p.url)).ms);
          if (p.group === 'dashboard') {
            // Past the minute: the kept figures are served and counted again behind the requests, which
            // all count here; then past midnight (the day that ended counted on the spot).
            for (const [label, to] of [['past the minute', skew + 61_000], ['past midnight', Math.ceil((Date.now() + skew) / 86_400_000) * 86_400_000 + 1000 - Date.now()]] as const) {
              skew = to;
              // Hours later the session has ended: a new one (its sign-in is not measured).
              if (label === 'past midnight') admin = await signIn(app, s, 'night@contoso.com', 'admin');
              const stale: number[] = [];
              for (let r = 0; r < repeat; r++) stale.push((await get(p.url)).ms);
              rows.push([dialect, `${p.url} (${label}: first request ${stale[0]!.toFixed(1)} ms)`, `${percentile(stale, 50).toFixed(1)} ms`, `${percentile(stale, 95).toFixed(1)} ms`]);
              ms.push(...stale);
            }
          }
          byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), ...ms]);
          rows.push([dialect, p.url.replace(/after=[^&]+/, 'after=… (the next page)'), `${percentile(ms, 50).toFixed(1)} ms`, `${percentile(ms, 95).toFixed(1)} ms`]);
        }
        const p95 = (g: string) => percentile(byGroup.get(g) ?? [], 95);
        goals.push(
          { goal: `web: users list, any filter and page, p95 ≤ 150 ms at ${fmt(n)} users (${dialect})`, measured: `${p95('users').toFixed(1)} ms`, met: p95('users') <= 150 },
          { goal: `web: Mail page p95 ≤ 150 ms at ${fmt(m)} outbox rows (${dialect})`, measured: `${p95('mail').toFixed(1)} ms`, met: p95('mail') <= 150 },
          { goal: `web: dashboard p95 ≤ 300 ms (${dialect})`, measured: `${p95('dashboard').toFixed(1)} ms`, met: p95('dashboard') <= 300 },
        );
      } finally {
        await app.close();
      }
    } finally {
      await t.cleanup();
    }
  }
  console.log(`\nadmin center pages, ${repeat} requests each after a warm-up (baseline: /healthz of the same app)`);
  const head = ['dialect', 'page', 'p50', 'p95'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  return { goals };
}
