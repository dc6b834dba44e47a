import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { insertOutboxRows, type OutboxSeed } from '../support/outbox-rows.ts';
import type { TenantScope } from '../../src/app/context.ts';
import { appFor, otherTenant, signIn } from './harness.ts';
import { listMailPage } from '../../src/app/mail-list.ts';
import { parseMailListQuery } from '../../src/core/mail-filter.ts';
import { outboxCountsUpTo } from '../../src/app/outbox.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 1);
const rowIds = (body: string) => [...body.matchAll(/<tr data-id="([^"]+)"/g)].map((m) => m[1]!);
const nextLink = (body: string) => /href="([^"]+)" rel="next"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;
const prevLink = (body: string) => /href="([^"]+)" rel="prev"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;

/** 130 mails of this tenant, one an hour from 1 November 2026: sent, failed, bounced and queued in a fixed pattern. */
function seeds(tenantId: string): OutboxSeed[] {
  const statuses = ['sent', 'sent', 'failed', 'bounced', 'queued'] as const;
  return Array.from({ length: 130 }, (_, i) => ({
    tenant_id: tenantId,
    kind: i % 3 === 0 ? 'welcome' : 'info_changed',
    recipient: i % 10 === 0 ? `boss${i}@fabrikam.org` : `user${i}@contoso.com`,
    status: statuses[i % 5]!,
    created_at: START + i * HOUR,
  }));
}

