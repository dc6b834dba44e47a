import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { testEnv, type TestEnv } from '../support/dialects.ts';
import { insertOutboxRows, type OutboxSeed } from '../support/outbox-rows.ts';
import { addAdmin } from '../../src/app/admins.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import { launchChromium, screenshotDir, watchConsole } from './browser.ts';
import { freePort } from '../support/free-port.ts';

const PASSWORD = 'a long admin password';
const HOUR = 3_600_000;

describe('in a real browser: the dashboard, the Mail page filtered to failed, the audit log filtered by actor', () => {
  let t: TestEnv;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let shots: string;
  const problems: string[] = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testEnv('sqlite', { PORT: String(port), DIALIN_PUBLIC_URL: base });
    const now = Date.now();
    const statuses = ['sent', 'sent', 'sent', 'sent', 'failed', 'bounced', 'queued'];
    const rows: OutboxSeed[] = Array.from({ length: 400 }, (_, i) => ({
      tenant_id: t.scope.tenant.id,
      kind: i % 4 === 0 ? 'welcome' : 'info_changed',
      recipient: `user${i}@contoso.com`,
      status: statuses[i % statuses.length]!,
      // Spread over 30 days, more in the last hours.
      created_at: now - (i < 120 ? i * 0.19 * HOUR : (i - 100) * 2.4 * HOUR),
    }));
    await insertOutboxRows(t.ctx.db, rows);
    await t.ctx.db.kysely
      .insertInto('audit')
      .values(['cli:alice@host1', 'api:nightly sync', 'web:chief@contoso.com'].flatMap((actor, k) => Array.from({ length: 5 }, (_, i) => ({ id: `0000000${k}-0000-7000-8000-00000000000${i}`, tenant_id: t.scope.tenant.id, at: now - (k * 5 + i) * HOUR, actor, action: 'user.set', target_user_id: null, target: `sip:u${i}@contoso.com`, details: '{}' }))))
      .execute();
    await addAdmin(t.scope, { email: 'admin@contoso.com', role: 'admin', password: PASSWORD });
    server = await serve(t.config, { worker: false, log: pino({ level: 'silent' }) });
    browser = await launchChromium();
    shots = screenshotDir();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await t?.cleanup();
  });

  const signedIn = async (viewport = { width: 1280, height: 900 }): Promise<Page> => {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    const page = await context.newPage();
    problems.push(...watchConsole(page));
    await page.goto(`${base}/admin`);
    await page.getByLabel('E-mail address').fill('admin@contoso.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/dashboard/);
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const noSideScroll = async (page: Page, width: number) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= width, `no horizontal scrolling at ${width} px (page is ${w}px wide)`);
  };

  it('the dashboard renders its charts with data, and the table behind each opens', async () => {
    const page = await signedIn();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    const chart = page.getByRole('img', { name: 'Mail over the last 24 hours (UTC)' });
    await chart.waitFor();
    assert.ok((await chart.locator('rect').count()) > 10, 'bars are drawn');
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 80, 'the chart has a size');
    for (let i = 0; i < 20 && (await page.getByTestId('checks').count()) === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await page.reload();
    }
    await page.getByTestId('checks').waitFor();
    const summary = page.getByText('The numbers behind the chart').first();
    await summary.click();
    const rows = page.getByTestId('chart-24h-table').locator('tbody tr');
    assert.equal(await rows.count(), 24);
    await shot(page, 'admin-dashboard');
    await page.context().close();
  });

  it('the Mail page, filtered to failed with the keyboard, lists only failed mail and pages on', async () => {
    const page = await signedIn();
    await page.getByRole('link', { name: 'Mail', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Mail' }).waitFor();
    assert.equal(await page.getByTestId('mail-table').locator('tbody tr').count(), 50);
    await page.getByLabel('Recipient contains').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    // The status drop-down has the focus: choose "Failed" and submit with Enter from the search box.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
    await page.getByLabel('Recipient contains').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/status=failed/);
    const statuses = await page.getByTestId('mail-table').locator('tbody tr td:nth-child(4)').allTextContents();
    assert.ok(statuses.length > 0 && statuses.length <= 50);
    assert.ok(statuses.every((s) => s.trim() === 'Failed'), statuses.join(','));
    assert.equal(statuses.length, 50);
    await shot(page, 'admin-mail-failed');
    await page.getByRole('link', { name: 'Next page' }).click();
    const more = await page.getByTestId('mail-table').locator('tbody tr td:nth-child(4)').allTextContents();
    assert.ok(more.length > 0 && more.every((s) => s.trim() === 'Failed'));
    assert.equal(statuses.length + more.length, 57);
    await page.context().close();
  });

  it('the audit log filtered by actor shows who acted in words', async () => {
    const page = await signedIn();
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByLabel('Who (contains)').fill('host1');
    await page.getByLabel('Who (contains)').press('Enter');
    await page.waitForURL(/actor=host1/);
    const who = await page.getByTestId('audit-table').locator('tbody tr td:nth-child(2)').allTextContents();
    assert.equal(who.length, 5);
    assert.ok(who.every((w) => w.includes('alice on host1') && w.includes('(command line)')), who.join('|'));
    await shot(page, 'admin-audit-filtered');
    await page.context().close();
  });

  it('at 375 px the dashboard, Mail and audit pages do not scroll sideways; no page logged an error or a CSP violation', async () => {
    const page = await signedIn({ width: 375, height: 800 });
    await noSideScroll(page, 375);
    await shot(page, 'admin-dashboard-phone');
    for (const url of ['/admin/mail?status=failed', '/admin/audit?actor=host1']) {
      await page.goto(`${base}${url}`);
      await noSideScroll(page, 375);
    }
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});
