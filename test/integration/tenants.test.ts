import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { addTenant, DEFAULT_TENANT, listTenants, resolveTenant, scopeOf } from '../../src/app/tenants.ts';
import { addUser, findUser, listUsers } from '../../src/app/users.ts';
import { getBridges } from '../../src/app/bridges.ts';
import { getServiceNumbers } from '../../src/app/service-numbers.ts';
import { listDialInUsers } from '../../src/app/dialin-user-view.ts';
import { getTenantSettings, setTenantSettings } from '../../src/app/tenant-settings.ts';
import { getPinPolicies, newPinPolicy } from '../../src/app/pin-policies.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { listOutbox } from '../../src/app/outbox.ts';
import { listAudit } from '../../src/app/audit.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { AppError } from '../../src/core/errors.ts';
import type { TenantScope } from '../../src/app/context.ts';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

for (const dialect of DIALECTS) {
  describe(`tenants (${dialect})`, () => {
    let t: TestEnv;
    let a: TenantScope;
    let b: TenantScope;
    let pinA: string;
    let cidA: string;
    before(async () => {
      t = await testEnv(dialect);
      a = t.scope;
      b = scopeOf(t.ctx, await addTenant(t.ctx, 'fabrikam', 'Fabrikam.com'));
      // The same names in both tenants: bridge, number, user.
      await bridgeWithNumbers(a, 'Conference Bridge', '+14255551234');
      await bridgeWithNumbers(b, 'Conference Bridge', '+14255551234');
      await addUser(a, { UserUri: 'ken@contoso.com', DisplayName: 'Ken Myer' });
      await addUser(b, { UserUri: 'ken@contoso.com', DisplayName: 'Ken Myer' });
      await addUser(b, { UserUri: 'ana@fabrikam.com', DisplayName: 'Ana Only-In-B' });
      const [r] = await enable(a, ['ken@contoso.com']);
      pinA = r!.output!.LeaderPin as string;
      cidA = r!.output!.ConferenceId as string;
    });
    after(() => t.cleanup());

    it('creates tenants by name with a domain, and lists them with the default one', async () => {
      const all = await listTenants(t.ctx);
      assert.deepEqual(all.map((x) => x.name), [DEFAULT_TENANT, 'fabrikam']);
      assert.equal(all[1]!.domain, 'fabrikam.com');
      const audit = await t.ctx.db.kysely.selectFrom('audit').selectAll().where('action', '=', 'tenant.add').execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.tenant_id, b.tenant.id);
    });

    it('refuses a second tenant of the same name, and bad names or domains', async () => {
      await assert.rejects(addTenant(t.ctx, 'fabrikam', null), code('TENANT_EXISTS'));
      await assert.rejects(addTenant(t.ctx, 'bad name', null), (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as AppError).field === 'Name');
      await assert.rejects(addTenant(t.ctx, 'litware', 'not a domain'), (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as AppError).field === 'Domain');
      assert.equal((await listTenants(t.ctx)).length, 2);
    });

    it('resolves a tenant by name, id, or nothing (the default)', async () => {
      assert.equal((await resolveTenant(t.ctx, 'fabrikam')).id, b.tenant.id);
      assert.equal((await resolveTenant(t.ctx, b.tenant.id.toUpperCase())).id, b.tenant.id);
      assert.equal((await resolveTenant(t.ctx, null)).id, a.tenant.id);
      assert.equal((await resolveTenant(t.ctx, 'Default')).id, a.tenant.id);
      await assert.rejects(resolveTenant(t.ctx, 'litware'), code('TENANT_NOT_FOUND'));
    });

    it('never shows one tenant the users, bridges or numbers of another', async () => {
      await assert.rejects(findUser(t.ctx.db.kysely, a.tenant.id, 'ana@fabrikam.com'), code('USER_NOT_FOUND'));
      await assert.rejects(findUser(t.ctx.db.kysely, a.tenant.id, 'Ana Only-In-B'), code('USER_NOT_FOUND'));
      const kenA = await findUser(t.ctx.db.kysely, a.tenant.id, 'Ken Myer');
      const kenB = await findUser(t.ctx.db.kysely, b.tenant.id, 'Ken Myer');
      assert.notEqual(kenA.id, kenB.id);
      await assert.rejects(findUser(t.ctx.db.kysely, b.tenant.id, kenA.id), code('USER_NOT_FOUND'));
      assert.equal((await listUsers(a, { limit: 10, offset: 0 })).total, 1);
      assert.equal((await listUsers(b, { limit: 10, offset: 0 })).total, 2);
      const [bridgeA] = await getBridges(a, {});
      const [bridgeB] = await getBridges(b, {});
      assert.notEqual(bridgeA!.Identity, bridgeB!.Identity);
      assert.equal((await getBridges(a, {})).length, 1);
      await assert.rejects(getBridges(a, { id: bridgeB!.Identity }), code('BRIDGE_NOT_FOUND'));
      assert.deepEqual((await getServiceNumbers(b, {})).map((n) => n.BridgeId), [bridgeB!.Identity]);
    });

    it('keeps dial-in state, PIN checks, outbox and audit per tenant', async () => {
      assert.equal((await listDialInUsers(a, {})).length, 1);
      assert.equal((await listDialInUsers(b, {})).length, 0);
      assert.equal((await verifyLeaderPin(a, cidA, pinA)).IsLeader, true);
      assert.equal((await verifyLeaderPin(b, cidA, pinA)).IsLeader, false);
      assert.equal((await listOutbox(a, { limit: 10 })).length, 1);
      assert.equal((await listOutbox(b, { limit: 10 })).length, 0);
      const auditB = await listAudit(b, { limit: 100 });
      assert.ok(auditB.length > 0);
      assert.ok(auditB.every((x) => x.Target !== 'sip:ken@contoso.com' || x.Action === 'user.add'));
      assert.ok(!auditB.some((x) => x.Action === 'user.enable'));
    });

    it('lets two tenants use the same conference ID, but not one tenant twice', async () => {
      const res = await runInBatches(b, ['ken@contoso.com'], enableUsers(b, { bridge: {}, conferenceId: cidA }));
      assert.deepEqual(res, { done: 1, unchanged: 0, skipped: 0 });
      assert.equal((await userRow(b, 'sip:ken@contoso.com')).conference_id, cidA);
      await assert.rejects(runInBatches(b, ['ana@fabrikam.com'], enableUsers(b, { bridge: {}, conferenceId: cidA })), code('CONFERENCE_ID_TAKEN'));
      assert.equal((await userRow(b, 'sip:ana@fabrikam.com')).dialin_enabled, 0);
    });

    it('keeps settings and PIN policies per tenant', async () => {
      await setTenantSettings(b, { PinLength: 9, AutomaticallySendEmailsToUsers: false });
      assert.equal((await getTenantSettings(a)).PinLength, 5);
      assert.equal((await getTenantSettings(b)).PinLength, 9);
      await newPinPolicy(b, 'tag:Strict', { MinPasswordLength: 10 });
      assert.deepEqual((await getPinPolicies(a, {})).map((p) => p.Identity), ['Global']);
      assert.deepEqual((await getPinPolicies(b, {})).map((p) => p.Identity), ['Global', 'tag:Strict']);
    });
  });
}
