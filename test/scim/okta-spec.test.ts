import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers } from '../support/fixtures.ts';
import { appFor, bearer, otherTenant, tokenFor } from '../http/harness.ts';
import { ERROR, scimClient, SCIM_JSON, USER } from './support.ts';

/**
 * Okta's published SCIM 2.0 spec test (the Runscope export Okta gives ISVs), replayed step by
 * step as its description lists the requests and assertions, against the real app on each dialect.
 */
for (const dialect of DIALECTS) {
  describe(`SCIM: Okta's SCIM 2.0 spec test (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;
    let token: string;
    const randomUser = { userName: 'Runscope.User7@contoso.com', givenName: 'Runscope', familyName: 'User7', email: 'runscope.user7@contoso.com' };
    let createdId = '';

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      token = await tokenFor(t.scope, 'scim');
      scim = scimClient(app, token);
      // The spec test lists users first: there must be one to look at.
      const first = await scim('POST', '/Users', { schemas: [USER], userName: 'first.user@contoso.com', name: { givenName: 'First', familyName: 'User' }, emails: [{ value: 'first.user@contoso.com', type: 'work', primary: true }], active: true });
      assert.equal(first.statusCode, 201, first.body);
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('Required test: GET /Users?count=1&startIndex=1 is a ListResponse with numbers and a complete first resource', async () => {
      const r = await scim('GET', '/Users?count=1&startIndex=1');
      assert.equal(r.statusCode, 200, r.body);
      assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
      const b = r.json();
      assert.deepEqual(b.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
      for (const k of ['itemsPerPage', 'startIndex', 'totalResults']) assert.equal(typeof b[k], 'number', k);
      assert.equal(b.itemsPerPage, 1);
      assert.equal(b.startIndex, 1);
      const u = b.Resources[0];
      assert.ok(u.id && u.userName && u.name.givenName && u.name.familyName && typeof u.active === 'boolean' && u.emails[0].value, JSON.stringify(u));
    });

    it('Required test: the first user again by id', async () => {
      const list = (await scim('GET', '/Users?count=1&startIndex=1')).json();
      const id = list.Resources[0].id;
      const r = await scim('GET', `/Users/${id}`);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().id, id);
      assert.equal(r.json().userName, 'first.user@contoso.com');
      assert.match(String(r.headers.etag), /^W\/"\d+"$/);
    });

    it('Required test: a filter on a userName nobody has answers 0 results', async () => {
      const r = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${randomUser.userName}"`)}`);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().totalResults, 0);
      assert.deepEqual(r.json().Resources, []);
    });

    it('Required test: an unknown id is 404 with the SCIM error schema, a detail and status as a string', async () => {
      const r = await scim('GET', '/Users/010101010101010');
      assert.equal(r.statusCode, 404);
      const b = r.json();
      assert.deepEqual(b.schemas, [ERROR]);
      assert.equal(b.status, '404');
      assert.ok(typeof b.detail === 'string' && b.detail.length > 0);
    });

    it('Required test: create a user with realistic values → 201, echoing them', async () => {
      const r = await scim('POST', '/Users', {
        schemas: [USER],
        userName: randomUser.userName,
        name: { givenName: randomUser.givenName, familyName: randomUser.familyName },
        emails: [{ primary: true, value: randomUser.email, type: 'work' }],
        displayName: `${randomUser.givenName} ${randomUser.familyName}`,
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        password: '1mz050nq',
        active: true,
      });
      assert.equal(r.statusCode, 201, r.body);
      const b = r.json();
      createdId = b.id;
      assert.ok(createdId);
      assert.equal(b.userName, randomUser.userName);
      assert.equal(b.name.givenName, randomUser.givenName);
      assert.equal(b.name.familyName, randomUser.familyName);
      assert.equal(b.emails[0].value, randomUser.email);
      assert.equal(b.active, true);
      assert.equal(b.externalId, '00ujl29u0le5T6Aj10h7');
      assert.equal(b.password, undefined, 'a password is never stored or answered');
      assert.equal(r.headers.location, `https://dialin.test.example/scim/v2/Users/${createdId}`);
      const row = await t.ctx.db.kysely.selectFrom('users').selectAll().where('id', '=', createdId).executeTakeFirstOrThrow();
      assert.equal(row.sip, 'sip:runscope.user7@contoso.com');
      assert.equal(row.source, 'scim');
      assert.equal(row.display_name, 'Runscope User7');
      assert.ok(!JSON.stringify(row).includes('1mz050nq'));
    });

    it('Required test: the new user by id', async () => {
      const r = await scim('GET', `/Users/${createdId}`);
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().userName, randomUser.userName);
    });

    it('Required test: creating the same userName again is 409 (uniqueness)', async () => {
      const r = await scim('POST', '/Users', { schemas: [USER], userName: randomUser.userName.toLowerCase(), name: { givenName: 'X', familyName: 'Y' }, emails: [{ value: randomUser.email }] });
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().status, '409');
      assert.equal(r.json().scimType, 'uniqueness');
      const n = await t.ctx.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('sip', '=', 'sip:runscope.user7@contoso.com').executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 1);
    });

    it('Required test: the userName in capitals is still found by the filter', async () => {
      const r = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${randomUser.userName.toUpperCase()}"`)}`);
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().totalResults, 1);
      assert.equal(r.json().Resources[0].id, createdId);
    });

    it('Required test: GET /Groups answers 200 with a ListResponse', async () => {
      const r = await scim('GET', '/Groups');
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(typeof r.json().totalResults, 'number');
    });

    it('Required test: a bad token is 401 with the error schema, a detail and status "401"', async () => {
      for (const headers of [{ authorization: 'Bearer dlt_not-a-real-token' }, { authorization: 'Basic Zm9vOmJhcg==' }, {}]) {
        const r = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers });
        assert.equal(r.statusCode, 401);
        assert.deepEqual(r.json().schemas, [ERROR]);
        assert.equal(r.json().status, '401');
        assert.ok(r.json().detail);
      }
    });

    it('discovery: ServiceProviderConfig, ResourceTypes and Schemas', async () => {
      const spc = await scim('GET', '/ServiceProviderConfig');
      assert.equal(spc.statusCode, 200);
      assert.equal(spc.json().patch.supported, true);
      assert.equal(spc.json().etag.supported, true);
      const rt = await scim('GET', '/ResourceTypes');
      assert.deepEqual(rt.json().Resources.map((r: { id: string }) => r.id), ['User', 'Group']);
      const sc = await scim('GET', '/Schemas');
      const ids = sc.json().Resources.map((r: { id: string }) => r.id);
      assert.deepEqual(ids, [USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group']);
      const ent = sc.json().Resources[1].attributes.map((a: { name: string }) => a.name);
      for (const a of ['department', 'employeeNumber', 'manager']) assert.ok(ent.includes(a), a);
    });

    it('paging, filters (eq ne co sw pr and or) and attributes/excludedAttributes', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await scim('POST', '/Users', { schemas: [USER], userName: `page${i}@contoso.com`, displayName: `Page ${i}`, externalId: `ext-${i}`, emails: [{ value: `page${i}@mail.contoso.com`, type: 'work' }], active: i % 2 === 0 });
        assert.equal(r.statusCode, 201, r.body);
      }
      const q = async (filter: string) => (await scim('GET', `/Users?count=100&filter=${encodeURIComponent(filter)}`)).json();
      assert.equal((await q('userName sw "PAGE"')).totalResults, 5);
      assert.equal((await q('externalId eq "ext-3"')).Resources[0].userName, 'page3@contoso.com');
      assert.equal((await q('externalId eq "EXT-3"')).totalResults, 0, 'externalId is case-exact');
      assert.equal((await q('emails.value co "mail.contoso"')).totalResults, 5);
      assert.equal((await q('emails[type eq "work" and value sw "page1"]')).totalResults, 1);
      assert.equal((await q('userName sw "page" and active eq false')).totalResults, 2);
      assert.equal((await q('displayName eq "Page 0" or displayName eq "Page 4"')).totalResults, 2);
      assert.equal((await q('userName sw "page" and externalId pr')).totalResults, 5);
      assert.equal((await q('userName sw "page" and displayName ne "Page 0"')).totalResults, 4);
      const p2 = (await scim('GET', `/Users?startIndex=3&count=2&filter=${encodeURIComponent('userName sw "page"')}`)).json();
      assert.deepEqual([p2.totalResults, p2.startIndex, p2.itemsPerPage], [5, 3, 2]);
      assert.deepEqual(p2.Resources.map((r: { userName: string }) => r.userName), ['page2@contoso.com', 'page3@contoso.com']);
      const all = (await scim('GET', '/Users?startIndex=2&count=3')).json();
      assert.deepEqual([all.totalResults, all.itemsPerPage], [7, 3]);
      const only = (await scim('GET', `/Users?attributes=userName,name.givenName&filter=${encodeURIComponent('userName eq "first.user@contoso.com"')}`)).json().Resources[0];
      assert.deepEqual(Object.keys(only).sort(), ['id', 'meta', 'name', 'schemas', 'userName']);
      assert.deepEqual(only.name, { givenName: 'First' });
      const without = (await scim('GET', `/Users/${createdId}?excludedAttributes=emails,name`)).json();
      assert.equal(without.emails, undefined);
      assert.equal(without.name, undefined);
      assert.equal(without.userName, randomUser.userName);
    });

    it('a CSV user with the same address is adopted, not duplicated', async () => {
      await addUsers(t.scope, 'csvperson', 1);
      const before = await t.ctx.db.kysely.selectFrom('users').selectAll().where('sip', '=', 'sip:csvperson0@contoso.com').executeTakeFirstOrThrow();
      const r = await scim('POST', '/Users', { schemas: [USER], userName: 'CsvPerson0@contoso.com', displayName: 'Csv Person' });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().id, before.id);
      const rows = await t.ctx.db.kysely.selectFrom('users').selectAll().where('sip', '=', 'sip:csvperson0@contoso.com').execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.source, 'scim');
    });

    it('a scim token reaches nothing under /api/v1, other tokens do not reach /scim/v2, another tenant sees nothing', async () => {
      const api = await app.inject({ method: 'GET', url: '/api/v1/users', headers: bearer(token) });
      assert.equal(api.statusCode, 403);
      const admin = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: bearer(await tokenFor(t.scope, 'admin')) });
      assert.equal(admin.statusCode, 403);
      assert.equal(admin.json().status, '403');
      const other = scimClient(app, await tokenFor(await otherTenant(t), 'scim'));
      assert.equal((await other('GET', '/Users')).json().totalResults, 0);
      assert.equal((await other('GET', `/Users/${createdId}`)).statusCode, 404);
      assert.equal((await other('PATCH', `/Users/${createdId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 404);
      assert.equal((await other('DELETE', `/Users/${createdId}`)).statusCode, 404);
      assert.equal((await scim('GET', `/Users/${createdId}`)).json().active, true);
    });

    it('answers in application/scim+json and accepts it as the request type', async () => {
      const r = await scim('GET', '/ServiceProviderConfig');
      assert.equal(String(r.headers['content-type']).split(';')[0], SCIM_JSON);
    });
  });
}
