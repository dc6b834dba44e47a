import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { insertOutboxRows, type OutboxSeed } from '../support/outbox-rows.ts';
import type { TenantScope } from '../../src/app/context.ts';
import { appFor, otherTenant, signIn } from './harness.ts';

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