for (const dialect of DIALECTS) {
  describe(`admin center Mail page at scale: keyset pages, recipient search, status, kind and date filters (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: { cookie: string; csrf: string };
    let other: TenantScope;
    let all: OutboxSeed[];
    const get = (url: string, who = admin) => app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
    /** Every row id of a filtered list, following the next links from the first page. */
    const walk = async (url: string): Promise<string[]> => {
      const out: string[] = [];
      let at: string | null = url;
      for (let pages = 0; at; pages++) {
        assert.ok(pages < 20, 'the pages end');
        const res = await get(at);
        assert.equal(res.statusCode, 200, res.body.slice(0, 400));
        const got = rowIds(res.body);
        assert.ok(got.length <= 50);
        out.push(...got);
        at = nextLink(res.body);
      }
      return out;
    };
    const expected = (keep: (r: OutboxSeed) => boolean) =>
      all
        .filter(keep)
        .sort((a, b) => b.created_at - a.created_at)
        .map((r) => r.id!);

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      other = await otherTenant(t);
      all = seeds(t.scope.tenant.id).map((r, i) => ({ ...r, id: `0000${String(i).padStart(4, '0')}-0000-7000-8000-000000000000` }));
      await insertOutboxRows(t.ctx.db, [...all, ...seeds(other.tenant.id).slice(0, 40)]);
      admin = await signIn(app, t.scope, 'admin@contoso.com', 'admin');
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('pages through every mail of the tenant newest first, 50 a page, none twice, and back again', async () => {
      const first = await get('/admin/mail');
      assert.equal(first.statusCode, 200);
      assert.equal(rowIds(first.body).length, 50);
      assert.equal(prevLink(first.body), null);
      const ids = await walk('/admin/mail');
      assert.deepEqual(ids, expected(() => true));
      const second = await get(nextLink(first.body)!);
      const back = await get(prevLink(second.body)!);
      assert.deepEqual(rowIds(back.body), rowIds(first.body));
    });

    it('filtered to failed it shows exactly the failed mails, and the same for bounced and queued', async () => {
      for (const status of ['failed', 'bounced', 'queued', 'sent'] as const) {
        const ids = await walk(`/admin/mail?status=${status}`);
        assert.deepEqual(ids, expected((r) => r.status === status), status);
      }
      const failed = await get('/admin/mail?status=failed');
      assert.equal((failed.body.match(/class="badge bad">Failed</g) ?? []).length, 26);
    });

    it('searches by recipient (case-insensitive, wildcards taken literally), by kind and by a range of days, combined', async () => {
      assert.deepEqual(await walk('/admin/mail?q=FABRIKAM'), expected((r) => r.recipient.includes('fabrikam')));
      assert.deepEqual(await walk('/admin/mail?q=%25'), []);
      assert.deepEqual(await walk('/admin/mail?q=user_1'), []);
      assert.deepEqual(await walk('/admin/mail?kind=welcome&status=sent'), expected((r) => r.kind === 'welcome' && r.status === 'sent'));
      // 2 and 3 November: hours 24..71.
      const days = await walk('/admin/mail?from=2026-11-02&to=2026-11-03');
      assert.deepEqual(days, expected((r) => r.created_at >= START + DAY && r.created_at < START + 3 * DAY));
      assert.equal(days.length, 48);
      const narrow = await walk('/admin/mail?from=2026-11-02&to=2026-11-03&status=failed&q=contoso');
      assert.deepEqual(narrow, expected((r) => r.created_at >= START + DAY && r.created_at < START + 3 * DAY && r.status === 'failed' && r.recipient.includes('contoso')));
      const page = await get('/admin/mail?from=2026-11-02&to=2026-11-03&status=failed');
      assert.match(page.body, /name="from" type="date" value="2026-11-02"/);
      assert.match(page.body, /<option value="failed" selected>/);
    });

    it('a recipient search reads a window of messages a page and goes on from where the window ended, forward and back', async () => {
      // 130 mails, 13 of them to fabrikam.org, one every tenth: a window of 7 messages holds 0 or 1 of them.
      const want = expected((r) => r.recipient.includes('fabrikam'));
      const page = (raw: Record<string, string>) => listMailPage(t.scope, parseMailListQuery({ q: 'fabrikam', ...raw }), 2, { searchWindow: 7 });
      const seen: string[] = [];
      const cursors: (string | null)[] = [];
      let at: string | null = null;
      for (let n = 0; ; n++) {
        assert.ok(n < 40, 'the pages end');
        const p = await page(at ? { after: at } : {});
        assert.ok(p.rows.length <= 2);
        seen.push(...p.rows.map((r) => r.Id));
        if (p.next) assert.notEqual(p.searchedTo, null, 'a page that stops before two hits says how far it read');
        cursors.push(at);
        if (!p.next) break;
        at = p.next;
      }
      assert.deepEqual(seen, want);
      // Back from the oldest page, through the previous links, every hit comes again, newest last read first.
      let back: string[] = [];
      let before = (await page({ after: cursors[cursors.length - 1]! })).prev;
      for (let n = 0; before; n++) {
        assert.ok(n < 40, 'the pages end');
        const p = await page({ before });
        back = [...p.rows.map((r) => r.Id), ...back];
        before = p.prev;
      }
      const last = await page({ after: cursors[cursors.length - 1]! });
      assert.deepEqual([...back, ...last.rows.map((r) => r.Id)], want);
      // A window wide enough for everything: one page of all hits, no "read back to".
      const wide = await listMailPage(t.scope, parseMailListQuery({ q: 'fabrikam' }), 50, { searchWindow: 1000 });
      assert.deepEqual(wide.rows.map((r) => r.Id), want);
      assert.equal(wide.searchedTo, null);
      assert.equal(wide.next, null);
    });

    it('counts the status badges up to a cap: past it the count means "more than"', async () => {
      const exact = await outboxCountsUpTo(t.scope, 1000);
      assert.deepEqual(exact, { sent: 52, failed: 26, bounced: 26, queued: 26 });
      const capped = await outboxCountsUpTo(t.scope, 30);
      assert.deepEqual(capped, { sent: 31, failed: 26, bounced: 26, queued: 26 });
    });

    it("never shows another tenant's mail", async () => {
      const ids = new Set(await walk('/admin/mail'));
      assert.equal(ids.size, 130);
      const theirs = await t.ctx.db.kysely.selectFrom('outbox').select('id').where('tenant_id', '=', other.tenant.id).execute();
      for (const r of theirs) assert.ok(!ids.has(r.id));
    });

    it('refuses a bad filter with 400 and the field named, never a 500', async () => {
      for (const [url, field] of [
        ['/admin/mail?status=lost', 'status'],
        ['/admin/mail?kind=spam', 'kind'],
        ['/admin/mail?from=2026-02-30', 'from'],
        ['/admin/mail?from=yesterday', 'from'],
        ['/admin/mail?from=2026-11-05&to=2026-11-01', 'to'],
        ['/admin/mail?after=not-a-cursor!', 'after'],
        ['/admin/mail?after=WyJ4IiwieSJd', 'after'],
        ['/admin/mail?colour=red', 'colour'],
      ] as const) {
        const res = await get(url);
        assert.equal(res.statusCode, 400, url);
        assert.match(res.body, /role="alert"/, url);
        assert.ok(res.body.includes(field), `${url} names ${field}`);
      }
    });

    it('is for administrators only', async () => {
      const help = await signIn(app, t.scope, 'help@contoso.com', 'helpdesk');
      assert.equal((await get('/admin/mail?status=failed', help)).statusCode, 403);
      const anon = await app.inject({ method: 'GET', url: '/admin/mail?status=failed' });
      assert.equal(anon.statusCode, 302);
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`admin center audit log: filters by actor, action, user and days; who acted in words (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: { cookie: string; csrf: string };
    let aliceId: string;
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
    const walk = async (url: string): Promise<string[]> => {
      const out: string[] = [];
      let at: string | null = url;
      for (let pages = 0; at; pages++) {
        assert.ok(pages < 20, 'the pages end');
        const res = await get(at);
        assert.equal(res.statusCode, 200, res.body.slice(0, 400));
        out.push(...rowIds(res.body));
        at = nextLink(res.body);
      }
      return out;
    };
    const ACTORS = ['web:chief@contoso.com', 'api:nightly sync', 'cli:alice@host1', 'cli:root', 'directory-sync'];
    const ACTIONS = ['user.add', 'users.enable', 'pin.reset', 'tenant-settings.set'];
    let rows: { id: string; at: number; actor: string; action: string; target_user_id: string | null }[];

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      admin = await signIn(app, t.scope, 'admin@contoso.com', 'admin');
      const { addUser } = await import('../../src/app/users.ts');
      aliceId = (await addUser(t.scope, { UserUri: 'alice@contoso.com', DisplayName: 'Alice Liddell' })).id;
      // 120 rows over five days, before every row the tests' own sign-ins wrote (those are in 2026-12 or later).
      rows = Array.from({ length: 120 }, (_, i) => ({
        id: `0000${String(i).padStart(4, '0')}-0000-7000-8000-000000000000`,
        at: START + i * HOUR,
        actor: ACTORS[i % 5]!,
        action: ACTIONS[i % 4]!,
        target_user_id: i % 6 === 0 ? aliceId : null,
      }));
      await t.ctx.db.kysely.insertInto('audit').values(rows.map((r) => ({ ...r, tenant_id: t.scope.tenant.id, target: r.target_user_id ? 'sip:alice@contoso.com' : null, details: '{}' }))).execute();
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });
    const expected = (keep: (r: (typeof rows)[number]) => boolean) =>
      rows
        .filter(keep)
        .sort((a, b) => b.at - a.at)
        .map((r) => r.id);
    const inNovember = '&from=2026-11-01&to=2026-11-30';

    it('filters by actor, by the start of the action, by user and by days, alone and combined', async () => {
      assert.deepEqual(await walk(`/admin/audit?actor=cli${inNovember}`), expected((r) => r.actor.startsWith('cli:')));
      assert.deepEqual(await walk(`/admin/audit?actor=HOST1${inNovember}`), expected((r) => r.actor === 'cli:alice@host1'));
      assert.deepEqual(await walk(`/admin/audit?action=users.${inNovember}`), expected((r) => r.action === 'users.enable'));
      assert.deepEqual(await walk(`/admin/audit?action=user${inNovember}`), expected((r) => r.action.startsWith('user')));
      assert.deepEqual(await walk(`/admin/audit?user=alice%40contoso.com${inNovember}`), expected((r) => r.target_user_id === aliceId));
      assert.deepEqual(await walk('/admin/audit?from=2026-11-02&to=2026-11-02'), expected((r) => r.at >= START + DAY && r.at < START + 2 * DAY));
      assert.deepEqual(await walk(`/admin/audit?actor=api&action=pin${inNovember}`), expected((r) => r.actor === 'api:nightly sync' && r.action === 'pin.reset'));
      const all = await walk('/admin/audit');
      assert.ok(all.length > 120, 'the newest rows (the sign-ins) come first');
      assert.deepEqual(all.slice(-120), expected(() => true));
    });

    it('says who acted: the admin, the token, the OS user and the machine, the directory sync', async () => {
      const page = await get(`/admin/audit${inNovember.replace('&', '?')}`);
      assert.match(page.body, /data-actor="cli:alice@host1">alice on host1 <span class="hint">\(command line\)/);
      assert.match(page.body, /data-actor="cli:root">root <span class="hint">\(command line\)/);
      assert.match(page.body, /data-actor="api:nightly sync">nightly sync <span class="hint">\(API token\)/);
      assert.match(page.body, /data-actor="web:chief@contoso.com">chief@contoso.com <span class="hint">\(admin center\)/);
      assert.match(page.body, /data-actor="directory-sync">Directory sync</);
      const fr = await app.inject({ method: 'GET', url: '/admin/audit?actor=host1', headers: { cookie: `${admin.cookie}; dialin-lang=fr` } });
      assert.match(fr.body, /alice sur host1 <span class="hint">\(ligne de commande\)/);
    });

    it('a change made with the CLI is recorded with the OS user and the host', async () => {
      const os = await import('node:os');
      const { runCli } = await import('../support/cli.ts');
      const r = await runCli(['Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', '7'], t.env);
      assert.equal(r.code, 0, r.stderr);
      const row = await t.ctx.db.kysely.selectFrom('audit').select(['actor']).where('tenant_id', '=', t.scope.tenant.id).orderBy('at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
      const clean = (v: string) => v.replace(/[^\p{L}\p{N}._-]/gu, '') || 'unknown';
      assert.equal(row.actor, `cli:${clean(os.userInfo().username)}@${clean(os.hostname())}`);
      const page = await get(`/admin/audit?actor=${encodeURIComponent(row.actor)}`);
      assert.ok(page.body.includes(`${clean(os.userInfo().username)} on ${clean(os.hostname())}`));
    });

    it('refuses a bad filter with the field named (an unknown user too), never a 500', async () => {
      for (const [url, field, code] of [
        ['/admin/audit?user=nobody%40contoso.com', 'user', 404],
        ['/admin/audit?action=a%20b', 'action', 400],
        ['/admin/audit?from=2026-13-01', 'from', 400],
        ['/admin/audit?limit=50', 'limit', 400],
        ['/admin/audit?before=WyIxIiwiMiJd&after=WyIxIiwiMiJd', 'before', 400],
      ] as const) {
        const res = await get(url);
        assert.equal(res.statusCode, code, url);
        assert.match(res.body, /role="alert"/, url);
        assert.ok(res.body.includes(field), `${url} names ${field}`);
      }
    });
  });
}
