import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { Attribute, Change, type Client } from 'ldapts';
import type { Browser, Page } from 'playwright-core';
import { testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, groupLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';
import { addAdmin } from '../../src/app/admins.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import { syncDirectory } from '../../src/app/directory-sync.ts';
import { serve, type RunningServer } from '../../src/main/serve.ts';
import { launchChromium, screenshotDir, watchConsole } from './browser.ts';
import { freePort } from '../support/free-port.ts';

const PASSWORD = 'a long admin password';
const uid = (u: string) => `uid=${u},${PEOPLE}`;
const LDIF = [
  personLdif({ uid: 'ann', cn: 'Ann Lee', mail: 'ann@contoso.com', ou: 'Finance' }),
  personLdif({ uid: 'bob', cn: 'Bob Ray', mail: 'bob@contoso.com', ou: 'Sales' }),
  personLdif({ uid: 'carl', cn: 'Carl Diaz', mail: 'carl@contoso.com', ou: 'Sales' }),
  personLdif({ uid: 'nomail', cn: 'No Mail', ou: 'Sales' }),
  groupLdif('dialin', [uid('ann'), uid('bob'), uid('carl')]),
].join('\n');

/**
 * The admin center's Directory page in a real Chromium against a private slapd: the connection
 * with its last sync and counts, Test (the real bind and count), Run now, a sync held by the
 * mass-disable guard and its approval, an unreachable directory's error, in English and French.
 */
describe('in a real browser: the Directory page', () => {
  let t: TestEnv;
  let ldap: Slapd;
  let admin: Client | null = null;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let shots: string;
  const consoleProblems: string[] = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testEnv('sqlite', { PORT: String(port), DIALIN_PUBLIC_URL: base });
    ldap = await startSlapd(LDIF);
    admin = await ldap.admin();
    await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
    // A long interval: the scheduler of serve leaves the connection to the buttons.
    await addDirectoryConnection(t.scope, { name: 'corp', url: ldap.url, base: SUFFIX, bindDn: SYNC_DN, password: SYNC_PW, caFile: ldap.caFile, licenceGroup: LICENCE_GROUP, interval: '24h', maxDisable: '1' });
    assert.equal((await syncDirectory(t.scope, 'corp')).Status, 'applied');
    await addAdmin(t.scope, { email: 'admin@contoso.com', role: 'admin', password: PASSWORD });
    server = await serve(t.config, { worker: false, log: pino({ level: 'silent' }) });
    browser = await launchChromium();
    shots = screenshotDir();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await admin?.unbind().catch(() => {});
    await ldap?.stop();
    if (ldap) fs.rmSync(path.dirname(ldap.caFile), { recursive: true, force: true });
    await t?.cleanup();
  });

  const signedIn = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    consoleProblems.push(...watchConsole(page));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${base}/admin/directories`);
    await page.getByLabel('E-mail address').fill('admin@contoso.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/directories/);
    return page;
  };
  const card = (page: Page) => page.getByTestId('directory-corp');

  it('shows the connection, its last sync and counts; Test binds and counts for real, changing nothing', async () => {
    const page = await signedIn();
    await page.getByRole('link', { name: 'Directory' }).waitFor();
    assert.match(await card(page).getByTestId('last-sync').innerText(), /applied · full/);
    assert.match(await card(page).getByTestId('last-counts').innerText(), /Entries 4, licensed 3; created 3, adopted 0, updated 0, enabled 3, disabled 0, skipped 1/);
    await card(page).getByRole('button', { name: 'Test the connection' }).click();
    const tested = await page.getByTestId('directory-test').innerText();
    assert.match(tested, /4 entries match the filter; licence group members: 3/);
    assert.match(tested, /no mail/i, 'the entry without mail is listed as one that would be skipped');
    await shot(page, 'directory-test');
    assert.equal((await userRow(t.scope, 'sip:bob@contoso.com')).dialin_enabled, 1);
  });

  it('Run now over a mass disable is held; the page offers the approval, which disables them', async () => {
    await admin!.modify(LICENCE_GROUP, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [uid('bob'), uid('carl')] }) }));
    const page = await signedIn();
    await card(page).getByRole('button', { name: 'Run now' }).click();
    assert.match(await page.getByTestId('directory-sync').innerText(), /held: it would disable 2 users \(limit 1\)/);
    assert.match(await card(page).getByTestId('held').innerText(), /would disable 2 users/);
    assert.equal((await userRow(t.scope, 'sip:bob@contoso.com')).dialin_enabled, 1, 'nothing changed while held');
    await shot(page, 'directory-held');
    await card(page).getByRole('button', { name: 'Approve and disable them' }).click();
    assert.match(await page.getByTestId('directory-sync').innerText(), /Sync of corp done: .*disabled 2/);
    assert.equal(await card(page).getByTestId('held').count(), 0, 'no approval pending any more');
    assert.deepEqual([(await userRow(t.scope, 'sip:bob@contoso.com')).dialin_enabled, (await userRow(t.scope, 'sip:carl@contoso.com')).dialin_enabled, (await userRow(t.scope, 'sip:ann@contoso.com')).dialin_enabled], [0, 0, 1]);
  });

  it('adds a connection in the page (password field, CA uploaded), tests it, runs it, edits it keeping the password, removes it', async () => {
    // A second directory of its own, so the new connection's people are not corp's.
    const lab = await startSlapd([personLdif({ uid: 'dan', cn: 'Dan Fox', mail: 'dan@contoso.com' }), personLdif({ uid: 'eve', cn: 'Eve Moss', mail: 'eve@contoso.com' }), groupLdif('dialin', [uid('dan')])].join('\n'));
    try {
      const page = await signedIn();
      await page.getByRole('link', { name: 'Add a connection' }).click();
      const form = page.getByTestId('directory-form');
      const fill = async (url: string) => {
        await form.getByLabel('Name', { exact: true }).fill('lab');
        await form.getByLabel('Server').fill(url);
        await form.getByLabel('Base DN').fill(SUFFIX);
        await form.getByLabel('Bind DN').fill(SYNC_DN);
        await form.getByLabel('Bind password').fill(SYNC_PW);
        await form.getByLabel('Licence group').fill(LICENCE_GROUP);
        await form.getByLabel('Or upload the CA certificate file').setInputFiles(lab.caFile);
      };
      await fill(lab.url);
      await shot(page, 'directory-add');
      // Refused first: plaintext asked for an ldaps:// URL. Nothing stored, the password not sent back.
      await form.getByLabel('Server').fill(lab.url.replace('ldap://', 'ldaps://'));
      await form.getByLabel('Plain LDAP without StartTLS (insecure)').check();
      await form.getByRole('button', { name: 'Add the connection' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /CONFLICTING_PARAMETERS/);
      assert.equal(await page.getByLabel('Bind password').inputValue(), '');
      assert.ok(!(await page.content()).includes(SYNC_PW));
      assert.equal((await t.ctx.db.kysely.selectFrom('directory_connections').select('name').execute()).length, 1);
      await fill(lab.url);
      await form.getByLabel('Plain LDAP without StartTLS (insecure)').uncheck();
      await form.getByRole('button', { name: 'Add the connection' }).click();
      assert.match(await page.getByTestId('directory-notice').innerText(), /Connection lab added/);
      const row = await t.ctx.db.kysely.selectFrom('directory_connections').selectAll().where('name', '=', 'lab').executeTakeFirstOrThrow();
      assert.match(String(row.ca_pem), /^-----BEGIN CERTIFICATE-----/);
      assert.equal(row.ca_file, null, 'the CA is kept with the connection, not as a path');
      assert.ok(row.bind_password_sealed && !row.bind_password_sealed.includes(SYNC_PW));
      const labCard = page.getByTestId('directory-lab');
      await labCard.getByRole('button', { name: 'Test the connection' }).click();
      assert.match(await page.getByTestId('directory-test').innerText(), /2 entries match the filter; licence group members: 1/);
      await labCard.getByRole('button', { name: 'Run now' }).click();
      assert.match(await page.getByTestId('directory-sync').innerText(), /Sync of lab done: .*created 2, .*enabled 1/);
      assert.equal((await userRow(t.scope, 'sip:dan@contoso.com')).dialin_enabled, 1);
      // Edit: the password field is empty and says one is kept; saving without it keeps it (the test still binds).
      await labCard.getByRole('link', { name: 'Edit' }).click();
      assert.equal(await page.getByLabel('Bind password').inputValue(), '');
      assert.match(await page.getByTestId('directory-form').innerText(), /A password is kept \(sealed\)/);
      assert.ok(!(await page.content()).includes(SYNC_PW));
      await page.getByLabel('Sync every').fill('1h');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.match(await page.getByTestId('directory-notice').innerText(), /Connection lab saved/);
      await labCard.getByRole('button', { name: 'Test the connection' }).click();
      assert.match(await page.getByTestId('directory-test').innerText(), /bind ok|2 entries match/i);
      assert.match(await labCard.innerText(), /1h/);
      await labCard.getByRole('button', { name: 'Remove' }).click();
      assert.match(await page.getByTestId('directory-notice').innerText(), /Connection lab removed; 2 users stay/);
      assert.equal(await page.getByTestId('directory-lab').count(), 0);
      assert.equal((await userRow(t.scope, 'sip:dan@contoso.com')).directory_id, null);
      assert.equal((await userRow(t.scope, 'sip:dan@contoso.com')).dialin_enabled, 1, 'the users stay as they were');
      const audit = await t.ctx.db.kysely.selectFrom('audit').select(['action', 'details']).where('action', 'like', 'directory.%').execute();
      assert.deepEqual(audit.filter((a) => ['directory.add', 'directory.edit', 'directory.remove'].includes(a.action)).map((a) => a.action).sort(), ['directory.add', 'directory.add', 'directory.edit', 'directory.remove']);
      assert.ok(!JSON.stringify(audit).includes(SYNC_PW));
    } finally {
      await lab.stop();
      fs.rmSync(path.dirname(lab.caFile), { recursive: true, force: true });
    }
  });

  it('a directory that cannot be reached: the error on the page and in the last sync, in French too', async () => {
    // slapd stops (its directory goes with it); the CA file the connection names is put back, so what fails is the server.
    const ca = fs.readFileSync(ldap.caFile);
    // The admin client first: an unbind sent to a stopped server would wait for ever.
    await admin!.unbind().catch(() => {});
    admin = null;
    await ldap.stop();
    fs.mkdirSync(path.dirname(ldap.caFile), { recursive: true });
    fs.writeFileSync(ldap.caFile, ca);
    const page = await signedIn();
    await card(page).getByRole('button', { name: 'Run now' }).click();
    assert.match(await page.getByTestId('directory-error').innerText(), /DIRECTORY_UNAVAILABLE/);
    assert.match(await card(page).getByTestId('last-error').innerText(), /DIRECTORY_UNAVAILABLE/);
    await page.getByRole('link', { name: 'Français' }).click();
    await page.waitForURL(/\/admin\/directories/);
    assert.equal(await page.locator('h1').first().innerText(), 'Annuaire');
    assert.match(await card(page).getByTestId('last-sync').innerText(), /en échec/);
    await card(page).getByRole('button', { name: 'Tester la connexion' }).waitFor();
    await shot(page, 'directory-fr');
    assert.deepEqual(consoleProblems, []);
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
});
