import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startTestIdp, type TestIdp } from '../support/oidc-idp.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import { launchChromium, screenshotDir, watchConsole } from './browser.ts';

/**
 * Single sign-on in real Chromium through a real OpenID Provider (oidc-provider, in-process):
 * discovery by `dialin sso add`, the code flow with PKCE, the role from the groups at every
 * sign-in, a person in no group refused, sign-out ending both sessions.
 */
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

for (const dialect of DIALECTS) {
  describe(`single sign-on in a real browser (${dialect})`, () => {
    let t: TestEnv;
    let idp: TestIdp;
    let server: RunningServer;
    let base: string;
    const shots = screenshotDir();
    const problems: string[] = [];
    const authorizeUrls: URL[] = [];

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      idp = await startTestIdp({ redirectUris: [`${base}/admin/sso/callback`], postLogoutRedirectUris: [`${base}/admin/login?signed-out`] });
      idp.accounts.set('alice', { email: 'alice@contoso.com', name: 'Alice Admin', groups: ['staff', 'dialin-admins'] });
      idp.accounts.set('bob', { email: 'bob@contoso.com', groups: ['dialin-helpdesk'] });
      idp.accounts.set('carol', { email: 'carol@contoso.com', groups: ['staff'] });
      t = await testEnv(dialect, { PORT: String(port), DIALIN_PUBLIC_URL: base });
      const secretFile = path.join(t.dataDir, 'client-secret');
      fs.writeFileSync(secretFile, `${idp.clientSecret}\n`, { mode: 0o600 });
      const add = await runCli(['sso', 'add', '--issuer', idp.issuer, '--client-id', idp.clientId, '--client-secret-file', secretFile, '--admin-group', 'dialin-admins', '--helpdesk-group', 'dialin-helpdesk', '--display-name', 'Contoso'], t.env);
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, new RegExp(`RedirectUri\\s*: ${base.replace(/[.:/]/g, '\\$&')}/admin/sso/callback`));
      assert.ok(!add.stdout.includes(idp.clientSecret) && !add.stderr.includes(idp.clientSecret), 'the client secret is never printed');
      server = await serve(t.config, { worker: false, log: pino({ level: 'silent' }) });
    });
    after(async () => {
      await server?.close();
      await idp?.stop();
      await t?.cleanup();
    });

    const newPage = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
      const page = await context.newPage();
      problems.push(...watchConsole(page).filter((p) => !p.includes(idp.issuer)));
      page.on('request', (r) => {
        if (r.url().startsWith(`${idp.issuer}/auth?`)) authorizeUrls.push(new URL(r.url()));
      });
      return page;
    };
    /** From the admin center's sign-in page through the IdP's login form and back. */
    const signInAs = async (page: Page, login: string, start = `${base}/admin`) => {
      await page.goto(start);
      await page.getByRole('link', { name: 'Sign in with Contoso' }).click();
      await page.waitForURL((u) => u.href.startsWith(idp.issuer));
      await page.locator('input[name=login]').fill(login);
      await page.locator('input[name=password]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.waitForURL((u) => u.href.startsWith(base));
    };

    it('an administrator signs in with the code flow and PKCE; the audit log names the SSO identity; sign-out ends both sessions', async () => {
      const page = await newPage();
      await page.goto(`${base}/admin`);
      assert.match(page.url(), /\/admin\/login/);
      await page.getByRole('link', { name: 'Sign in with Contoso' }).waitFor();
      if (dialect === 'sqlite') await page.screenshot({ path: path.join(shots, 'admin-sign-in-sso.png'), fullPage: true });
      await signInAs(page, 'alice');
      // An administrator's home is the dashboard; the settings change below is made on the settings page.
      await page.waitForURL(/\/admin\/dashboard/);
      await page.goto(`${base}/admin/settings`);
      await page.getByText('alice@contoso.com').first().waitFor();
      const auth = authorizeUrls.at(-1)!;
      assert.equal(auth.searchParams.get('response_type'), 'code');
      assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
      assert.match(auth.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok(auth.searchParams.get('state') && auth.searchParams.get('nonce'), 'state and nonce are sent');
      assert.match(auth.searchParams.get('scope') ?? '', /\bgroups\b/);
      // A change made in this session is audited under the SSO identity.
      await page.getByLabel('Automatically send emails to users if their dial-in settings change').uncheck();
      await page.getByRole('button', { name: 'Save' }).first().click();
      await page.getByText('Your changes were saved.').waitFor();
      const rows = await t.ctx.db.kysely.selectFrom('audit').select(['actor', 'action']).where('actor', '=', 'sso:alice@contoso.com').orderBy('at').execute();
      assert.deepEqual(rows.map((r) => r.action).slice(0, 1), ['admin.sso-login']);
      assert.ok(rows.length >= 2, `a settings change audited as the SSO identity: ${JSON.stringify(rows)}`);
      const sessionsBefore = await t.ctx.db.kysely.selectFrom('web_sessions').select('id_hash').execute();
      assert.equal(sessionsBefore.length, 1);
      // Sign out: the local session ends, then the IdP's end-session page, then back to the sign-in page.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/session/end`));
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL(/\/admin\/login\?signed-out/);
      await page.getByText('You are signed out.').waitFor();
      assert.equal((await t.ctx.db.kysely.selectFrom('web_sessions').select('id_hash').execute()).length, 0);
      assert.ok(idp.calls.endSession >= 1);
      // The IdP's session ended too: signing in again asks for the login form once more.
      await page.getByRole('link', { name: 'Sign in with Contoso' }).click();
      await page.locator('input[name=login]').waitFor();
      await page.context().close();
    });

    it('the helpdesk group gives the helpdesk role (users, not settings)', async () => {
      const page = await newPage();
      await signInAs(page, 'bob');
      await page.waitForURL(/\/admin\/users/);
      const res = await page.goto(`${base}/admin/settings`);
      assert.equal(res!.status(), 403);
      await page.context().close();
    });

    it('a person in neither group is refused with a clear page, and no session is made', async () => {
      const page = await newPage();
      await signInAs(page, 'carol');
      await page.getByText('you are in neither the administrators’ group nor the helpdesk group').waitFor();
      await page.getByText('SSO_NO_ROLE').waitFor();
      assert.equal((await page.context().cookies()).filter((c) => c.name.endsWith('dialin-admin')).length, 0);
      if (dialect === 'sqlite') await page.screenshot({ path: path.join(shots, 'admin-sso-refused.png'), fullPage: true });
      const refused = await t.ctx.db.kysely.selectFrom('audit').select(['actor', 'details']).where('action', '=', 'admin.sso-refused').execute();
      assert.deepEqual(refused.map((r) => r.actor), ['sso:carol@contoso.com']);
      await page.context().close();
    });

    it('taken out of the admin group, a person is refused at the next sign-in and their open sessions end', async () => {
      const first = await newPage();
      await signInAs(first, 'alice');
      await first.waitForURL(/\/admin\/dashboard/);
      idp.accounts.get('alice')!.groups = ['staff'];
      const second = await newPage();
      await signInAs(second, 'alice');
      await second.getByText('SSO_NO_ROLE').waitFor();
      await first.goto(`${base}/admin/users`);
      assert.match(first.url(), /\/admin\/login/, 'the session opened before the removal is over');
      idp.accounts.get('alice')!.groups = ['dialin-admins'];
      await first.context().close();
      await second.context().close();
    });

    it('the pages raised no console errors or CSP violations', () => {
      assert.deepEqual(problems.filter((p) => !/status of 40[13]/.test(p)), []);
    });
  });
}
