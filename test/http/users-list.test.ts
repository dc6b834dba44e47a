import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { insertOutboxRows } from '../support/outbox-rows.ts';
import { runBackfills } from '../../src/adapters/db/backfills.ts';
import { addUser } from '../../src/app/users.ts';
import { createUserJob, runUserJob } from '../../src/app/user-jobs.ts';
import { parseUserListQuery } from '../../src/core/user-filter.ts';
import { countUsersUpTo } from '../../src/app/user-list.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import type { TenantScope } from '../../src/app/context.ts';
import { appFor, otherTenant, signIn } from './harness.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const ids = (body: string) => [...body.matchAll(/name="ids" value="([^"]+)"/g)].map((m) => m[1]!);
const nextLink = (body: string) => /href="([^"]+)" rel="next"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;
const prevLink = (body: string) => /href="([^"]+)" rel="prev"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;
const count = (body: string) => Number(/data-testid="user-count">([0-9]+)/.exec(body)?.[1]);

function multipart(fields: Record<string, string>, file: { name: string; body: string }): { payload: Buffer; headers: Record<string, string> } {
  const b = '----dialinTestBoundary7';
  const parts = Object.entries(fields).map(([k, v]) => `--${b}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  parts.push(`--${b}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\ncontent-type: text/csv\r\n\r\n${file.body}\r\n`);
  return { payload: Buffer.from(`${parts.join('')}--${b}--\r\n`), headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
}

async function untilDone(t: TestEnv, id: string): Promise<{ status: string; processed: number; done: number; skipped: number; unchanged: number; total: number }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const j = await t.ctx.db.kysely.selectFrom('user_jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (j.status === 'done' || j.status === 'failed') return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const dialect of DIALECTS) {
  describe(`admin center users list at scale: filters, keyset pages, export, bulk jobs, import (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: { cookie: string; csrf: string };
    let helpdesk: { cookie: string; csrf: string };
    let other: TenantScope;
    let bridgeId: string;
    const get = (url: string, who = admin) => app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
    const post = (url: string, body: Record<string, string | string[]>, who = admin) => {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries({ _csrf: who.csrf, ...body })) for (const x of [v].flat()) p.append(k, x);
      return app.inject({ method: 'POST', url, headers: { cookie: who.cookie, ...FORM }, payload: p.toString() });
    };

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      bridgeId = await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101']);
      await bridgeWithNumbers(t.scope, 'Paris Bridge', '+33170000001');
      await addUsers(t.scope, 'user', 130);
      await addUsers(t.scope, 'fr', 10, { Language: 'fr-FR' });
      await addUser(t.scope, { UserUri: 'formula@contoso.com', DisplayName: '=HYPERLINK("http://evil")' });
      await enable(t.scope, Array.from({ length: 20 }, (_, i) => `user${i}@contoso.com`));
      await t.ctx.db.kysely.updateTable('users').set({ pin_locked: 1 }).where('sip', '=', 'sip:user3@contoso.com').execute();
      await t.ctx.db.kysely.updateTable('outbox').set({ status: 'bounced' }).where('recipient', '=', 'user4@contoso.com').execute();
      await t.ctx.db.kysely.updateTable('users').set({ source: 'scim' }).where('sip', '=', 'sip:fr0@contoso.com').execute();
      admin = await signIn(app, t.scope, 'admin@contoso.com', 'admin');
      helpdesk = await signIn(app, t.scope, 'help@contoso.com', 'helpdesk');
      other = await otherTenant(t);
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('shows the columns, and every filter narrows the count to exactly its users', async () => {
      const all = await get('/admin/users');
      assert.equal(all.statusCode, 200);
      assert.equal(count(all.body), 141);
      assert.equal(ids(all.body).length, 50);
      const enabled = await get('/admin/users?state=enabled&q=user1');
      // user1, user10..user19 are enabled; user100..user129 are not.
      assert.equal(count(enabled.body), 11);
      assert.equal(count((await get('/admin/users?state=enabled&q=USER1')).body), 11, 'the search ignores case');
      assert.equal(count((await get('/admin/users?q=%25')).body), 0, 'a % is a character, not a wildcard');
      assert.match(enabled.body, /\+1 425-555-0100/, 'default numbers, formatted');
      const cases: [string, number][] = [
        ['state=enabled', 20],
        ['state=disabled', 121],
        ['pin=locked', 1],
        ['pin=notset', 121],
        ['mail=never', 121],
        ['mail=bounced', 1],
        ['mail=failed', 0],
        [`bridge=${bridgeId}`, 20],
        ['language=fr-FR', 10],
        ['source=scim', 1],
        ['source=csv', 140],
        ['source=directory', 0],
        ['state=enabled&mail=bounced', 1],
      ];
      for (const [q, n] of cases) assert.equal(count((await get(`/admin/users?${q}`)).body), n, q);

      // A mail written before migration 0029 (no first-mail time on its user): the outbox still says so,
      // and the backfill `dialin migrate` runs gives the user the time of it.
      const u129 = await userRow(t.scope, 'sip:user129@contoso.com');
      assert.equal(u129.first_mail_at ?? null, null);
      await insertOutboxRows(t.ctx.db, [{ tenant_id: t.scope.tenant.id, user_id: u129.id, kind: 'welcome', recipient: 'user129@contoso.com', status: 'sent', created_at: 1_700_000_000_000 }]);
      assert.equal(count((await get('/admin/users?mail=never')).body), 120, 'not "never mailed" before the backfill');
      await runBackfills(t.ctx.db);
      assert.equal(Number((await userRow(t.scope, 'sip:user129@contoso.com')).first_mail_at), 1_700_000_000_000);
      assert.equal(count((await get('/admin/users?mail=never')).body), 120, 'nor after it');
      const enabledFirst = await t.ctx.db.kysely.selectFrom('users').select('first_mail_at').where('dialin_enabled', '=', 1).execute();
      assert.ok(enabledFirst.every((r) => r.first_mail_at !== null), 'users mailed through the outbox got their first-mail time as it was written');
      await t.ctx.db.kysely.deleteFrom('outbox').where('user_id', '=', u129.id).execute();
      await t.ctx.db.kysely.updateTable('users').set({ first_mail_at: null }).where('id', '=', u129.id).execute();
      const locked = await get('/admin/users?pin=locked');
      assert.match(locked.body, /user3@contoso\.com/);
      assert.match(locked.body, /badge bad">Locked out/);
    });

    it('"last mail failed" is about the last mail only; the count stops past its cap', async () => {
      const f = (raw: Record<string, string>) => parseUserListQuery(raw).filter;
      const welcome = await t.ctx.db.kysely.selectFrom('outbox').select(['id', 'status', 'created_at']).where('recipient', '=', 'user5@contoso.com').executeTakeFirstOrThrow();
      await t.ctx.db.kysely.updateTable('outbox').set({ status: 'failed' }).where('id', '=', welcome.id).execute();
      assert.equal(await countUsersUpTo(t.scope, f({ mail: 'failed' }), 100), 1);
      // A later mail that was sent: the failure is no longer the last word.
      const later = { ...(await t.ctx.db.kysely.selectFrom('outbox').selectAll().where('id', '=', welcome.id).executeTakeFirstOrThrow()), id: '01990000-0000-7000-8000-0000000000f5', message_id: '<later@test.invalid>', status: 'sent', created_at: Number(welcome.created_at) + 1000 };
      await t.ctx.db.kysely.insertInto('outbox').values(later).execute();
      assert.equal(await countUsersUpTo(t.scope, f({ mail: 'failed' }), 100), 0);
      await t.ctx.db.kysely.updateTable('outbox').set({ status: 'expired' }).where('id', '=', later.id).execute();
      assert.equal(await countUsersUpTo(t.scope, f({ mail: 'failed' }), 100), 1);
      assert.equal(count((await get('/admin/users?mail=failed')).body), 1);
      await t.ctx.db.kysely.deleteFrom('outbox').where('id', '=', later.id).execute();
      await t.ctx.db.kysely.updateTable('outbox').set({ status: welcome.status }).where('id', '=', welcome.id).execute();
      // 121 disabled users, counted up to 50: 51 says "more than 50".
      assert.equal(await countUsersUpTo(t.scope, f({ state: 'disabled' }), 50), 51);
      assert.equal(await countUsersUpTo(t.scope, f({ state: 'disabled' }), 500), 121);
    });

    it('pages by keyset: forward through every user once in order, and back again, sorted by SIP or name', async () => {
      for (const sort of ['', '&sort=name&dir=desc']) {
        const seen: string[] = [];
        let url: string | null = `/admin/users?state=disabled${sort}`;
        const pages: string[] = [];
        while (url) {
          const res = await get(url);
          assert.equal(res.statusCode, 200, res.body);
          assert.doesNotMatch(url, /offset|page=/);
          seen.push(...ids(res.body));
          pages.push(url);
          url = nextLink(res.body);
        }
        assert.equal(seen.length, 121);
        assert.equal(new Set(seen).size, 121, 'no user twice');
        const rows = await t.ctx.db.kysely.selectFrom('users').select(['id', 'sip', 'display_name']).where('tenant_id', '=', t.scope.tenant.id).where('dialin_enabled', '=', 0).execute();
        const expected = sort ? rows.sort((a, b) => (a.display_name === b.display_name ? (a.id < b.id ? 1 : -1) : a.display_name < b.display_name ? 1 : -1)) : rows.sort((a, b) => (a.sip < b.sip ? -1 : 1));
        assert.deepEqual(seen, expected.map((r) => r.id));
        // Back from the last page: the previous page is the one before it.
        const last = await get(pages[pages.length - 1]!);
        const back = await get(prevLink(last.body)!);
        assert.deepEqual(ids(back.body), seen.slice(50, 100));
      }
    });

    it('refuses bad filters, sorts and cursors with 400 naming the field', async () => {
      for (const [q, field] of [
        ['state=maybe', 'state'],
        ['mail=sometimes', 'mail'],
        ['sort=password', 'sort'],
        ['after=%21%21', 'after'],
        ['after=bm90IGpzb24', 'after'],
        ['language=x%20y', 'language'],
        ['bridge=nope', 'bridge'],
        ['colour=red', 'colour'],
        ['state=enabled&state=disabled', 'state'],
      ]) {
        const res = await get(`/admin/users?${q}`);
        assert.equal(res.statusCode, 400, `${q}: ${res.statusCode}`);
        assert.match(res.body, /INVALID_ARGUMENT/, q);
        const csv = await get(`/admin/users/export.csv?${q}`);
        assert.equal(csv.statusCode, 400, `export ${q}`);
      }
    });

    it('exports the filtered list as CSV: every matching user, no PIN, formulas neutralised', async () => {
      const res = await get('/admin/users/export.csv?state=enabled');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      const lines = res.body.trim().split('\r\n');
      assert.equal(lines.length, 21);
      assert.match(lines[0]!, /^SipAddress,DisplayName,EmailAddress,Language,DialInEnabled/);
      assert.doesNotMatch(res.body, /LeaderPin|pin_hash/i);
      const hashes = await t.ctx.db.kysely.selectFrom('users').select('pin_hash').where('pin_hash', 'is not', null).execute();
      for (const h of hashes) assert.ok(!res.body.includes(h.pin_hash!));
      const everyone = await get('/admin/users/export.csv');
      assert.equal(everyone.body.trim().split('\r\n').length, 142);
      assert.ok(everyone.body.includes(`"'=HYPERLINK(""http://evil"")"`), 'a formula is written as text');
      assert.equal((await get('/admin/users/export.csv?after=abc')).statusCode, 400);
    });

    it('refuses a bulk action with nothing selected, a bad bridge or a role that may not: 4xx and nothing recorded or changed', async () => {
      const before = await dumpDb(t.ctx.db);
      const cases: [Record<string, string | string[]>, number, string, typeof admin?][] = [
        [{ action: 'enable', scope: 'selected' }, 400, 'MISSING_ARGUMENT'],
        [{ action: 'explode', scope: 'all' }, 400, 'INVALID_ARGUMENT'],
        [{ action: 'enable', scope: 'everything' }, 400, 'INVALID_ARGUMENT'],
        [{ action: 'move', scope: 'all' }, 400, 'MISSING_ARGUMENT'],
        [{ action: 'move', scope: 'all', BridgeId: '0190a0a0-0000-7000-8000-000000000000' }, 404, 'BRIDGE_NOT_FOUND'],
        [{ action: 'move', scope: 'all', BridgeId: bridgeId, ServiceNumber: '+33170000001' }, 409, 'NUMBER_NOT_ON_BRIDGE'],
        [{ action: 'enable', scope: 'selected', ids: ['not-an-id'] }, 400, 'INVALID_ARGUMENT'],
        [{ action: 'enable', scope: 'all', filter: 'state=bogus' }, 400, 'INVALID_ARGUMENT'],
        [{ action: 'enable', scope: 'all' }, 403, 'FORBIDDEN', helpdesk],
        [{ action: 'disable', scope: 'all' }, 403, 'FORBIDDEN', helpdesk],
      ];
      for (const [body, status, code, who] of cases) {
        const res = await post('/admin/users/jobs', body, who ?? admin);
        assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.statusCode}`);
        assert.match(res.body, new RegExp(code), JSON.stringify(body));
      }
      const noToken = await app.inject({ method: 'POST', url: '/admin/users/jobs', headers: { cookie: admin.cookie, ...FORM }, payload: 'action=enable&scope=all' });
      assert.equal(noToken.statusCode, 403);
      const after = await dumpDb(t.ctx.db);
      delete before.web_sessions;
      delete after.web_sessions;
      assert.deepEqual(after, before);
    });

    /** A job the page just started or resumed: finished already, or held by a live lease. */
    const assertHeld = async (id: string, why: string) => {
      const row = await t.ctx.db.kysely.selectFrom('user_jobs').select(['status', 'lease_owner', 'lease_until']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.ok(row.status === 'done' || (row.status === 'running' && row.lease_owner !== null && Number(row.lease_until) > Date.now()), `${why}: ${JSON.stringify(row)}`);
    };

    it('a bulk enable of every filtered user runs as a job: progress page, report CSV, mails and audit through the use-case', async () => {
      const res = await post('/admin/users/jobs', { action: 'enable', scope: 'all', filter: 'state=disabled&q=user1' });
      assert.equal(res.statusCode, 303, res.body);
      const jobUrl = res.headers.location as string;
      const id = jobUrl.split('/').pop()!;
      await assertHeld(id, 'as the page answers, the job is already held by its runner (not shown as stalled)');
      const page = await get(jobUrl);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<progress id="job-progress"/);
      const job = await untilDone(t, id);
      // user100..user129: 30 users.
      assert.deepEqual({ status: job.status, total: job.total, processed: job.processed, done: job.done, skipped: job.skipped }, { status: 'done', total: 30, processed: 30, done: 30, skipped: 0 });
      const done = await get(jobUrl);
      assert.equal(done.headers.refresh, undefined, 'a finished job stops refreshing');
      assert.match(done.body, /30 of 30 handled: 30 changed/);
      const report = await get(`${jobUrl}/report.csv`);
      const lines = report.body.trim().split('\r\n');
      assert.equal(lines.length, 31);
      assert.match(lines[1]!, /^1,sip:user100@contoso\.com,sip:user100@contoso\.com,done,,$/);
      const welcomes = await t.ctx.db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', 'welcome').where('recipient', 'like', 'user1__@contoso.com').executeTakeFirstOrThrow();
      assert.equal(Number(welcomes.n), 30);
      const audits = await t.ctx.db.kysely.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'user.enable').where('target', 'like', 'sip:user1__@contoso.com').executeTakeFirstOrThrow();
      assert.equal(Number(audits.n), 30);
      assert.equal(count((await get('/admin/users?state=enabled')).body), 50);
      // Another tenant's administrator cannot see it.
      const stranger = await signIn(app, other, 'admin@fabrikam.com', 'admin');
      assert.equal((await get(jobUrl, stranger)).statusCode, 404);
      assert.equal((await get(`${jobUrl}/report.csv`, stranger)).statusCode, 404);
    });

    it('a job whose runner died resumes from where it stopped, each user handled once', async () => {
      const s = t.scope;
      const job = await createUserJob(s, 'send_info', { filter: parseUserListQuery({ state: 'enabled' }).filter, ids: null });
      assert.equal(job.total, 50);
      const whole = await runUserJob(s, job.id, 'runner', { maxBatches: 2 });
      assert.deepEqual([whole.status, whole.processed, whole.done], ['done', 50, 50]);
      // A second job over more users than one batch, stopped after its first batch.
      const big = await createUserJob(s, 'reset_pin', { filter: parseUserListQuery({}).filter, ids: null });
      const first = await runUserJob(s, big.id, 'dead-runner', { maxBatches: 1 });
      assert.equal(first.processed, 100);
      assert.equal(first.status, 'running');
      const stalledPage = await get(`/admin/users/jobs/${big.id}`);
      assert.doesNotMatch(stalledPage.body, /Resume/, 'the lease is still held');
      await t.ctx.db.kysely.updateTable('user_jobs').set({ lease_until: Date.now() - 1 }).where('id', '=', big.id).execute();
      const page = await get(`/admin/users/jobs/${big.id}`);
      assert.match(page.body, /Resume/);
      const resumed = await post(`/admin/users/jobs/${big.id}/resume`, {}, helpdesk);
      assert.equal(resumed.statusCode, 303);
      await assertHeld(big.id, 'resumed: held again before the page answers');
      const end = await untilDone(t, big.id);
      assert.equal(end.processed, 141);
      const items = await t.ctx.db.kysely.selectFrom('user_job_items').select('input').where('job_id', '=', big.id).execute();
      assert.equal(new Set(items.map((i) => i.input)).size, 141, 'each user once');
      assert.equal(end.done, 49, 'the enabled users got a new PIN, but the one whose PIN is locked');
      assert.equal(end.skipped, 92, 'the others are reported as skipped');
      const report = await get(`/admin/users/jobs/${big.id}/report.csv`);
      assert.match(report.body, /skipped,USER_NOT_ENABLED,/);
      assert.match(report.body, /sip:user3@contoso\.com,skipped,PIN_LOCKED,/);
    });

    it('with automatic mail off, a PIN reset hands the new PINs out once as CSV; they are never stored', async () => {
      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: false });
      const res = await post('/admin/users/jobs', { action: 'reset_pin', scope: 'selected', ids: [], filter: 'state=enabled' }, helpdesk);
      assert.equal(res.statusCode, 400);
      const list = await get('/admin/users?state=enabled', helpdesk);
      const chosen = ids(list.body).slice(0, 3);
      const started = await post('/admin/users/jobs', { action: 'reset_pin', scope: 'selected', ids: chosen, filter: 'state=enabled' }, helpdesk);
      assert.equal(started.statusCode, 303, started.body);
      const url = started.headers.location as string;
      const job = await untilDone(t, url.split('/').pop()!);
      assert.equal(job.done, 3);
      const page = await get(url, helpdesk);
      assert.match(page.body, /data-testid="pins-link"/);
      const pins = await get(`${url}/pins.csv`, helpdesk);
      assert.equal(pins.statusCode, 200);
      const rows = pins.body.trim().split('\r\n');
      assert.equal(rows.length, 4);
      const pin = rows[1]!.split(',')[2]!;
      assert.match(pin, /^[0-9]{5,}$/);
      assert.equal((await get(`${url}/pins.csv`, helpdesk)).statusCode, 404, 'once only');
      const dump = JSON.stringify(await dumpDb(t.ctx.db));
      for (const r of rows.slice(1)) assert.ok(!dump.includes(`"${r.split(',')[2]}"`), 'no PIN in the database');
      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: true });
    });

    it('imports a CSV from the browser: preview first (nothing written), then apply; a bad file is refused with its lines', async () => {
      const good = 'UserUri,DisplayName,EmailAddress,Language\nnew1@contoso.com,New One,new1@contoso.com,en\nnew2@contoso.com,New Two,new2@contoso.com,fr\n';
      const up = multipart({ _csrf: admin.csrf }, { name: 'users.csv', body: good });
      const preview = await app.inject({ method: 'POST', url: '/admin/users/import', headers: { cookie: admin.cookie, ...up.headers }, payload: up.payload });
      assert.equal(preview.statusCode, 200, preview.body);
      assert.match(preview.body, /2 new user\(s\) will be added/);
      assert.match(preview.body, /new2@contoso\.com/);
      assert.equal(await t.ctx.db.kysely.selectFrom('users').select('id').where('sip', '=', 'sip:new1@contoso.com').executeTakeFirst(), undefined, 'the preview wrote no user');
      const apply = /action="(\/admin\/users\/import\/[^"]+\/apply)"/.exec(preview.body)![1]!;
      const applied = await post(apply, {});
      assert.equal(applied.statusCode, 303);
      assert.equal(count((await get('/admin/users?q=new')).body), 2);
      assert.equal((await post(apply, {})).statusCode, 400, 'applied once only');
      const params = await t.ctx.db.kysely.selectFrom('user_jobs').select('params').where('kind', '=', 'import').execute();
      assert.ok(params.every((p) => !p.params.includes('csv')), 'the uploaded file is dropped once applied');

      const bad = 'UserUri,DisplayName,EmailAddress,Language\nnew3@contoso.com,New Three,new3@contoso.com,en\nnot an address,Bad,bad,en\nnew1@contoso.com,Again,new1@contoso.com,en\n';
      const up2 = multipart({ _csrf: admin.csrf }, { name: 'bad.csv', body: bad });
      const p2 = await app.inject({ method: 'POST', url: '/admin/users/import', headers: { cookie: admin.cookie, ...up2.headers }, payload: up2.payload });
      assert.equal(p2.statusCode, 200);
      assert.match(p2.body, /2 line\(s\) are invalid/);
      assert.match(p2.body, /USER_EXISTS/);
      assert.doesNotMatch(p2.body, /\/apply"/, 'nothing to apply without skipping the invalid lines');
      for (const [fields, body, status] of [
        [{ _csrf: admin.csrf }, 'Name\nx\n', 400],
        [{ _csrf: admin.csrf }, '', 400],
        [{}, good, 403],
      ] as const) {
        const u = multipart(fields, { name: 'x.csv', body });
        const r = await app.inject({ method: 'POST', url: '/admin/users/import', headers: { cookie: admin.cookie, ...u.headers }, payload: u.payload });
        assert.equal(r.statusCode, status, `${body}: ${r.statusCode}`);
      }
      const garbled = await app.inject({ method: 'POST', url: '/admin/users/import', headers: { cookie: admin.cookie, 'content-type': 'multipart/form-data; boundary=zz' }, payload: 'nonsense' });
      assert.equal(garbled.statusCode, 400);
      const h = multipart({ _csrf: helpdesk.csrf }, { name: 'x.csv', body: good });
      assert.equal((await app.inject({ method: 'POST', url: '/admin/users/import', headers: { cookie: helpdesk.cookie, ...h.headers }, payload: h.payload })).statusCode, 403);
      assert.equal(await t.ctx.db.kysely.selectFrom('users').select('id').where('sip', '=', 'sip:new3@contoso.com').executeTakeFirst(), undefined);
    });

    it('access: every new route needs a session (GET redirects to sign-in, POST 401), admin-only ones refuse the helpdesk', async () => {
      const job = await t.ctx.db.kysely.selectFrom('user_jobs').select('id').where('tenant_id', '=', t.scope.tenant.id).executeTakeFirstOrThrow();
      const routes: [string, string, 'staff' | 'admin'][] = [
        ['GET', '/admin/users', 'staff'],
        ['GET', '/admin/users/export.csv', 'staff'],
        ['GET', `/admin/users/jobs/${job.id}`, 'staff'],
        ['GET', `/admin/users/jobs/${job.id}/report.csv`, 'staff'],
        ['GET', `/admin/users/jobs/${job.id}/pins.csv`, 'staff'],
        ['POST', '/admin/users/jobs', 'staff'],
        ['POST', `/admin/users/jobs/${job.id}/resume`, 'staff'],
        ['GET', '/admin/users/import', 'admin'],
        ['POST', '/admin/users/import', 'admin'],
        ['POST', `/admin/users/import/${job.id}/apply`, 'admin'],
      ];
      for (const [method, url, access] of routes) {
        const anon = await app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { headers: FORM, payload: '' } : {}) });
        assert.equal(anon.statusCode, method === 'GET' ? 302 : 401, `${method} ${url} anonymous`);
        if (access === 'admin') {
          const res = method === 'GET' ? await get(url, helpdesk) : await post(url, {}, helpdesk);
          assert.equal(res.statusCode, 403, `${method} ${url} helpdesk`);
        }
      }
    });
  });
}
