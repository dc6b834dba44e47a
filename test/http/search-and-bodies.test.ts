import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { addUser, listUsers } from '../../src/app/users.ts';
import { appFor, bearer, json, tokenFor } from './harness.ts';

/** Issue 10, defect 9: a search takes % and _ literally; a route that takes no body refuses one. */
for (const dialect of DIALECTS) {
  describe(`Search wildcards and bodies the route does not take (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: string;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234');
      await enable(t.scope, await addUsers(t.scope, 'bea', 3));
      await addUser(t.scope, { UserUri: 'sales_team@contoso.com', DisplayName: 'Sales 100% Team' });
      await addUser(t.scope, { UserUri: 'salesxteam@contoso.com', DisplayName: 'Sales 1000 Team' });
      app = await appFor(t);
      admin = await tokenFor(t.scope, 'admin');
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    const search = async (q: string): Promise<string[]> => {
      const r = await app.inject({ method: 'GET', url: `/api/v1/users?Search=${encodeURIComponent(q)}`, headers: bearer(admin) });
      assert.equal(r.statusCode, 200, r.body);
      return json<{ Users?: { SipAddress: string }[]; users?: unknown }>(r).Users!.map((u) => u.SipAddress).sort();
    };

    it('% and _ in Search are characters, not wildcards (API and the use-case)', async () => {
      assert.deepEqual(await search('%'), ['sip:sales_team@contoso.com'], '"%" finds the one name with a %, not everyone');
      assert.deepEqual(await search('_'), ['sip:sales_team@contoso.com'], '"_" finds the one address with an _, not everyone');
      assert.deepEqual(await search('100%'), ['sip:sales_team@contoso.com']);
      assert.deepEqual(await search('sales_'), ['sip:sales_team@contoso.com'], 'not salesxteam');
      assert.deepEqual(await search('\\'), [], 'a backslash is a character too');
      assert.deepEqual(await search('SALES'), ['sip:sales_team@contoso.com', 'sip:salesxteam@contoso.com'], 'still case-insensitive');
      assert.equal((await listUsers(t.scope, { search: '%', limit: 50, offset: 0 })).total, 1);
      assert.equal((await listUsers(t.scope, { search: 'bea', limit: 50, offset: 0 })).total, 3);
    });

    it('domain\\logon with an _ finds that user only', async () => {
      const r = await app.inject({ method: 'GET', url: `/api/v1/users/${encodeURIComponent('contoso\\sales_team')}`, headers: bearer(admin) });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(json(r).SipAddress, 'sip:sales_team@contoso.com');
      const none = await app.inject({ method: 'GET', url: `/api/v1/users/${encodeURIComponent('contoso\\sales%')}`, headers: bearer(admin) });
      assert.equal(none.statusCode, 404, none.body);
    });

    it('POST …/reset-pin {"Pin":"…"} is refused (400 UNKNOWN_PARAMETER) and resets nothing; without a body it resets', async () => {
      const url = `/api/v1/users/${encodeURIComponent('bea0@contoso.com')}/dialin/reset-pin`;
      // The token's last use is recorded on every call; everything else must stay as it was.
      const state = async () => ({ ...(await dumpDb(t.ctx.db)), api_tokens: undefined });
      const before = await state();
      for (const payload of [{ Pin: '12345678' }, { anything: 1 }]) {
        const r = await app.inject({ method: 'POST', url, headers: bearer(admin), payload });
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(json<{ error: { code: string; field: string } }>(r).error.code, 'UNKNOWN_PARAMETER');
        assert.equal(json<{ error: { code: string; field: string } }>(r).error.field, Object.keys(payload)[0]);
      }
      for (const raw of ['[1]', '"12345"', '42']) {
        const r = await app.inject({ method: 'POST', url, headers: { ...bearer(admin), 'content-type': 'application/json' }, payload: raw });
        assert.equal(r.statusCode, 400, `${raw}: ${r.body}`);
      }
      assert.deepEqual(await state(), before, 'a refused body changed nothing');
      for (const ok of [undefined, {}]) {
        const r = await app.inject({ method: 'POST', url, headers: bearer(admin), ...(ok ? { payload: ok } : {}) });
        assert.equal(r.statusCode, 200, r.body);
        assert.match(String(json<{ Result: { LeaderPin: string } }>(r).Result.LeaderPin), /^[0-9]{5,}$/);
      }
    });

    it('every API route that changes something either has a body schema or refuses fields (one default, at the root)', async () => {
      const doc = json<{ paths: Record<string, Record<string, { requestBody?: unknown }>> }>(await app.inject({ method: 'GET', url: '/api/openapi.json' }));
      const missing: string[] = [];
      for (const [path, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops)) if (['post', 'put', 'patch', 'delete'].includes(m) && !op.requestBody && path !== '/api/v1/users/import') missing.push(`${m} ${path}`);
      assert.deepEqual(missing, []);
      const del = await app.inject({ method: 'DELETE', url: '/api/v1/tenant-settings', headers: bearer(admin), payload: { PinLength: 6 } });
      assert.equal(del.statusCode, 400, del.body);
      const lock = await app.inject({ method: 'POST', url: `/api/v1/users/${encodeURIComponent('bea1@contoso.com')}/pin/lock`, headers: bearer(admin), payload: { Force: true } });
      assert.equal(lock.statusCode, 400, lock.body);
    });
  });
}
