import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { insertOutboxRows, type OutboxSeed } from '../support/outbox-rows.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import { appFor, otherTenant, signIn } from './harness.ts';
import { dashboard, dashboardCache } from '../../src/app/dashboard.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
// Noon and a half, 30 November 2026 (UTC): the last hour bucket is 12:00, the last day the 30th.
const NOW = Date.UTC(2026, 10, 30, 12, 30);

/** The rows of a chart's table: the row header, then the numbers. */
function table(body: string, id: string): string[][] {
  const t = new RegExp(`<table data-testid="${id}-table">[^]*?</table>`).exec(body)?.[0];
  assert.ok(t, `the table of ${id}`);
  return [...t.matchAll(/<tr><th scope="row">([^<]+)<\/th>((?:<td>[0-9]+<\/td>)+)<\/tr>/g)].map((m) => [m[1]!, ...[...m[2]!.matchAll(/<td>([0-9]+)<\/td>/g)].map((x) => x[1]!)]);
}

for (const dialect of DIALECTS) {
  describe(`admin center dashboard: delivery charts with their tables, enabled users, lockouts, directory sync, doctor checks (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: { cookie: string; csrf: string };
    const get = (url: string, cookie = admin.cookie) => app.inject({ method: 'GET', url, headers: { cookie } });

    before(async () => {
      t = await testEnv(dialect);
      const other = await otherTenant(t);
      const tid = t.scope.tenant.id;
      const rows: OutboxSeed[] = [];
      // This hour (12:00): 3 sent, 1 failed, 2 queued; 10:00: 1 bounced, 1 expired (failed), 1 delayed (sent).
      for (const status of ['sent', 'sent', 'sent', 'failed', 'queued', 'sending']) rows.push({ tenant_id: tid, kind: 'welcome', recipient: 'a@contoso.com', status, created_at: NOW - 10 * 60_000 });
      for (const status of ['bounced', 'expired', 'delayed', 'superseded']) rows.push({ tenant_id: tid, kind: 'info_changed', recipient: 'b@contoso.com', status, created_at: NOW - 2 * HOUR });
      // 25 hours ago: outside the 24 h chart, inside yesterday's day (29th, 11:30).
      rows.push({ tenant_id: tid, kind: 'welcome', recipient: 'c@contoso.com', status: 'sent', created_at: NOW - 25 * HOUR });
      // 40 days ago: in neither chart.
      rows.push({ tenant_id: tid, kind: 'welcome', recipient: 'd@contoso.com', status: 'failed', created_at: NOW - 40 * DAY });
      // Another tenant's mail in the same hour never counts here.
      for (let i = 0; i < 7; i++) rows.push({ tenant_id: other.tenant.id, kind: 'welcome', recipient: 'x@fabrikam.com', status: 'failed', created_at: NOW - 5 * 60_000 });
      await insertOutboxRows(t.ctx.db, rows);
      // Users: 5 enabled today (their enables audited at NOW), 2 of them on the 25th by an older audit row.
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      const sips = await addUsers({ ...t.scope, now: () => NOW }, 'user', 6);
      await enable({ ...t.scope, now: () => NOW }, sips.slice(0, 5));
      await t.ctx.db.kysely.updateTable('audit').set({ at: Date.UTC(2026, 10, 25, 9) }).where('action', '=', 'user.enable').where('target', 'in', sips.slice(0, 2)).execute();
      // Their welcome mails are not part of the charts' fixture.
      await t.ctx.db.kysely.deleteFrom('outbox').where('tenant_id', '=', tid).where('recipient', 'like', 'user%').execute();
      await t.ctx.db.kysely.updateTable('users').set({ pin_locked: 1 }).where('sip', '=', sips[0]!).execute();
      await t.ctx.db.kysely.insertInto('audit').values([0, 1, 2].map((i) => ({ id: `00000000-0000-7000-8000-00000000000${i}`, tenant_id: tid, at: NOW - i * DAY, actor: 'bridge', action: 'pin.lockout', target_user_id: null, target: null, details: '{}' }))).execute();
      await addDirectoryConnection(t.scope, { name: 'corp', url: 'ldaps://127.0.0.1:1', base: 'dc=contoso,dc=com' });
      // The app is made after the fixture: its first request counts the days before today (a listening server would have counted them in the background).
      app = await appFor(t, { now: () => NOW });
      admin = await signIn(app, t.scope, 'admin@contoso.com', 'admin');
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('is the administrators’ home; the helpdesk goes to the users', async () => {
      const home = await get('/admin');
      assert.equal(home.headers.location, '/admin/dashboard');
      const help = await signIn(app, t.scope, 'help@contoso.com', 'helpdesk');
      assert.equal((await get('/admin', help.cookie)).headers.location, '/admin/users');
      assert.equal((await get('/admin/dashboard', help.cookie)).statusCode, 403);
      assert.equal((await app.inject({ method: 'GET', url: '/admin/dashboard' })).statusCode, 302);
    });

    it('draws the last 24 hours hour by hour, and the table behind it holds the same numbers', async () => {
      const res = await get('/admin/dashboard');
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<svg class="chart" viewBox="0 0 720 200" role="img" aria-labelledby="chart-24h-t chart-24h-d"/);
      const rows = table(res.body, 'chart-24h');
      assert.equal(rows.length, 24);
      assert.deepEqual(rows[0], ['2026-11-29 13:00', '0', '0', '0', '0']);
      assert.deepEqual(rows[23], ['2026-11-30 12:00', '3', '1', '0', '2']);
      assert.deepEqual(rows[21], ['2026-11-30 10:00', '1', '1', '1', '0']);
      assert.equal(rows.reduce((a, r) => a + r.slice(1).reduce((b, v) => b + Number(v), 0), 0), 9);
      assert.match(res.body, /<desc id="chart-24h-d">Mail queued in the period by what became of it: 4 sent, 2 failed, 1 bounced, 2 still queued.<\/desc>/);
      // One bar segment per non-zero number, each with its own tooltip.
      const chart = /<svg[^>]*data-testid="chart-24h">[^]*?<\/svg>/.exec(res.body)![0];
      assert.equal((chart.match(/<rect /g) ?? []).length, 6);
      assert.match(chart, /<title>2026-11-30 12:00: Sent 3<\/title>/);
    });

    it('draws the last 30 days day by day', async () => {
      const rows = table((await get('/admin/dashboard')).body, 'chart-30d');
      assert.equal(rows.length, 30);
      assert.deepEqual(rows[0], ['2026-11-01', '0', '0', '0', '0']);
      assert.deepEqual(rows[28], ['2026-11-29', '1', '0', '0', '0']);
      assert.deepEqual(rows[29], ['2026-11-30', '4', '2', '1', '2']);
    });

    it('counts enabled users back through the audit log, PIN lockouts and locked PINs, and the directory sync', async () => {
      const body = (await get('/admin/dashboard')).body;
      const rows = table(body, 'chart-enabled');
      assert.equal(rows.length, 30);
      assert.deepEqual(rows[29], ['2026-11-30', '5']);
      assert.deepEqual(rows[24], ['2026-11-25', '2']);
      assert.deepEqual(rows[23], ['2026-11-24', '0']);
      assert.match(body, /data-testid="enabled-now">5</);
      assert.match(body, /data-testid="locked-now">1</);
      assert.match(body, /data-testid="lockouts-30">3</);
      assert.match(body, /<strong>corp<\/strong>: never synced yet/);
    });

    it('shows the doctor’s checks of the deployment once they have run, without other tenants’ details', async () => {
      const first = await get('/admin/dashboard');
      let body = first.body;
      const deadline = Date.now() + 60_000;
      while (!body.includes('data-testid="checks"')) {
        assert.ok(Date.now() < deadline, 'the checks ran');
        await new Promise((r) => setTimeout(r, 100));
        body = (await get('/admin/dashboard')).body;
      }
      const checks = /<ul class="checks" data-testid="checks">[^]*?<\/ul>/.exec(body)![0];
      assert.match(checks, /data-check="database"/);
      assert.match(checks, /data-check="schema"/);
      assert.ok(!/data-check="(outbox|directory)"/.test(checks));
      assert.ok(!body.includes('fabrikam'));
    });

    it('keeps the days before today for a minute and says as of when; today is always counted afresh', async () => {
      const cache = dashboardCache(60_000);
      const at = (now: number) => dashboard({ ...t.scope, now: () => now }, cache);
      const first = await at(NOW);
      assert.equal(first.daysAsOf, NOW);
      assert.deepEqual(first.days[28]!.counts, { sent: 1, failed: 0, bounced: 0, queued: 0 });
      // A mail of yesterday fails and one of today is queued: today shows it at once, yesterday within the minute.
      const extra: OutboxSeed[] = [
        { tenant_id: t.scope.tenant.id, kind: 'welcome', recipient: 'e@contoso.com', status: 'failed', created_at: NOW - 20 * HOUR },
        { tenant_id: t.scope.tenant.id, kind: 'welcome', recipient: 'f@contoso.com', status: 'queued', created_at: NOW - 60_000 },
      ];
      await insertOutboxRows(t.ctx.db, extra);
      try {
        const soon = await at(NOW + 30_000);
        assert.equal(soon.daysAsOf, NOW);
        assert.deepEqual(soon.days[28]!.counts, { sent: 1, failed: 0, bounced: 0, queued: 0 });
        assert.deepEqual(soon.days[29]!.counts, { sent: 4, failed: 2, bounced: 1, queued: 3 });
        assert.equal(soon.hours[23]!.counts.queued, 3);
        // Past the minute the kept figures are still what a request gets (no request counts them again),
        // while they are counted afresh behind it.
        const later = await at(NOW + 61_000);
        assert.equal(later.daysAsOf, NOW);
        assert.deepEqual(later.days[28]!.counts, { sent: 1, failed: 0, bounced: 0, queued: 0 });
        assert.equal(cache.pending.size, 1, 'one count under way');
        assert.equal(await at(NOW + 62_000).then(() => cache.pending.size), 1, 'a second stale request starts no other count');
        await cache.pending.get(t.scope.tenant.id);
        const refreshed = await at(NOW + 62_000);
        assert.equal(refreshed.daysAsOf, NOW + 61_000);
        assert.deepEqual(refreshed.days[28]!.counts, { sent: 1, failed: 1, bounced: 0, queued: 0 });
        assert.equal(cache.pending.size, 0);
        // Past midnight: the day that ended is counted on the spot and moved into the window, the rest
        // kept (as of the last count) and counted again behind.
        const tomorrow = await at(NOW + DAY);
        assert.equal(tomorrow.daysAsOf, NOW + 61_000);
        assert.equal(tomorrow.days.length, 30);
        assert.deepEqual(tomorrow.days.map((b) => b.start), Array.from({ length: 30 }, (_, i) => (Math.floor((NOW + DAY) / DAY) - 29 + i) * DAY));
        assert.deepEqual(tomorrow.days[27]!.counts, { sent: 1, failed: 1, bounced: 0, queued: 0 }, 'the day before yesterday, kept');
        assert.deepEqual(tomorrow.days[28]!.counts, { sent: 4, failed: 2, bounced: 1, queued: 3 }, 'yesterday, counted');
        assert.deepEqual(tomorrow.days[29]!.counts, { sent: 0, failed: 0, bounced: 0, queued: 0 });
        assert.deepEqual(tomorrow.enabled.slice(-2).map((p) => p.count), [5, 5]);
        await cache.pending.get(t.scope.tenant.id);
        const counted = await at(NOW + DAY + 1000);
        assert.equal(counted.daysAsOf, NOW + DAY);
        assert.deepEqual(counted.days.map((b) => b.counts), tomorrow.days.map((b) => b.counts), 'the recount agrees with the moved figures');
        assert.deepEqual(counted.enabled.map((p) => p.count), tomorrow.enabled.map((p) => p.count));
        // Without a cache (and on the page of a new app), everything is counted now.
        assert.deepEqual((await dashboard({ ...t.scope, now: () => NOW })).days[28]!.counts, { sent: 1, failed: 1, bounced: 0, queued: 0 });
      } finally {
        await t.ctx.db.kysely.deleteFrom('outbox').where('recipient', 'in', ['e@contoso.com', 'f@contoso.com']).execute();
      }
      assert.match((await get('/admin/dashboard')).body, /data-testid="days-as-of">Days before today and enabled users as of 12:30 UTC/);
    });

    it('reads in French', async () => {
      const fr = await get('/admin/dashboard', `${admin.cookie}; dialin-lang=fr`);
      assert.match(fr.body, /<h1>Tableau de bord<\/h1>/);
      assert.match(fr.body, /Les chiffres du graphique/);
      assert.match(fr.body, /Courriels des dernières 24 heures/);
    });
  });
}
