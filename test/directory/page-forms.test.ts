import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { allCells, dumpDb } from '../support/db-dump.ts';
import { bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, groupLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';
import { appFor, bearer, signIn, tokenFor } from '../http/harness.ts';

/** A multipart/form-data body as a browser sends it (text fields, and files with a filename). */
function multipart(fields: Record<string, string>, files: Record<string, Buffer> = {}): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----dialinTestBoundary7MA4YWxkTrZu0gW';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const [k, v] of Object.entries(files)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="ca.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n`), v, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/**
 * The admin center's add, edit and remove of a directory connection, and the API's PEM and PUT,
 * against a real slapd: the same checks as `dialin directory add`, the password sealed and never
 * sent back, the CA kept as PEM, the anti-forgery token and the admin role required.
 */
for (const dialect of DIALECTS) {
  describe(`Directory page forms and API edit (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let ldap: Slapd;
    let pem: string;
    let a: { cookie: string; csrf: string };
    const form = (f: Record<string, string>, files: Record<string, Buffer> = {}, o: { csrf?: string | null; cookie?: string } = {}) => {
      const m = multipart({ ...(o.csrf === null ? {} : { _csrf: o.csrf ?? a.csrf }), ...f }, files);
      return { payload: m.payload, headers: { ...m.headers, cookie: o.cookie ?? a.cookie } };
    };
    const fields = (extra: Record<string, string> = {}) => ({ name: 'corp', kind: 'openldap', url: ldap.url, base: SUFFIX, bindDn: SYNC_DN, password: SYNC_PW, licenceGroup: LICENCE_GROUP, filter: '', caPem: '', interval: '5m', maxDisable: '', ...extra });
    const conn = (name: string) => t.ctx.db.kysely.selectFrom('directory_connections').selectAll().where('name', '=', name).executeTakeFirst();

    before(async () => {
      t = await testEnv(dialect);
      ldap = await startSlapd([personLdif({ uid: 'ann', cn: 'Ann Lee', mail: 'ann@contoso.com' }), personLdif({ uid: 'bob', cn: 'Bob Ray', mail: 'bob@contoso.com' }), groupLdif('dialin', [`uid=ann,${PEOPLE}`])].join('\n'));
      pem = fs.readFileSync(ldap.caFile, 'utf8');
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      a = await signIn(app, t.scope, 'admin@contoso.com');
    });
    after(async () => {
      await app?.close();
      await ldap?.stop();
      await t?.cleanup();
    });

    it('refuses without the anti-forgery token, for a helpdesk session, and bad settings with the field marked: nothing stored, the password never sent back', async () => {
      const before = await dumpDb(t.ctx.db);
      const noCsrf = await app.inject({ method: 'POST', url: '/admin/directories/new', ...form(fields(), {}, { csrf: null }) });
      assert.equal(noCsrf.statusCode, 403);
      const wrongCsrf = await app.inject({ method: 'POST', url: '/admin/directories/new', ...form(fields(), {}, { csrf: 'nope' }) });
      assert.equal(wrongCsrf.statusCode, 403);
      const h = await signIn(app, t.scope, 'help@contoso.com', 'helpdesk');
      for (const url of ['/admin/directories/new']) {
        assert.equal((await app.inject({ method: 'GET', url, headers: { cookie: h.cookie } })).statusCode, 403);
        assert.equal((await app.inject({ method: 'POST', url, ...form(fields(), {}, { csrf: h.csrf, cookie: h.cookie }) })).statusCode, 403);
      }
      const cases: [Record<string, string>, Record<string, Buffer>, string, string][] = [
        [fields({ base: 'not a dn' }), {}, 'base', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ url: 'http://localhost' }), {}, 'url', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ url: ldap.url.replace('ldap:', 'ldaps:'), insecurePlaintext: 'true' }), {}, 'insecurePlaintext', 'CONFLICTING_PARAMETERS'],
        [fields({ caPem: '-----BEGIN CERTIFICATE-----\r\nbm90IGEgY2VydA==\r\n-----END CERTIFICATE-----\r\n' }), {}, 'caPem', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ caPem: 'just text' }), {}, 'caPem', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ caPem: pem.replace(/\n/g, '\r\n') }), { caUpload: Buffer.from(pem.replace('-----BEGIN', 'junk\n-----BEGIN').replace(/[A-Za-z]{4}\n-----END/, 'AAAA\n-----END')) }, 'caPem', 'CONFLICTING_PARAMETERS'],
        [fields({ filter: '(uid=' }), {}, 'filter', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ interval: '2s' }), {}, 'interval', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ maxDisable: '-3' }), {}, 'maxDisable', 'DIRECTORY_CONFIG_INVALID'],
        [fields({ password: '' }), {}, 'password', 'MISSING_ARGUMENT'],
        [fields({ name: 'a b' }), {}, 'name', 'DIRECTORY_CONFIG_INVALID'],
      ];
      for (const [f, files, input, code] of cases) {
        const r = await app.inject({ method: 'POST', url: '/admin/directories/new', ...form(f, files) });
        assert.equal(r.statusCode, 400, `${input}: ${r.body.slice(0, 300)}`);
        assert.ok(r.body.includes(code), `${input} → ${code}`);
        assert.match(r.body, new RegExp(`id="f-${input}"[^>]*aria-invalid="true"|<div class="field[^"]*"><input id="f-${input}"[^]*?field-error`), `${input} is marked`);
        assert.ok(!r.body.includes(SYNC_PW), 'the password is never sent back');
      }
      assert.deepEqual((await dumpDb(t.ctx.db)).directory_connections, before.directory_connections);
    });

    it('adds with the CA pasted (CRLF, as a textarea sends it) and the password sealed; Test binds over verified StartTLS; Run now syncs', async () => {
      const r = await app.inject({ method: 'POST', url: '/admin/directories/new', ...form(fields({ caPem: `The CA:\r\n${pem.replace(/\n/g, '\r\n')}` })) });
      assert.equal(r.statusCode, 200, r.body.slice(0, 500));
      assert.match(r.body, /data-testid="directory-notice">Connection corp added/);
      const row = (await conn('corp'))!;
      assert.equal(row.ca_pem, pem.replace(/\r/g, ''), 'the PEM block alone is kept');
      assert.equal(row.ca_file, null);
      assert.ok(!r.body.includes(SYNC_PW));
      const test = await app.inject({ method: 'POST', url: '/admin/directories/corp/test', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.equal(test.statusCode, 200);
      assert.match(test.body, /2 entries match the filter; licence group members: 1/);
      const sync = await app.inject({ method: 'POST', url: '/admin/directories/corp/sync', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.match(sync.body, /Sync of corp done: .*created 2.*enabled 1/);
      const again = await app.inject({ method: 'POST', url: '/admin/directories/new', ...form(fields({ name: 'CORP' })) });
      assert.deepEqual([again.statusCode, again.body.includes('DIRECTORY_EXISTS')], [409, true]);
      const show = await app.inject({ method: 'GET', url: '/api/v1/directories/corp', headers: bearer(await tokenFor(t.scope, 'admin')) });
      assert.match(show.json().CaCertificate, /dialin test CA/);
      assert.deepEqual((await allCells(t.ctx.db)).filter((c) => c.value.includes(SYNC_PW)), []);
    });

    it('edits: the form never shows the password; saved without one keeps it; a new base forgets the watermarks; a new bind DN needs a password', async () => {
      const page = await app.inject({ method: 'GET', url: '/admin/directories/corp/edit', headers: { cookie: a.cookie } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /A password is kept \(sealed\)/);
      assert.match(page.body, /id="f-password" name="password" type="password" value=""/);
      assert.ok(page.body.includes('-----BEGIN CERTIFICATE-----'), 'the kept CA (public) is in the box');
      const sealed = (await conn('corp'))!.bind_password_sealed;
      assert.notEqual((await conn('corp'))!.sync_mark, null);
      const keep = await app.inject({ method: 'POST', url: '/admin/directories/corp/edit', ...form({ ...fields({ password: '', interval: '1h', caPem: pem.replace(/\n/g, '\r\n') }), name: 'ignored' }) });
      assert.equal(keep.statusCode, 200, keep.body.slice(0, 400));
      assert.match(keep.body, /Connection corp saved/);
      let row = (await conn('corp'))!;
      assert.deepEqual([row.bind_password_sealed, row.interval_ms, row.name], [sealed, 3_600_000, 'corp']);
      assert.notEqual(row.sync_mark, null, 'only the interval changed: the watermark stays');
      const moved = await app.inject({ method: 'POST', url: '/admin/directories/corp/edit', ...form(fields({ password: '', base: PEOPLE, caPem: '' }), { caUpload: Buffer.from(pem) }) });
      assert.equal(moved.statusCode, 200);
      row = (await conn('corp'))!;
      assert.deepEqual([row.base_dn, row.sync_mark, row.last_full_at, row.bind_password_sealed], [PEOPLE, null, null, sealed]);
      const before = await dumpDb(t.ctx.db);
      const newDn = await app.inject({ method: 'POST', url: '/admin/directories/corp/edit', ...form(fields({ password: '', bindDn: `cn=other,${SUFFIX}` })) });
      assert.deepEqual([newDn.statusCode, newDn.body.includes('MISSING_ARGUMENT')], [400, true]);
      assert.deepEqual((await dumpDb(t.ctx.db)).directory_connections, before.directory_connections);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'directory.edit').execute();
      assert.equal(audit.length, 2);
      assert.ok(!JSON.stringify(audit).includes(SYNC_PW));
    });

    it('the API takes the CA as PEM and replaces settings with PUT (the password kept when left out)', async () => {
      const admin = bearer(await tokenFor(t.scope, 'admin'));
      const add = await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: { Name: 'api', Url: ldap.url, Base: SUFFIX, BindDn: SYNC_DN, Password: SYNC_PW, CaPem: pem } });
      assert.equal(add.statusCode, 201, add.body);
      const test = await app.inject({ method: 'POST', url: '/api/v1/directories/api/test', headers: admin });
      assert.deepEqual([test.statusCode, test.json().Entries], [200, 2]);
      const both = await app.inject({ method: 'PUT', url: '/api/v1/directories/api', headers: admin, payload: { Url: ldap.url, Base: SUFFIX, BindDn: SYNC_DN, CaPem: pem, CaFile: ldap.caFile } });
      assert.deepEqual([both.statusCode, both.json().error.code, both.json().error.field], [400, 'CONFLICTING_PARAMETERS', 'ca-pem']);
      const put = await app.inject({ method: 'PUT', url: '/api/v1/directories/api', headers: admin, payload: { Url: ldap.url, Base: SUFFIX, BindDn: SYNC_DN, CaPem: pem, LicenceGroup: LICENCE_GROUP } });
      assert.deepEqual([put.statusCode, put.json().Password, put.json().LicenceGroup], [200, '(sealed)', LICENCE_GROUP]);
      const again = await app.inject({ method: 'POST', url: '/api/v1/directories/api/test', headers: admin });
      assert.deepEqual([again.statusCode, again.json().LicenceGroupMembers], [200, 1]);
      const missing = await app.inject({ method: 'PUT', url: '/api/v1/directories/nope', headers: admin, payload: { Url: ldap.url, Base: SUFFIX } });
      assert.equal(missing.statusCode, 404);
      const helpdesk = await app.inject({ method: 'PUT', url: '/api/v1/directories/api', headers: bearer(await tokenFor(t.scope, 'helpdesk')), payload: { Url: ldap.url, Base: SUFFIX } });
      assert.equal(helpdesk.statusCode, 403);
    });

    it('removes from the page: the users stay, no longer linked; a helpdesk session may not', async () => {
      const h = await signIn(app, t.scope, 'help2@contoso.com', 'helpdesk');
      const refused = await app.inject({ method: 'POST', url: '/admin/directories/corp/remove', headers: { cookie: h.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(h.csrf)}` });
      assert.equal(refused.statusCode, 403);
      const noCsrf = await app.inject({ method: 'POST', url: '/admin/directories/corp/remove', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
      assert.equal(noCsrf.statusCode, 403);
      assert.ok(await conn('corp'));
      const r = await app.inject({ method: 'POST', url: '/admin/directories/corp/remove', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.equal(r.statusCode, 200);
      assert.match(r.body, /Connection corp removed; 2 users stay/);
      assert.equal(await conn('corp'), undefined);
      assert.equal((await userRow(t.scope, 'sip:ann@contoso.com')).directory_id, null);
      assert.equal((await userRow(t.scope, 'sip:ann@contoso.com')).dialin_enabled, 1);
      const gone = await app.inject({ method: 'POST', url: '/admin/directories/corp/remove', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(a.csrf)}` });
      assert.equal(gone.statusCode, 404);
    });
  });
}
