import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { appFor, tokenFor } from '../http/harness.ts';
import { ERROR, GROUP, PATCH_OP, scimClient, USER } from './support.ts';

/**
 * Bad SCIM input: each answer is a SCIM error (the error schema, status as a string, a scimType
 * where RFC 7644 has one, the field named in the detail), never a 500, and the database is
 * exactly as before (nothing half-applied).
 */
for (const dialect of DIALECTS) {
  describe(`SCIM: bad input (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;
    let userId = '';
    let groupId = '';

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      scim = scimClient(app, await tokenFor(t.scope, 'scim'));
      userId = (await scim('POST', '/Users', { schemas: [USER], userName: 'kept@contoso.com', displayName: 'Kept' })).json().id;
      groupId = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Kept group', members: [{ value: userId }] })).json().id;
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    const refused = async (r: Promise<LightMyRequestResponse>, status: number, scimType: string | null, detail: RegExp) => {
      const before = await dumpDb(t.ctx.db);
      const res = await r;
      assert.equal(res.statusCode, status, res.body);
      const b = res.json();
      assert.deepEqual(b.schemas, [ERROR]);
      assert.equal(b.status, String(status));
      if (scimType) assert.equal(b.scimType, scimType);
      assert.match(b.detail, detail);
      const afterDump = await dumpDb(t.ctx.db);
      // Token last-use times may move; nothing else may.
      delete before.api_tokens;
      delete afterDump.api_tokens;
      assert.deepEqual(afterDump, before, 'nothing changed');
    };

    it('malformed JSON, a body that is not an object, unknown schemas and unknown attributes', async () => {
      await refused(scim('POST', '/Users', '{"userName": "x@contoso.com",'), 400, 'invalidSyntax', /not valid JSON/);
      await refused(scim('POST', '/Users', '[1,2]'), 400, 'invalidSyntax', /SCIM User object/);
      await refused(scim('POST', '/Users', { schemas: ['urn:example:unknown'], userName: 'a@contoso.com' }), 400, 'invalidSyntax', /urn:example:unknown/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', favouriteColour: 'blue' }), 400, 'invalidPath', /favouriteColour/);
      await refused(scim('POST', '/Groups', { schemas: ['urn:example:unknown'], displayName: 'G' }), 400, 'invalidSyntax', /schemas/);
      await refused(scim('PATCH', `/Users/${userId}`, { schemas: ['urn:example'], Operations: [] }), 400, 'invalidSyntax', /PatchOp/);
      await refused(app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: (await scimAuth()), 'content-type': 'text/plain' }, payload: 'userName=x' }), 415, null, /scim\+json/);
    });

    const scimAuth = async () => `Bearer ${await tokenFor(t.scope, 'scim')}`;

    it('a userName that is not an address, and other bad values, name the field', async () => {
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'Test_User_ab6490ee' }), 400, 'invalidValue', /userName/);
      await refused(scim('POST', '/Users', { schemas: [USER], displayName: 'No userName' }), 400, 'invalidValue', /userName/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', active: 'maybe' }), 400, 'invalidValue', /active/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', preferredLanguage: 'not a language' }), 400, 'invalidValue', /preferredLanguage/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', emails: [{ value: 'not-an-address' }] }), 400, 'invalidValue', /emails/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', phoneNumbers: [{ value: 'call me' }] }), 400, 'invalidValue', /phoneNumbers/);
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'a@contoso.com', displayName: 'Bad\u202Ename' }), 400, 'invalidValue', /displayName/);
      await refused(scim('PUT', `/Users/${userId}`, { schemas: [USER], userName: 'not an address' }), 400, 'invalidValue', /userName/);
      await refused(scim('POST', '/Groups', { schemas: [GROUP], displayName: 'G', members: [{ value: 'no-such-user' }] }), 400, 'invalidValue', /members/);
    });

    it('filters with a syntax error or an unknown attribute are 400 invalidFilter', async () => {
      for (const f of ['userName eq', 'userName xx "a"', '(userName eq "a"', 'favouriteColour eq "blue"', 'emails[type eq "work"', 'userName eq "a" and', '"a" eq userName']) {
        await refused(scim('GET', `/Users?filter=${encodeURIComponent(f)}`), 400, 'invalidFilter', /filter/);
      }
      await refused(scim('GET', `/Groups?filter=${encodeURIComponent('members.value eq')}`), 400, 'invalidFilter', /filter/);
      await refused(scim('GET', '/Users?count=ten'), 400, 'invalidValue', /count/);
      await refused(scim('GET', '/Users?attributes=nope'), 400, 'invalidPath', /nope/);
    });

    it('PATCH paths to unknown attributes, read-only ones, remove without a path: 400 invalidPath, nothing applied', async () => {
      const ok = { op: 'replace', path: 'displayName', value: 'Changed' };
      for (const bad of [
        { op: 'replace', path: 'favouriteColour', value: 'x' },
        { op: 'add', path: 'name.nickname', value: 'x' },
        { op: 'replace', path: 'emails[type eq "work"', value: 'x' },
        { op: 'replace', path: 'id', value: 'x' },
        { op: 'replace', path: 'meta.created', value: 'x' },
        { op: 'remove' },
        { op: 'replace', value: { favouriteColour: 'x' } },
      ]) {
        // The good operation first: it must not be applied either.
        await refused(scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [ok, bad] }), 400, 'invalidPath', /path|attribute|read-only/);
      }
      await refused(scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [ok, { op: 'move', path: 'title', value: 'x' }] }), 400, 'invalidSyntax', /op must be/);
      await refused(scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [ok, { op: 'replace', path: 'active', value: 'perhaps' }] }), 400, 'invalidValue', /active/);
      await refused(scim('PATCH', `/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'X' }, { op: 'add', path: 'members', value: [{ value: 'ghost' }] }] }), 400, 'invalidValue', /members/);
    });

    it('10,000 operations in one PATCH: 400 tooMany, nothing applied', async () => {
      const ops = Array.from({ length: 10_000 }, (_, i) => ({ op: 'replace', path: 'title', value: `T${i}` }));
      await refused(scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: ops }), 400, 'tooMany', /10000/);
    });

    it('a 1 MB body: 413 with the SCIM error, nothing stored', async () => {
      await refused(scim('POST', '/Users', { schemas: [USER], userName: 'big@contoso.com', title: 'x'.repeat(1024 * 1024) }), 413, null, /too large/);
    });

    it('a stale If-Match is 412 and changes nothing; the current version goes through', async () => {
      const cur = await scim('GET', `/Users/${userId}`);
      const etag = String(cur.headers.etag);
      await refused(scim('PUT', `/Users/${userId}`, { schemas: [USER], userName: 'kept@contoso.com', displayName: 'Stale' }, { 'if-match': 'W/"0"' }), 412, null, /If-Match|version/);
      await refused(scim('DELETE', `/Users/${userId}`, undefined, { 'if-match': 'W/"999"' }), 412, null, /version/);
      const ok = await scim('PUT', `/Users/${userId}`, { schemas: [USER], userName: 'kept@contoso.com', displayName: 'Fresh' }, { 'if-match': etag });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.notEqual(ok.headers.etag, etag);
      await refused(scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, { 'if-match': etag }), 412, null, /version/);
    });

    it('a duplicate userName on replace is 409 uniqueness; unknown ids are 404', async () => {
      const other = (await scim('POST', '/Users', { schemas: [USER], userName: 'other@contoso.com' })).json().id;
      await refused(scim('PATCH', `/Users/${other}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: 'KEPT@contoso.com' }] }), 409, 'uniqueness', /userName/);
      await refused(scim('PUT', '/Users/00000000-0000-0000-0000-000000000000', { schemas: [USER], userName: 'x@contoso.com' }), 404, null, /id/);
      await refused(scim('DELETE', '/Groups/nope'), 404, null, /id/);
      await refused(scim('GET', '/Nothing'), 404, null, /Nothing/);
    });
  });
}
