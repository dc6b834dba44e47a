import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { FAST_DELIVERY } from '../mail/support/mail-env.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';
import { parseMail } from '../mail/support/mime.ts';
import { addUser } from '../../src/app/users.ts';
import { setTemplate } from '../../src/app/templates.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import path from 'node:path';
import { launchChromium, screenshotDir, watchConsole } from './browser.ts';
import { freePort } from '../support/free-port.ts';

const KEN = { sip: 'sip:ken.myer@contoso.com', email: 'ken.myer@contoso.com' };

describe('in a real browser: the invitation block of the settings page, copied with one click (keyboard only)', () => {
  let t: TestEnv;
  let sink: SmtpSink;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let cid: string;
  const problems: string[] = [];

  before(async () => {
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testEnv('sqlite', { ...FAST_DELIVERY, DIALIN_SMTP_URL: sink.url, PORT: String(port), DIALIN_PUBLIC_URL: base });
    await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+33170000100', 'tf:+18005550199']);
    await t.scope.db.kysely.updateTable('service_numbers').set({ city: 'Redmond' }).where('number', '=', '+14255550100').execute();
    await t.scope.db.kysely.updateTable('service_numbers').set({ city: 'Paris' }).where('number', '=', '+33170000100').execute();
    await addUser(t.scope, { UserUri: KEN.sip, DisplayName: 'Ken Myer', EmailAddress: KEN.email, Language: 'en' });
    const [ken] = await enable(t.scope, [KEN.sip]);
    cid = ken!.output!.ConferenceId as string;
    server = await serve(t.config, { worker: true, log: pino({ level: 'silent' }) });
    await sink.waitFor(1); // the welcome
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await sink?.stop();
    await t?.cleanup();
  });

  /** A signed-in settings page of Ken's, through the mailed one-time link. */
  async function signedIn(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    problems.push(...watchConsole(page));
    const before = sink.received.length;
    await page.goto(`${base}/dialin`);
    await page.getByLabel('Your e-mail address').fill(KEN.email);
    await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
    const mail = (await sink.waitFor(before + 1))[before]!;
    const link = /(http:\/\/127\.0\.0\.1:[0-9]+\/dialin\/sign-in\?token=[A-Za-z0-9_-]+)/.exec(parseMail(mail.raw).text!)![1]!;
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your meetings' }).waitFor();
    return page;
  }

  /** Tabs from the top of the page to the copy button, as a keyboard user does; then Enter. */
  async function copyWithKeyboard(page: Page): Promise<void> {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.hasAttribute('data-copy') ?? false)) {
        await page.keyboard.press('Enter');
        return;
      }
    }
    assert.fail('the copy button is not reachable with Tab');
  }

  it('shows the numbers as one-tap links, the grouped ID and Find a local number; the button copies the text', async () => {
    const page = await signedIn();
    const block = page.getByTestId('invitation');
    await page.getByRole('heading', { name: 'Join by phone' }).waitFor();
    const grouped = `${cid.replace(/(\d{3})(?=\d)/g, '$1 ')}#`;
    assert.equal(await block.getByRole('link', { name: `+1 425-555-0100,,${cid}#` }).getAttribute('href'), `tel:+14255550100,,${cid}%23`);
    assert.match((await block.textContent())!, new RegExp(`Phone conference ID: ${grouped}`));
    assert.match((await block.getByRole('link', { name: 'Find a local number' }).getAttribute('href'))!, new RegExp(`^${base}/numbers/[A-Za-z0-9_-]{20,}$`));
    await copyWithKeyboard(page);
    await page.getByText('Copied: paste it into your meeting invitation.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const lines = copied.split('\n');
    assert.equal(lines[0], 'Join by phone (audio only)');
    assert.equal(lines[1], `+1 425-555-0100,,${cid}# Redmond`);
    assert.equal(lines[2], `Phone conference ID: ${grouped}`);
    assert.equal(lines.length, 4);
    assert.match(lines[3]!, new RegExp(`^Find a local number: ${base}/numbers/[A-Za-z0-9_-]{20,}$`));
    assert.ok(!copied.includes('PIN'), 'no PIN in the block');
    assert.deepEqual(problems, [], 'no console error or CSP violation');
    await page.context().close();
  });

  it('Find a local number, followed from the block at 375 px in English and French: every number, tappable, nothing of the user, no sideways scroll', async () => {
    const page = await signedIn();
    const href = (await page.getByTestId('invitation').getByRole('link', { name: 'Find a local number' }).getAttribute('href'))!;
    await page.context().close();
    const dir = screenshotDir();
    for (const [locale, lang] of [['en-US', 'en'], ['fr-FR', 'fr']] as const) {
      // A stranger's phone: no session cookie.
      const context = await browser.newContext({ viewport: { width: 375, height: 800 }, locale });
      const phone = await context.newPage();
      problems.push(...watchConsole(phone));
      await phone.goto(href);
      const taps = await phone.locator('a[href^="tel:"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.deepEqual([...taps].sort(), ['tel:+14255550100', 'tel:+18005550199', 'tel:+33170000100'], `${lang}: every access number, tappable`);
      const text = (await phone.locator('body').textContent())!;
      for (const shown of ['+1 425-555-0100', '+33 1 70 00 01 00', '+1 800-555-0199', 'Redmond', 'Paris']) assert.ok(text.includes(shown), `${lang}: ${shown}`);
      for (const secret of [cid, 'Ken', KEN.email]) assert.ok(!text.includes(secret), `${lang}: the page shows nothing of the user (${secret})`);
      assert.equal(await phone.evaluate(() => document.documentElement.lang), lang);
      assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${lang}: no horizontal scroll at 375 px`);
      await phone.screenshot({ path: path.join(dir, `dialin-local-numbers-${lang}.png`), fullPage: true });
      await context.close();
    }
    assert.deepEqual(problems, []);
  });

  it("the tenant's own invitation template is what the page shows and copies", async () => {
    await setTemplate(t.scope, 'invitation', 'en', 'subject', 'Dial in to Contoso meetings');
    await setTemplate(t.scope, 'invitation', 'en', 'html', '<p>Contoso: {% for n in numbers %}<a href="{{ n.tel }}">{{ n.dial }}</a> {% endfor %}ID {{ conferenceIdGrouped }}</p>');
    await setTemplate(t.scope, 'invitation', 'en', 'text', 'Contoso: {% for n in numbers %}{{ n.dial }} {% endfor %}ID {{ conferenceIdGrouped }}');
    const page = await signedIn();
    await page.getByRole('heading', { name: 'Dial in to Contoso meetings' }).waitFor();
    assert.match((await page.getByTestId('invitation').textContent())!, /^Contoso: /);
    await copyWithKeyboard(page);
    await page.getByText('Copied: paste it into your meeting invitation.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `Contoso: +1 425-555-0100,,${cid}# ID ${cid.replace(/(\d{3})(?=\d)/g, '$1 ')}#`);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

});
