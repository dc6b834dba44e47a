import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { appFor, tokenFor } from '../http/harness.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { configureScim } from '../../src/app/scim-licence.ts';
import { ENTERPRISE, GROUP, PATCH_OP, scimClient, USER } from './support.ts';

/**
 * Entra ID's request sequences as Microsoft's "Tutorial: Develop and plan provisioning for a SCIM
 * endpoint" documents them (bodies as published, with userNames that are addresses), replayed;
 * each PATCH variation of issue 15; and the licence: joining the licence group → one welcome with
 * a PIN, leaving / active=false / DELETE → one turned-off mail, the switch off → no mail, the guard.
 */
for (const dialect of DIALECTS) {
  describe(`SCIM: Entra ID's sequences, PATCH variations and the licence (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;

    const mails = async (userId: string, kind?: string) => {
      let q = t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'pin_enc', 'status']).where('user_id', '=', userId);
      if (kind) q = q.where('kind', '=', kind);
      return q.execute();
    };
    const row = (id: string) => t.ctx.db.kysely.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const create = async (userName: string, extra: Record<string, unknown> = {}) => {
      const r = await scim('POST', '/Users', { schemas: [USER, ENTERPRISE], userName, active: true, emails: [{ primary: true, type: 'work', value: userName }], name: { givenName: 'Given', familyName: 'Family' }, ...extra });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().id as string;
    };
    const patch = (url: string, ...ops: unknown[]) => scim('PATCH', url, { schemas: [PATCH_OP], Operations: ops });

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      scim = scimClient(app, await tokenFor(t.scope, 'scim'));
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('user operations: create, get, get by query (found and not), PATCH multi- and single-valued, disable, delete', async () => {
      const created = await scim('POST', '/Users', {
        schemas: [USER, ENTERPRISE],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com',
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
        preferredLanguage: 'fr-FR',
        phoneNumbers: [{ type: 'work', value: '+33 1 23 45 67 89' }],
        [ENTERPRISE]: { department: 'Finance', employeeNumber: '701984', manager: { value: 'mgr-1' } },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id;
      assert.equal(created.json()[ENTERPRISE].department, 'Finance');
      const u = await row(id);
      assert.equal(u.email, 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com');
      assert.equal(u.language, 'fr-FR');
      assert.equal(u.phone, '+33 1 23 45 67 89');
      assert.equal(u.display_name, 'givenName familyName');

      assert.equal((await scim('GET', `/Users/${id}`)).json().externalId, '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
      const q = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"')}`);
      assert.equal(q.json().totalResults, 1);
      const none = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "non-existent user"')}`);
      assert.equal(none.json().totalResults, 0);
      const byExt = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
      assert.equal(byExt.json().Resources[0].id, id);

      const multi = await patch(`/Users/${id}`, { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' }, { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' });
      assert.equal(multi.statusCode, 200, multi.body);
      assert.equal(multi.json().emails[0].value, 'updatedEmail@microsoft.com');
      assert.equal(multi.json().name.familyName, 'updatedFamilyName');
      assert.equal((await row(id)).email, 'updatedEmail@microsoft.com');

      const single = await patch(`/Users/${id}`, { op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' });
      assert.equal(single.statusCode, 200, single.body);
      assert.equal((await row(id)).sip, 'sip:5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');

      const disable = await patch(`/Users/${id}`, { op: 'Replace', path: 'active', value: false });
      assert.equal(disable.statusCode, 200);
      assert.equal(disable.json().active, false);
      assert.equal((await row(id)).scim_active, 0);

      const del = await scim('DELETE', `/Users/${id}`);
      assert.equal(del.statusCode, 204);
      assert.equal((await scim('GET', `/Users/${id}`)).statusCode, 404);
    });

    it('group operations: create (with Entra\'s extra schema), get without members, get by displayName, rename, add and remove members, delete', async () => {
      const member = await create('group.member@contoso.com');
      const g = await scim('POST', '/Groups', { schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'displayName', meta: { resourceType: 'Group' } });
      assert.equal(g.statusCode, 201, g.body);
      const gid = g.json().id;
      const got = await scim('GET', `/Groups/${gid}?excludedAttributes=members`);
      assert.equal(got.statusCode, 200);
      assert.equal(got.json().members, undefined);
      const byName = await scim('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`);
      assert.equal(byName.json().totalResults, 1);
      const renamed = await patch(`/Groups/${gid}`, { op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' });
      assert.equal(renamed.statusCode, 204, renamed.body);
      const add = await patch(`/Groups/${gid}`, { op: 'Add', path: 'members', value: [{ $ref: null, value: member }] });
      assert.equal(add.statusCode, 204, add.body);
      assert.deepEqual((await scim('GET', `/Groups/${gid}`)).json().members.map((m: { value: string }) => m.value), [member]);
      assert.deepEqual((await scim('GET', `/Users/${member}`)).json().groups.map((x: { value: string; display: string }) => [x.value, x.display]), [[gid, '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName']]);
      const remove = await patch(`/Groups/${gid}`, { op: 'Remove', path: 'members', value: [{ $ref: null, value: member }] });
      assert.equal(remove.statusCode, 204);
      assert.deepEqual((await scim('GET', `/Groups/${gid}`)).json().members, []);
      assert.equal((await scim('DELETE', `/Groups/${gid}`)).statusCode, 204);
      assert.equal((await scim('GET', `/Groups/${gid}`)).statusCode, 404);
    });

    it('PATCH variations: capitalised ops, Add on a single value, a filtered Add, no path with an object, "False" as a string, both member-removal forms', async () => {
      const id = await create('variations@contoso.com');
      const r1 = await patch(`/Users/${id}`, { op: 'Add', path: 'displayName', value: 'Added Name' }, { op: 'REPLACE', path: 'title', value: 'Engineer' });
      assert.equal(r1.statusCode, 200, r1.body);
      assert.equal((await row(id)).display_name, 'Added Name');
      const r2 = await patch(`/Users/${id}`, { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 425 555 0101' }, { op: 'add', path: 'emails[type eq "work"].value', value: 'variations.new@contoso.com' });
      assert.equal(r2.statusCode, 200, r2.body);
      assert.equal((await row(id)).phone, '+1 425 555 0101');
      assert.equal((await row(id)).email, 'variations.new@contoso.com');
      const r3 = await patch(`/Users/${id}`, { op: 'Replace', value: { displayName: 'No Path', 'name.givenName': 'Nopath', [`${ENTERPRISE}:department`]: 'Sales' } });
      assert.equal(r3.statusCode, 200, r3.body);
      assert.equal(r3.json().name.givenName, 'Nopath');
      assert.equal(r3.json()[ENTERPRISE].department, 'Sales');
      const r4 = await patch(`/Users/${id}`, { op: 'Replace', path: 'active', value: 'False' });
      assert.equal(r4.statusCode, 200, r4.body);
      assert.equal(r4.json().active, false);
      const r5 = await patch(`/Users/${id}`, { op: 'Replace', path: `${ENTERPRISE}:manager`, value: 'mgr-42' });
      assert.equal(r5.statusCode, 200, r5.body);
      assert.deepEqual(r5.json()[ENTERPRISE].manager, { value: 'mgr-42' });

      const a = await create('member.a@contoso.com');
      const b = await create('member.b@contoso.com');
      const g = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Variations', members: [{ value: a }, { value: b }] })).json().id;
      const std = await patch(`/Groups/${g}`, { op: 'remove', path: `members[value eq "${a}"]` });
      assert.equal(std.statusCode, 204, std.body);
      const old = await patch(`/Groups/${g}`, { op: 'Remove', path: 'members', value: [{ value: b }] });
      assert.equal(old.statusCode, 204, old.body);
      assert.deepEqual((await scim('GET', `/Groups/${g}`)).json().members, []);
    });

    it('licence group: joining → one welcome with a PIN; leaving, active=false and DELETE → one turned-off mail each; the switch off → no mail', async () => {
      const r = await configureScim(t.scope, { licenceGroup: 'Dial-in Users' });
      assert.equal(r.Licence, 'group');
      const g = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'dial-in users' })).json().id;
      const [u1, u2, u3] = [await create('lic1@contoso.com'), await create('lic2@contoso.com'), await create('lic3@contoso.com')];
      assert.equal((await mails(u1)).length, 0, 'not a member yet: no mail');
      assert.equal((await patch(`/Groups/${g}`, { op: 'Add', path: 'members', value: [{ value: u1 }, { value: u2 }, { value: u3 }] })).statusCode, 204);
      for (const u of [u1, u2, u3]) {
        const w = await mails(u);
        assert.equal(w.length, 1);
        assert.equal(w[0]!.kind, 'welcome');
        assert.ok(w[0]!.pin_enc, 'the welcome carries a (sealed) PIN');
        assert.equal((await row(u)).dialin_enabled, 1);
      }
      assert.equal((await patch(`/Groups/${g}`, { op: 'Remove', path: `members[value eq "${u1}"]` })).statusCode, 204);
      assert.deepEqual((await mails(u1, 'turned_off')).length, 1);
      assert.equal((await row(u1)).dialin_enabled, 0);
      assert.equal((await patch(`/Users/${u2}`, { op: 'Replace', path: 'active', value: 'False' })).statusCode, 200);
      assert.deepEqual((await mails(u2, 'turned_off')).length, 1);
      assert.equal((await scim('DELETE', `/Users/${u3}`)).statusCode, 204);
      assert.deepEqual((await mails(u3, 'turned_off')).length, 1);
      assert.equal((await row(u3)).dialin_enabled, 0);
      // Back to active and still a member: enabled again, one more welcome.
      assert.equal((await patch(`/Users/${u2}`, { op: 'Replace', path: 'active', value: true })).statusCode, 200);
      assert.equal((await mails(u2, 'welcome')).length, 2);

      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: false });
      const quiet = await create('quiet@contoso.com');
      assert.equal((await patch(`/Groups/${g}`, { op: 'Add', path: 'members', value: [{ value: quiet }] })).statusCode, 204);
      assert.equal((await row(quiet)).dialin_enabled, 1);
      assert.equal((await mails(quiet)).length, 0, 'the switch is off: enabled without a mail');
      assert.equal((await patch(`/Groups/${g}`, { op: 'Remove', path: 'members', value: [{ value: quiet }] })).statusCode, 204);
      assert.equal((await row(quiet)).dialin_enabled, 0);
      assert.equal((await mails(quiet)).length, 0);
      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: true });
    });

    it('the guard: a PATCH that would disable more than the hourly limit changes nothing and says so', async () => {
      const g = (await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Dial-in users"')}`)).json().Resources[0].id;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await create(`guard${i}@contoso.com`));
      assert.equal((await patch(`/Groups/${g}`, { op: 'Add', path: 'members', value: ids.map((value) => ({ value })) })).statusCode, 204);
      await configureScim(t.scope, { maxDisable: 5 });
      const before = (await scim('GET', `/Groups/${g}`)).json().members.length;
      // Earlier tests already disabled 3 + 1 this hour: 4 more would make 8 > 5.
      const held = await patch(`/Groups/${g}`, ...ids.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })));
      assert.equal(held.statusCode, 409, held.body);
      assert.match(held.json().detail, /SCIM_MASS_DISABLE_HELD/);
      assert.equal((await scim('GET', `/Groups/${g}`)).json().members.length, before, 'no member removed');
      for (const id of ids) {
        assert.equal((await row(id)).dialin_enabled, 1);
        assert.equal((await mails(id, 'turned_off')).length, 0);
      }
      await configureScim(t.scope, { maxDisable: 100 });
      assert.equal((await patch(`/Groups/${g}`, ...ids.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })))).statusCode, 204);
      for (const id of ids) assert.equal((await mails(id, 'turned_off')).length, 1);
    });

    it('`dialin scim configure --licence all-active` enables every active SCIM user at once; bad options are refused', async () => {
      const res = await runCli(['scim', 'configure', '--licence', 'all-active', '--json'], t.env);
      assert.equal(res.code, 0, res.stderr);
      const out = JSON.parse(res.stdout);
      assert.equal(out.Licence, 'all-active');
      assert.ok(out.Enabled >= 1, res.stdout);
      const active = await t.ctx.db.kysely.selectFrom('users').selectAll().where('source', '=', 'scim').where('scim_active', '=', 1).execute();
      assert.ok(active.every((u) => u.dialin_enabled === 1));
      const bad = await runCli(['scim', 'configure', '--licence', 'everyone'], t.env);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr + bad.stdout, /all-active or none/);
    });
  });
}
