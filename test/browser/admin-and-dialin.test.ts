import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { FAST_DELIVERY, until } from '../mail/support/mail-env.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';
import { parseMail } from '../mail/support/mime.ts';
import { addUser } from '../../src/app/users.ts';
import { addAdmin } from '../../src/app/admins.ts';
import { createApiToken } from '../../src/app/api-tokens.ts';
import { registerServiceNumber } from '../../src/app/service-numbers.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import { freePort, launchChromium, screenshotDir, watchConsole } from './browser.ts';

const PASSWORD = 'a long admin password';
const KEN = { sip: 'sip:ken.myer@contoso.com', email: 'ken.myer@contoso.com' };

describe('in a real browser: the admin center and the Dial-in Conferencing Settings page', () => {
  let t: TestEnv;
  let sink: SmtpSink;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let shots: string;
  let welcomePin: string;
  let conferenceId: string;
  let newAdminPin = '';
  const consoleProblems: string[] = [];

  before(async () => {
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testEnv('sqlite', { ...FAST_DELIVERY, DIALIN_SMTP_URL: sink.url, PORT: String(port), DIALIN_PUBLIC_URL: base });
    await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550199']);
    await registerServiceNumber(t.scope, { number: '+33170000000', bridge: { name: 'Conference Bridge' }, city: 'Paris', primaryLanguage: 'fr-FR' });
    await registerServiceNumber(t.scope, { number: '+442070000000', bridge: { name: 'Conference Bridge' }, city: 'London', primaryLanguage: 'en-GB' });
    await addUser(t.scope, { UserUri: KEN.sip, DisplayName: 'Ken Myer', EmailAddress: KEN.email, Language: 'en', Phone: '+1 425 555 0142' });
    await addUsers(t.scope, 'user', 60);
    const [ken] = await enable(t.scope, [KEN.sip]);
    welcomePin = ken!.output!.LeaderPin as string;
    conferenceId = ken!.output!.ConferenceId as string;
    await addAdmin(t.scope, { email: 'admin@contoso.com', role: 'admin', password: PASSWORD });
    server = await serve(t.config, { worker: true, log: pino({ level: 'silent' }) });
    await sink.waitFor(1);
    browser = await launchChromium();
    shots = screenshotDir();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await sink?.stop();
    await t?.cleanup();
  });

  const newPage = async (viewport = { width: 1280, height: 900 }): Promise<Page> => {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    const page = await context.newPage();
    consoleProblems.push(...watchConsole(page));
    page.on('dialog', (d) => void d.accept());
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  it('an administrator signs in, unticks the automatic-mail checkbox and saves; the CLI then shows it off', async () => {
    const page = await newPage();
    await page.goto(`${base}/admin`);
    assert.match(page.url(), /\/admin\/login/);
    await shot(page, 'admin-sign-in');
    await page.getByLabel('E-mail address').fill('admin@contoso.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/settings/);
    const box = page.getByLabel('Automatically send emails to users if their dial-in settings change');
    assert.equal(await box.isChecked(), true);
    await box.uncheck();
    await page.getByRole('button', { name: 'Save' }).first().click();
    await page.getByText('Your changes were saved.').waitFor();
    assert.equal(await page.getByLabel('Automatically send emails to users if their dial-in settings change').isChecked(), false);
    await shot(page, 'admin-settings');
    const cli = await runCli(['Get-CsOnlineDialInConferencingTenantSettings'], t.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^AutomaticallySendEmailsToUsers\s*: False$/m);
    await page.context().close();
  });

  it('resets a user’s PIN and sees it once; sends the conference info, which the relay receives without any PIN', async () => {
    const page = await newPage();
    await page.goto(`${base}/admin/login`);
    await page.getByLabel('E-mail address').fill('admin@contoso.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/settings/);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByText('61 user(s)').waitFor();
    await shot(page, 'admin-users');
    await page.getByLabel('Search by name, SIP address or e-mail').fill('ken');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'Ken Myer' }).click();
    await page.getByRole('heading', { name: 'Ken Myer' }).waitFor();
    assert.equal(await page.getByTestId('conference-id').textContent(), conferenceId);
    await page.getByRole('button', { name: 'Reset PIN' }).click();
    newAdminPin = (await page.getByTestId('new-pin').textContent())!;
    assert.match(newAdminPin, /^[0-9]{5}$/);
    assert.notEqual(newAdminPin, welcomePin);
    await shot(page, 'admin-user-pin-reset');
    await page.goto(`${base}/admin/users?q=ken`);
    await page.getByRole('link', { name: 'Ken Myer' }).click();
    assert.equal(await page.getByTestId('new-pin').count(), 0, 'the PIN is shown once only');
    assert.ok(!(await page.content()).includes(newAdminPin));
    const before = sink.received.length;
    await page.getByRole('button', { name: 'Send conference info' }).click();
    await page.getByText('The conference information is on its way (without the PIN).').waitFor();
    const mail = (await sink.waitFor(before + 1))[before]!;
    assert.deepEqual(mail.to, [KEN.email]);
    const parsed = parseMail(mail.raw);
    assert.ok(parsed.text!.includes(conferenceId));
    for (const pin of [newAdminPin, welcomePin]) assert.ok(!mail.raw.includes(pin), 'no PIN in the conference info mail');
    assert.equal(sink.received.length, before + 1, 'automatic mail is off: the PIN reset mailed nothing');
    await shot(page, 'admin-user');
    // A relay refusing one recipient: the Mail page shows the failure with the server's reply, and a retry.
    sink.faults.rcpt = (address) => (address === 'gone@fabrikam.com' ? { code: 550, message: '5.1.1 <gone@fabrikam.com>: Recipient address rejected' } : null);
    await page.getByLabel('Send to another address (optional)').fill('gone@fabrikam.com');
    await page.getByRole('button', { name: 'Send conference info' }).click();
    await page.getByText('The conference information is on its way (without the PIN).').waitFor();
    await until(async () => !!(await t.ctx.db.kysely.selectFrom('outbox').select('id').where('status', '=', 'failed').executeTakeFirst()), 'the refused mail to be marked failed');
    await page.getByRole('link', { name: 'Mail', exact: true }).click();
    await page.getByText('Recipient address rejected').waitFor();
    await shot(page, 'admin-mail');
    await page.getByRole('button', { name: 'Retry' }).first().click();
    await page.getByText('The messages are queued again.').waitFor();
    sink.faults.rcpt = undefined;
    for (const [link, name] of [['Bridges and numbers', 'admin-bridges'], ['Audit log', 'admin-audit']] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { level: 1 }).waitFor();
      await shot(page, name);
    }
    await page.context().close();
  });

  it('the template editor previews a draft live, in French, for a chosen user', async () => {
    const page = await newPage();
    await page.goto(`${base}/admin/login?next=${encodeURIComponent('/admin/templates?kind=pin_changed&language=fr&user=ken.myer@contoso.com')}`);
    await page.getByLabel('E-mail address').fill('admin@contoso.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/templates/);
    await page.getByLabel(/^Subject/).fill('Nouveau code pour {{ displayName }} ({{ conferenceId }})');
    await page.waitForFunction(() => document.getElementById('preview-subject')?.textContent?.startsWith('Nouveau code pour Ken Myer'));
    assert.equal(await page.getByTestId('preview-subject').textContent(), `Nouveau code pour Ken Myer (${conferenceId})`);
    const frame = page.frameLocator('#preview-html');
    await frame.getByText('Ken Myer').first().waitFor();
    await shot(page, 'admin-templates');
    await page.getByLabel(/^Subject/).fill('{{ nosuchvariable }}');
    await page.waitForFunction(() => /TEMPLATE_INVALID/.test(document.getElementById('preview-status')?.textContent ?? ''));
    await page.context().close();
  });

  it('an end user signs in through the mailed link (keyboard only), sets a PIN twice, and the bridge accepts it', async () => {
    const page = await newPage();
    await page.goto(`${base}/dialin`);
    await shot(page, 'dialin-sign-in');
    // Keyboard only: skip link, then the e-mail field, type, Enter.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'email');
    await page.keyboard.type(KEN.email);
    const before = sink.received.length;
    await page.keyboard.press('Enter');
    await page.getByText(/a sign-in link is on its way/).waitFor();
    const mail = (await sink.waitFor(before + 1))[before]!;
    const link = /(http:\/\/127\.0\.0\.1:[0-9]+\/dialin\/sign-in\?token=[A-Za-z0-9_-]+)/.exec(parseMail(mail.raw).text!)![1]!;
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your meetings' }).waitFor();
    assert.equal(await page.getByTestId('conference-id').textContent(), conferenceId);
    for (const city of ['Paris', 'London']) await page.getByRole('rowheader', { name: city }).waitFor();
    await shot(page, 'dialin-settings');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'dialin-settings-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByLabel('New PIN', { exact: true }).fill('240681');
    await page.getByLabel('New PIN again').fill('240681');
    await page.getByRole('button', { name: 'Set this PIN' }).click();
    assert.equal(await page.getByTestId('new-pin').textContent(), '240681');
    await shot(page, 'dialin-pin-set');
    const { token } = await createApiToken(t.scope, { role: 'bridge', name: 'IVR' });
    const verify = await fetch(`${base}/api/v1/bridge/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ conferenceId, pin: '240681' }) });
    assert.equal(((await verify.json()) as { isLeader: boolean }).isLeader, true);
    const old = await fetch(`${base}/api/v1/bridge/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ conferenceId, pin: newAdminPin }) });
    assert.equal(((await old.json()) as { isLeader: boolean }).isLeader, false, 'the previous PIN no longer works');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!sink.received.slice(before + 1).some((m) => m.raw.includes('240681')), 'the PIN the user set is never mailed');
    await page.context().close();
  });

  it('looks tidy on a phone and in French; no page logged an error or a CSP violation', async () => {
    const phone = await newPage({ width: 390, height: 844 });
    await phone.goto(`${base}/dialin`);
    await shot(phone, 'dialin-sign-in-phone');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no horizontal scrolling on a phone (page is ${width}px wide)`);
    await phone.context().close();
    const fr = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR', extraHTTPHeaders: { 'accept-language': 'fr-FR,fr;q=0.9' } });
    const page = await fr.newPage();
    consoleProblems.push(...watchConsole(page));
    await page.goto(`${base}/admin/login`);
    await page.getByLabel('Adresse de courrier').fill('admin@contoso.com');
    await page.getByLabel('Mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByLabel('Courriers électroniques envoyés automatiquement aux utilisateurs en cas de modification de leurs paramètres').waitFor();
    await shot(page, 'admin-settings-fr');
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByLabel('Automatically send emails to users if their dial-in settings change').waitFor();
    await fr.close();
    assert.deepEqual(consoleProblems, []);
  });
});
