import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { allCells, dumpDb } from '../support/db-dump.ts';
import { bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { freePort } from '../support/free-port.ts';
import { LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, groupLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';
import { appFor, bearer, tokenFor } from '../http/harness.ts';

/** The REST API of directory connections: the same use-cases as `dialin directory`, against a real slapd. */
for (const dialect of DIALECTS) {
  describe(`directory REST API (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let ldap: Slapd;
    let admin: Record<string, string>;
    const body = (extra: Record<string, unknown> = {}) => ({ Name: 'corp', Url: ldap.url, Base: SUFFIX, BindDn: SYNC_DN, Password: SYNC_PW, LicenceGroup: LICENCE_GROUP, CaFile: ldap.caFile, ...extra });

    before(async () => {
      t = await testEnv(dialect);
      ldap = await startSlapd([personLdif({ uid: 'ann', cn: 'Ann Lee', mail: 'ann@contoso.com' }), personLdif({ uid: 'bob', cn: 'Bob Ray', mail: 'bob@contoso.com' }), groupLdif('dialin', [`uid=ann,${PEOPLE}`])].join('\n'));
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      admin = bearer(await tokenFor(t.scope, 'admin'));
    });
    after(async () => {
      await app?.close();
      await ldap?.stop();
      await t?.cleanup();
    });

    it('refuses bad settings with 400 naming the field; a helpdesk token gets 403; nothing stored', async () => {
      const before = await dumpDb(t.ctx.db);
      const bad = await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: body({ Filter: '(uid=' }) });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual([bad.json().error.code, bad.json().error.field], ['DIRECTORY_CONFIG_INVALID', 'filter']);
      const url = await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: body({ Url: 'ldap://localhost:389/dc=x' }) });
      assert.deepEqual([url.statusCode, url.json().error.field], [400, 'url']);
      const helpdesk = await app.inject({ method: 'POST', url: '/api/v1/directories', headers: bearer(await tokenFor(t.scope, 'helpdesk')), payload: body() });
      assert.equal(helpdesk.statusCode, 403);
      assert.deepEqual((await dumpDb(t.ctx.db)).directory_connections, before.directory_connections);
    });

    it('adds, tests, previews, syncs and lists runs; the password is never answered nor stored in clear', async () => {
      const add = await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: body() });
      assert.equal(add.statusCode, 201, add.body);
      assert.equal(add.json().Password, '(sealed)');
      const test = await app.inject({ method: 'POST', url: '/api/v1/directories/corp/test', headers: admin });
      assert.equal(test.statusCode, 200, test.body);
      assert.deepEqual([test.json().Entries, test.json().LicenceGroupMembers, test.json().Samples.length], [2, 1, 2]);
      const before = await dumpDb(t.ctx.db);
      const dry = await app.inject({ method: 'POST', url: '/api/v1/directories/corp/sync', headers: admin, payload: { DryRun: true } });
      assert.deepEqual([dry.json().Status, dry.json().Counts.create, dry.json().Counts.enable], ['dry-run', 2, 1]);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const sync = await app.inject({ method: 'POST', url: '/api/v1/directories/corp/sync', headers: admin });
      assert.equal(sync.json().Status, 'applied');
      assert.equal((await userRow(t.scope, 'sip:ann@contoso.com')).dialin_enabled, 1);
      assert.equal((await userRow(t.scope, 'sip:bob@contoso.com')).dialin_enabled, 0);
      const runs = await app.inject({ method: 'GET', url: '/api/v1/directories/corp/runs', headers: admin });
      assert.deepEqual(runs.json().map((r: { Status: string }) => r.Status), ['applied']);
      for (const r of [add, test, dry, sync, runs, await app.inject({ method: 'GET', url: '/api/v1/directories', headers: admin })]) assert.ok(!r.body.includes(SYNC_PW));
      assert.deepEqual((await allCells(t.ctx.db)).filter((c) => c.value.includes(SYNC_PW)), []);
    });

    it('a wrong password is a 400 naming it, an unreachable directory a 503, an unknown name a 404: never a 500', async () => {
      await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: body({ Name: 'wrongpw', Password: 'nope' }) });
      await app.inject({ method: 'POST', url: '/api/v1/directories', headers: admin, payload: body({ Name: 'down', Url: `ldap://localhost:${await freePort()}` }) });
      const wrong = await app.inject({ method: 'POST', url: '/api/v1/directories/wrongpw/sync', headers: admin });
      assert.deepEqual([wrong.statusCode, wrong.json().error.code, wrong.json().error.field], [400, 'DIRECTORY_BIND_FAILED', 'password']);
      const down = await app.inject({ method: 'POST', url: '/api/v1/directories/down/test', headers: admin });
      assert.deepEqual([down.statusCode, down.json().error.code], [503, 'DIRECTORY_UNAVAILABLE']);
      const missing = await app.inject({ method: 'POST', url: '/api/v1/directories/nope/sync', headers: admin });
      assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'DIRECTORY_NOT_FOUND']);
      const removed = await app.inject({ method: 'DELETE', url: '/api/v1/directories/corp', headers: admin });
      assert.deepEqual(removed.json(), { name: 'corp', unlinkedUsers: 2 });
    });
  });
}
