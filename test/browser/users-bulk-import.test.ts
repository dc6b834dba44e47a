import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { bridgeWithNumbers } from '../support/fixtures.ts';
import { freePort } from '../support/free-port.ts';
import { addAdmin } from '../../src/app/admins.ts';
import { importUsers, type ImportRecord } from '../../src/app/import-users.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import { launchChromium, screenshotDir, watchConsole } from './browser.ts';

const PASSWORD = 'a long admin password';
const BULK = 1000;

/** Users `prefix0000@contoso.com`… added in one import (as `dialin users import` would). */
async function seedUsers(t: TestEnv, prefix: string, n: number, language = 'en-US'): Promise<void> {
  async function* records(): AsyncGenerator<ImportRecord> {
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${String(i).padStart(4, '0')}`;
      yield { line: i + 2, fields: { UserUri: `${id}@contoso.com`, DisplayName: `${prefix} ${i}`, EmailAddress: `${id}@contoso.com`, Language: language } };
    }
  }
  const res = await importUsers(t.scope, records(), { skipInvalid: false });
  assert.equal(res.imported, n);
}

/**
 * The users list's bulk job and CSV import in real Chromium, on both dialects: filter, select all
 * that match, enable 1,000 users in the background with the progress bar moving on the page, the
 * report downloaded and read, the database checked (enabled once, one welcome mail each); a CSV
 * uploaded, its preview changing nothing, then applied. Keyboard reach and 375 px as for the other pages.
 */
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

for (const dialect of DIALECTS) {
  describe(`in a real browser: bulk enable of 1,000 filtered users and CSV import (${dialect})`, () => {
    let t: TestEnv;
    let server: RunningServer;
    let base: string;
    const shots = screenshotDir();
    const problems: string[] = [];

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      t = await testEnv(dialect, { PORT: String(port), DIALIN_PUBLIC_URL: base });
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await seedUsers(t, 'bulk', BULK);
      // Users the filter leaves out: same language, other names; and bulk-named users of another language.
      await seedUsers(t, 'other', 40);
      await seedUsers(t, 'bulkfr', 15, 'fr-FR');
      await addAdmin(t.scope, { email: 'admin@contoso.com', role: 'admin', password: PASSWORD });
      server = await serve(t.config, { worker: false, log: pino({ level: 'silent' }) });
    });
    after(async () => {
      await server?.close();
      await t?.cleanup();
    });

    const signedIn = async (start: string, viewport = { width: 1280, height: 900 }): Promise<Page> => {
      const context = await browser.newContext({ viewport, locale: 'en-US', acceptDownloads: true });
      const page = await context.newPage();
      problems.push(...watchConsole(page));
      await page.goto(`${base}${start}`);
      await page.getByLabel('E-mail address').fill('admin@contoso.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === start.split('?')[0]);
      return page;
    };
    const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
    const noSideScroll = async (page: Page, width: number) => {
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= width, `no horizontal scrolling at ${width} px on ${page.url()} (page is ${w}px wide)`);
    };
    /** What Tab reaches from the top of the page, in order: each control's id, or its text. */
    const tabStops = async (page: Page, max = 200): Promise<string[]> => {
      await page.locator('body').focus();
      const seen: string[] = [];
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        const stop = await page.evaluate(() => {
          const e = document.activeElement as HTMLElement | null;
          if (!e || e === document.body) return '';
          return e.id || e.getAttribute('data-testid') || e.getAttribute('aria-label') || (e.textContent ?? '').trim() || e.tagName;
        });
        if (stop === '' || (seen.length > 3 && stop === seen[0])) break;
        seen.push(stop);
      }
      return seen;
    };
    const dbCounts = async () => {
      const db = t.ctx.db.kysely;
      const enabled = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', t.scope.tenant.id).where('dialin_enabled', '=', 1).executeTakeFirstOrThrow();
      const welcomes = await db.selectFrom('outbox').select(['user_id', 'recipient']).where('kind', '=', 'welcome').execute();
      return { enabled: Number(enabled.n), welcomes };
    };

    /**
     * To see the page while the job is halfway, deterministically (a runner on SQLite can do all
     * 1,000 users between two polls of a loaded test), a trigger plays a second server: it takes
     * the lease over in the first batch's own commit, so ours finds it held at its next batch.
     */
    const LEASE_UNTIL = Date.now() + 3_600_000;
    const takeOverAfterFirstBatch = async () => {
      const db = t.ctx.db.kysely;
      if (t.dialect === 'sqlite') {
        await sql.raw(`create trigger take_over after update of processed on user_jobs when old.processed = 0 and new.processed > 0 begin update user_jobs set lease_owner = 'another-server', lease_until = ${LEASE_UNTIL} where id = new.id; end`).execute(db);
      } else {
        await sql.raw(`create function take_over() returns trigger language plpgsql as $$ begin update user_jobs set lease_owner = 'another-server', lease_until = ${LEASE_UNTIL} where id = new.id; return null; end $$`).execute(db);
        await sql.raw(`create trigger take_over after update of processed on user_jobs for each row when (old.processed = 0 and new.processed > 0) execute function take_over()`).execute(db);
      }
    };
    const dropTakeOver = async () => {
      const db = t.ctx.db.kysely;
      if (t.dialect === 'sqlite') await sql.raw('drop trigger take_over').execute(db);
      else await sql.raw('drop trigger take_over on user_jobs').execute(db);
    };

    it('filters with the keyboard, selects all that match, and enables 1,000 users in the background: the bar moves, the report says 1,000', async () => {
      const page = await signedIn('/admin/users');
      // The filters by keyboard only: the search box, then Dial-in "Not enabled" and Language, then Enter.
      await page.getByLabel('Search').focus();
      await page.keyboard.type('bulk');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-state');
      await page.getByRole('combobox', { name: 'Dial-in' }).selectOption('disabled');
      await page.getByRole('combobox', { name: 'Language' }).selectOption('en-US');
      await page.getByLabel('Search').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/q=bulk/);
      assert.match(await page.getByTestId('user-count').innerText(), /^1,?000 user\(s\)/);
      const stops = await tabStops(page);
      for (const id of ['q', 'f-state', 'f-language', 'scope-selected', 'f-action', 'Next page', 'Start']) assert.ok(stops.includes(id), `Tab reaches ${id}: ${stops.join(' | ')}`);
      await shot(page, 'admin-users-filtered');

      const before = await dbCounts();
      assert.deepEqual([before.enabled, before.welcomes.length], [0, 0]);
      await takeOverAfterFirstBatch();
      // "All that match" is the second radio of its group: the arrow key moves to it.
      await page.locator('#scope-selected').focus();
      await page.keyboard.press('ArrowDown');
      assert.equal(await page.locator('#scope-all').isChecked(), true);
      assert.match(await page.locator('label[for="scope-all"]').innerText(), /All 1,?000 user\(s\) that match/);
      await page.getByRole('combobox', { name: 'Action' }).selectOption('enable');
      await page.getByRole('button', { name: 'Start' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/admin\/users\/jobs\/[0-9a-f-]{36}$/);

      const jobId = page.url().split('/').pop()!;
      const jobs = () => t.ctx.db.kysely.selectFrom('user_jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
      // Another runner takes the job over as soon as its first batch is done (see takeOverAfterFirstBatch).
      const grabDeadline = Date.now() + 120_000;
      for (;;) {
        const j = await jobs();
        if (j.lease_owner === 'another-server') break;
        assert.ok(j.status === 'queued' || j.status === 'running', `the job is still running when the other runner comes (${j.status}, ${j.processed})`);
        assert.ok(Date.now() < grabDeadline, 'the first batch is done');
        await new Promise((r) => setTimeout(r, 20));
      }
      await dropTakeOver();
      // Ours notices at its next batch (one in flight is rolled back): the count stops moving.
      let held = (await jobs()).processed;
      for (let still = 0; still < 6; ) {
        await new Promise((r) => setTimeout(r, 250));
        const now = (await jobs()).processed;
        still = now === held ? still + 1 : 0;
        held = now;
      }
      assert.equal(held, 100, 'halfway: the first batch only');

      // The bar, read as the page shows it (it reloads itself every second) until the job is done.
      const seen: number[] = [];
      const bar = page.getByTestId('job-progress');
      const readBar = async () => {
        const value = Number(await bar.getAttribute('value'));
        if (seen[seen.length - 1] !== value) seen.push(value);
        return value;
      };
      const waitDeadline = Date.now() + 60_000;
      while ((await readBar()) !== held) {
        assert.ok(Date.now() < waitDeadline, `the page shows ${held} handled (${seen.join(',')})`);
        await page.waitForTimeout(100);
      }
      assert.equal(await page.getByTestId('job-status').innerText(), 'Running');
      assert.match(await page.getByTestId('job-counts').innerText(), new RegExp(`^${held} of 1,?000 handled: ${held} changed`));
      await shot(page, 'admin-users-bulk-progress');
      // The other server dies: its lease runs out, the page offers to resume, and the keyboard does it.
      await t.ctx.db.kysely.updateTable('user_jobs').set({ lease_until: Date.now() - 1 }).where('id', '=', jobId).execute();
      const resume = page.getByRole('button', { name: 'Resume' });
      await resume.waitFor({ timeout: 60_000 });
      await resume.focus();
      await page.keyboard.press('Enter');
      const deadline = Date.now() + 180_000;
      for (;;) {
        await readBar();
        if ((await page.getByTestId('job-status').innerText()) === 'Finished') break;
        assert.ok(Date.now() < deadline, `the job finishes (bar at ${seen.join(',')})`);
        await page.waitForTimeout(50);
      }
      // The status may have been read from the page that replaced the one whose bar was read: read the bar again
      // (a finished job's page no longer reloads itself).
      await readBar();
      assert.equal(await bar.getAttribute('max'), String(BULK));
      assert.equal(seen[seen.length - 1], BULK);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `the bar only moves forward: ${seen.join(',')}`);
      assert.ok(seen.includes(held), `the bar was seen at ${held}: ${seen.join(',')}`);
      assert.equal((await jobs()).processed, BULK, 'resumed from where it stopped: each user once');
      assert.match(await page.getByTestId('job-counts').innerText(), /1,?000 of 1,?000 handled: 1,?000 changed, 0 unchanged, 0 skipped/);
      await shot(page, 'admin-users-bulk-done');

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-link').click()]);
      const report = fs.readFileSync(await download.path(), 'utf8').trim().split('\r\n');
      assert.equal(report[0], 'Line,Input,SipAddress,Outcome,Code,Reason');
      const lines = report.slice(1).map((l) => l.split(','));
      assert.equal(lines.length, BULK);
      assert.deepEqual(lines.map((l) => l[0]), Array.from({ length: BULK }, (_, i) => String(i + 1)));
      assert.ok(lines.every((l) => l[3] === 'done' && /^sip:bulk[0-9]{4}@contoso\.com$/.test(l[2]!)), 'every line is a bulk user, done');
      assert.equal(new Set(lines.map((l) => l[2])).size, BULK);

      const after = await dbCounts();
      assert.equal(after.enabled, BULK);
      const notTouched = await t.ctx.db.kysely.selectFrom('users').select('sip').where('dialin_enabled', '=', 1).where((eb) => eb.or([eb('sip', 'like', 'sip:other%'), eb('sip', 'like', 'sip:bulkfr%')])).execute();
      assert.deepEqual(notTouched, [], 'the users outside the filter stay as they were');
      assert.equal(after.welcomes.length, BULK, 'one welcome mail each');
      assert.equal(new Set(after.welcomes.map((w) => w.user_id)).size, BULK, 'no user mailed twice');
      assert.ok(after.welcomes.every((w) => /^bulk[0-9]{4}@contoso\.com$/.test(w.recipient)));
      await page.context().close();
    });

    it('imports a CSV: the preview shows what will be added and what is wrong, writing nothing; applying adds them', async () => {
      const page = await signedIn('/admin/users');
      await page.getByRole('link', { name: 'Import users from CSV' }).click();
      await page.waitForURL(/\/admin\/users\/import$/);
      const stops = await tabStops(page);
      for (const id of ['f-file', 'f-skipInvalid', 'Preview']) assert.ok(stops.includes(id), `Tab reaches ${id}: ${stops.join(' | ')}`);
      const csv = [
        'UserUri,DisplayName,EmailAddress,Language',
        'ann.new@contoso.com,Ann New,ann.new@contoso.com,en-US',
        'bob.new@contoso.com,Bob New,bob.new@contoso.com,fr-FR',
        'carl.new@contoso.com,Carl New,carl.new@contoso.com,en-US',
        'not an address,Bad Line,bad,en-US',
        'bulk0001@contoso.com,Already There,bulk0001@contoso.com,en-US',
      ].join('\n');
      await page.getByLabel(/CSV file/).setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      const before = await dumpDb(t.ctx.db);
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.getByRole('heading', { name: 'What the import will do' }).waitFor();
      assert.match(await page.getByTestId('import-will-add').innerText(), /3 new user\(s\) will be added/);
      assert.match(await page.getByTestId('import-problems').innerText(), /2 line\(s\) are invalid/);
      const problemRows = await page.getByTestId('import-problems-table').locator('tbody tr').allInnerTexts();
      assert.equal(problemRows.length, 2);
      assert.match(problemRows[0]!, /^5\b/);
      assert.match(problemRows[1]!, /^6\b[\s\S]*USER_EXISTS/);
      assert.equal(await page.getByRole('button', { name: 'Import these users' }).count(), 0, 'nothing to apply while lines are invalid');
      assert.match(await page.getByText('nothing will be imported').innerText(), /unless you skip them/);
      const unchanged = await dumpDb(t.ctx.db);
      for (const d of [before, unchanged]) for (const k of ['web_sessions', 'user_jobs', 'user_job_items', 'key_holders']) delete d[k]; // sessions, the preview's own job row, the key keeper's heartbeat
      assert.deepEqual(unchanged, before, 'the preview wrote no user, mail or audit row');

      // Again, skipping the invalid lines: now it can be applied.
      await page.goto(`${base}/admin/users/import`);
      await page.getByLabel(/CSV file/).setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.getByLabel('Import the valid lines and skip the invalid ones').check();
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.getByRole('heading', { name: 'What the import will do' }).waitFor();
      const sample = await page.getByTestId('import-sample').locator('tbody tr td:first-child').allInnerTexts();
      assert.deepEqual(sample, ['ann.new@contoso.com', 'bob.new@contoso.com', 'carl.new@contoso.com']);
      assert.match(await page.getByTestId('import-will-skip').innerText(), /invalid lines will be skipped/);
      const applyStops = await tabStops(page);
      assert.ok(applyStops.includes('Import these users'), `Tab reaches the apply button: ${applyStops.join(' | ')}`);
      await shot(page, 'admin-users-import-preview');
      assert.equal(await t.ctx.db.kysely.selectFrom('users').select('id').where('sip', 'like', 'sip:%.new@contoso.com').executeTakeFirst(), undefined, 'still nothing written');

      await page.getByRole('button', { name: 'Import these users' }).click();
      await page.waitForURL(/\/admin\/users\/jobs\/[0-9a-f-]{36}$/);
      assert.match(await page.getByRole('status').filter({ hasText: 'imported' }).innerText(), /3 user\(s\) were imported/);
      assert.equal(await page.getByTestId('job-status').innerText(), 'Finished');
      assert.match(await page.getByTestId('job-counts').innerText(), /5 of 5 handled: 3 changed, 0 unchanged, 2 skipped/);
      await shot(page, 'admin-users-import-done');
      const added = await t.ctx.db.kysely.selectFrom('users').select(['sip', 'display_name', 'language', 'dialin_enabled']).where('sip', 'like', 'sip:%.new@contoso.com').orderBy('sip').execute();
      assert.deepEqual(added, [
        { sip: 'sip:ann.new@contoso.com', display_name: 'Ann New', language: 'en-US', dialin_enabled: 0 },
        { sip: 'sip:bob.new@contoso.com', display_name: 'Bob New', language: 'fr-FR', dialin_enabled: 0 },
        { sip: 'sip:carl.new@contoso.com', display_name: 'Carl New', language: 'en-US', dialin_enabled: 0 },
      ]);
      const existing = await t.ctx.db.kysely.selectFrom('users').select('display_name').where('sip', '=', 'sip:bulk0001@contoso.com').executeTakeFirstOrThrow();
      assert.equal(existing.display_name, 'bulk 1', 'the line of an existing user changed nothing');
      // The users list finds them.
      await page.goto(`${base}/admin/users?q=.new`);
      assert.match(await page.getByTestId('user-count').innerText(), /^3 user/);
      await page.context().close();
    });

    it('at 375 px the users list, a job, the import form and its preview do not scroll sideways; no page logged an error or a CSP violation', async () => {
      const page = await signedIn('/admin/users?q=bulk', { width: 375, height: 800 });
      await noSideScroll(page, 375);
      const job = await t.ctx.db.kysely.selectFrom('user_jobs').select('id').where('kind', '=', 'enable').executeTakeFirstOrThrow();
      for (const url of [`/admin/users/jobs/${job.id}`, '/admin/users/import']) {
        await page.goto(`${base}${url}`);
        await noSideScroll(page, 375);
      }
      await page.getByLabel(/CSV file/).setInputFiles({ name: 'p.csv', mimeType: 'text/csv', buffer: Buffer.from('UserUri,DisplayName,EmailAddress,Language\ndee.new@contoso.com,Dee New,dee.new@contoso.com,en-US\n') });
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.getByRole('heading', { name: 'What the import will do' }).waitFor();
      await noSideScroll(page, 375);
      await page.context().close();
      assert.deepEqual(problems, []);
    });
  });
}
