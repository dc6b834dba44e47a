import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { addUser } from '../../src/app/users.ts';
import { addAdmin, removeAdmin } from '../../src/app/admins.ts';
import { appFor, signIn } from './harness.ts';

const form = (o: Record<string, string>) => ({ payload: new URLSearchParams(o).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

for (const dialect of DIALECTS) {
  describe(`web security: sessions, cookies, CSRF, sign-in throttling, headers (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    const clock = { t: Date.now() };

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t, { now: () => clock.t });
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await addUsers(t.scope, 'alice', 1);
      await enable(t.scope, ['sip:alice0@contoso.com']);
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, path /; every sign-in gets a new one; sign-out ends it server-side', async () => {
      const a = await signIn(app, t.scope, 'cookies@contoso.com');
      const c = a.raw.cookies.find((x) => x.name === '__Host-dialin-admin')!;
      assert.equal(c.httpOnly, true);
      assert.equal(c.secure, true);
      assert.equal(c.sameSite, 'Lax');
      assert.equal(c.path, '/');
      assert.equal(c.domain, undefined);
      const again = await app.inject({ method: 'POST', url: '/admin/login', ...form({ email: 'cookies@contoso.com', password: 'correct horse battery staple' }) });
      const c2 = again.cookies.find((x) => x.name === '__Host-dialin-admin')!;
      assert.notEqual(c2.value, c.value);
      const out = await app.inject({ method: 'POST', url: '/admin/logout', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.equal(out.statusCode, 303);
      const reuse = await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie: a.cookie } });
      assert.equal(reuse.statusCode, 302);
      assert.match(String(reuse.headers.location), /^\/admin\/login/);
      const api = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { cookie: a.cookie } });
      assert.equal(api.statusCode, 401);
    });

    it('a change through a session needs the CSRF token and a same-origin request; GET changes nothing', async () => {
      const a = await signIn(app, t.scope, 'csrf@contoso.com');
      const before = await dumpDb(t.ctx.db);
      const patch = (headers: Record<string, string>) => app.inject({ method: 'PATCH', url: '/api/v1/tenant-settings', headers: { cookie: a.cookie, ...headers }, payload: { PinLength: 7 } });
      const attempts: Record<string, string>[] = [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': a.csrf, origin: 'https://evil.example' }, { 'x-csrf-token': a.csrf, 'sec-fetch-site': 'cross-site' }, { 'x-csrf-token': a.csrf, origin: 'null' }];
      for (const headers of attempts) {
        const r = await patch(headers);
        assert.equal(r.statusCode, 403, JSON.stringify(headers));
        assert.equal(r.json().error.code, 'CSRF_INVALID');
      }
      const formPost = await app.inject({ method: 'POST', url: '/admin/settings', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'PinLength=7' });
      assert.equal(formPost.statusCode, 403);
      const after = await dumpDb(t.ctx.db);
      delete (before as Record<string, unknown>).web_sessions;
      delete (after as Record<string, unknown>).web_sessions;
      assert.deepEqual(after, before);
      const ok = await patch({ 'x-csrf-token': a.csrf, origin: 'https://dialin.test.example', 'sec-fetch-site': 'same-origin' });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().PinLength, 7);
      // A bearer token needs no CSRF token: it is never sent by a browser on its own.
    });

    it('a helpdesk session sees users but not settings, numbers, mail or audit', async () => {
      const h = await signIn(app, t.scope, 'help@contoso.com', 'helpdesk');
      assert.equal((await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie: h.cookie } })).statusCode, 200);
      for (const url of ['/admin/settings', '/admin/bridges', '/admin/directories', '/admin/mail', '/admin/audit']) {
        assert.equal((await app.inject({ method: 'GET', url, headers: { cookie: h.cookie } })).statusCode, 403, url);
      }
      const page = await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie: h.cookie } });
      assert.ok(!page.body.includes('href="/admin/settings"'), 'the navigation hides what the role cannot open');
      const api = await app.inject({ method: 'PATCH', url: '/api/v1/tenant-settings', headers: { cookie: h.cookie, 'x-csrf-token': h.csrf }, payload: { PinLength: 6 } });
      assert.equal(api.statusCode, 403);
      assert.equal(api.json().error.code, 'FORBIDDEN');
    });

    it('removing an administrator ends their sessions at once', async () => {
      const a = await signIn(app, t.scope, 'leaver@contoso.com');
      await removeAdmin(t.scope, 'leaver@contoso.com');
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { cookie: a.cookie } })).statusCode, 401);
    });

    it('sessions end after 30 idle minutes and after 12 hours whatever the activity', async () => {
      const a = await signIn(app, t.scope, 'idle@contoso.com');
      clock.t += 29 * 60_000;
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { cookie: a.cookie } })).statusCode, 200);
      clock.t += 31 * 60_000;
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { cookie: a.cookie } })).statusCode, 401);
      const b = await signIn(app, t.scope, 'busy@contoso.com');
      for (let h = 0; h < 12 * 4; h++) {
        clock.t += 15 * 60_000;
        const r = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { cookie: b.cookie } });
        if (h < 12 * 4 - 1) assert.equal(r.statusCode, 200, `after ${(h + 1) * 15} minutes`);
        else assert.equal(r.statusCode, 401);
      }
    });

    it('sign-in answers the same for an unknown address and a wrong password, and pauses an account after 5 failures', async () => {
      await addAdmin(t.scope, { email: 'target@contoso.com', role: 'admin', password: 'the right password!' });
      const attempt = (email: string, password: string) => app.inject({ method: 'POST', url: '/admin/login', ...form({ email, password }), remoteAddress: `10.0.0.${Math.floor(Math.random() * 200) + 2}` });
      const unknown = await attempt('nobody@contoso.com', 'whatever password');
      const wrong = await attempt('target@contoso.com', 'wrong password!!');
      assert.equal(unknown.statusCode, 401);
      assert.equal(wrong.statusCode, 401);
      const notice = (b: string) => /<div class="notice error"[^]*?<\/div>/.exec(b)?.[0];
      assert.equal(notice(unknown.body), notice(wrong.body));
      for (let i = 0; i < 4; i++) await attempt('target@contoso.com', 'wrong password!!');
      const paused = await attempt('target@contoso.com', 'the right password!');
      assert.equal(paused.statusCode, 401, 'the right password is refused while the account is paused');
      assert.equal(notice(paused.body), notice(wrong.body));
      clock.t += 2 * 60_000;
      const ok = await attempt('target@contoso.com', 'the right password!');
      assert.equal(ok.statusCode, 303);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select(['action', 'details']).where('target', '=', 'target@contoso.com').execute();
      assert.equal(audit.filter((r) => r.action === 'admin.login-failed').length, 5);
      assert.ok(audit.some((r) => r.action === 'admin.login'));
      assert.ok(!JSON.stringify(audit).includes('password'), 'no password in the audit log');
    });

    it('one client address gets at most 20 sign-in attempts a minute', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 22; i++) codes.push((await app.inject({ method: 'POST', url: '/admin/login', ...form({ email: 'x@contoso.com', password: 'y' }), remoteAddress: '10.9.9.9' })).statusCode);
      assert.deepEqual(codes.slice(0, 20), Array(20).fill(401));
      assert.deepEqual(codes.slice(20), [429, 429]);
    });

    it('pages escape user data and carry the security headers; PIN pages are never cached', async () => {
      await addUser(t.scope, { UserUri: 'xss@contoso.com', DisplayName: '<script>alert(1)</script><img src=x onerror=alert(2)>' });
      const a = await signIn(app, t.scope, 'headers@contoso.com');
      const page = await app.inject({ method: 'GET', url: '/admin/users?q=xss', headers: { cookie: a.cookie } });
      assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'));
      assert.ok(!page.body.includes('<script>alert(1)'));
      const csp = String(page.headers['content-security-policy']);
      for (const d of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"]) assert.ok(csp.includes(d), d);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.match(String(page.headers['strict-transport-security']), /max-age=/);
      const reset = await app.inject({ method: 'POST', url: '/admin/users/alice0%40contoso.com/reset-pin', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.equal(reset.statusCode, 200);
      assert.match(reset.body, /data-testid="new-pin">[0-9]{4,12}</);
      assert.equal(reset.headers['cache-control'], 'no-store');
      const css = await app.inject({ method: 'GET', url: '/static/style.css' });
      assert.match(String(css.headers['cache-control']), /max-age/);
    });

    it('the language follows the browser, and the switch overrides it', async () => {
      const fr = await app.inject({ method: 'GET', url: '/admin/login', headers: { 'accept-language': 'fr-CA,fr;q=0.9,en;q=0.5' } });
      assert.match(fr.body, /<html lang="fr">/);
      assert.match(fr.body, /Mot de passe/);
      const sw = await app.inject({ method: 'GET', url: '/lang/en?back=/admin/login' });
      assert.equal(sw.headers.location, '/admin/login');
      const en = await app.inject({ method: 'GET', url: '/admin/login', headers: { 'accept-language': 'fr', cookie: 'dialin-lang=en' } });
      assert.match(en.body, /<html lang="en">/);
      const offsite = await app.inject({ method: 'GET', url: '/lang/fr?back=//evil.example/' });
      assert.equal(offsite.headers.location, '/admin');
    });
  });
}
