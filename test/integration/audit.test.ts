import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { clock, withClock } from '../support/scopes.ts';
import { enable, one } from '../support/fixtures.ts';
import { addTenant } from '../../src/app/tenants.ts';
import { removeTenantSettings, setTenantSettings } from '../../src/app/tenant-settings.ts';
import { addUser, findUser } from '../../src/app/users.ts';
import { importUsers } from '../../src/app/import-users.ts';
import { newBridge, setBridge } from '../../src/app/bridges.ts';
import { registerServiceNumber, setServiceNumber, unregisterServiceNumber } from '../../src/app/service-numbers.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { disableUsers } from '../../src/app/disable-user.ts';
import { swapDefaultNumber } from '../../src/app/default-number.ts';
import { removeUserAcp, setUserAcp } from '../../src/app/acp.ts';
import { lockPin, setClientPin, unlockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { grantPinPolicy, newPinPolicy, removePinPolicy, setPinPolicy } from '../../src/app/pin-policies.ts';
import { listAudit } from '../../src/app/audit.ts';
import { readCsv } from '../../src/adapters/files/csv-records.ts';
import type { TenantScope, Trx } from '../../src/app/context.ts';
import type { UsersTable } from '../../src/adapters/db/schema.ts';

const EXPECTED_ACTIONS = [
  'acp.remove', 'acp.set', 'bridge.new', 'bridge.set', 'number.register', 'number.set', 'number.unregister',
  'pin.lock', 'pin.lockout', 'pin.set', 'pin.unlock', 'pinpolicy.grant', 'pinpolicy.new', 'pinpolicy.remove', 'pinpolicy.set',
  'tenant.settings.reset', 'tenant.settings.set', 'user.add', 'user.default-number', 'user.disable', 'user.enable', 'user.import',
  'user.provider-change', 'user.set',
];

for (const dialect of DIALECTS) {
  describe(`audit (${dialect})`, () => {
    let t: TestEnv;
    let s: TenantScope;
    const c = clock();
    const secrets: string[] = [];
    const withUser = <T>(who: string, fn: (trx: Trx, u: UsersTable) => Promise<T>) => t.ctx.db.kysely.transaction().execute(async (trx) => fn(trx, await findUser(trx, s.tenant.id, who)));

    before(async () => {
      t = await testEnv(dialect, { DIALIN_PIN_KEY: 'ab'.repeat(32) });
      s = withClock({ ...t.scope, actor: 'cli:alice' }, c);
      secrets.push('ab'.repeat(32));
      // Every kind of change, once.
      await setTenantSettings(s, { PinLength: 12 });
      await newBridge(s, { name: 'Conference Bridge' });
      await registerServiceNumber(s, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
      await registerServiceNumber(s, { number: '+14255551235', bridge: { name: 'Conference Bridge' } });
      await registerServiceNumber(s, { number: '+14255551299', bridge: { name: 'Conference Bridge' } });
      await setServiceNumber(s, { number: '+14255551235', primaryLanguage: 'fr-FR' });
      await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
      await unregisterServiceNumber(s, { number: '+14255551299', bridge: {} });
      await addUser(s, { UserUri: 'ken@contoso.com', DisplayName: 'Ken Myer' });
      const csv = path.join(t.dataDir, 'users.csv');
      fs.writeFileSync(csv, 'UserUri,DisplayName,EmailAddress,Language\nana@contoso.com,Ana,ana@contoso.com,fr\nbob@contoso.com,Bob,bob@contoso.com,en\n');
      await importUsers(s, readCsv(csv, { required: ['UserUri', 'DisplayName', 'EmailAddress', 'Language'], optional: [] }), { skipInvalid: false });
      for (const r of await enable(s, ['ken@contoso.com', 'ana@contoso.com', 'bob@contoso.com'])) secrets.push(r.output!.LeaderPin as string);
      secrets.push((await one(s, 'ken@contoso.com', setDialInUsers(s, { resetLeaderPin: true }))).output!.LeaderPin as string);
      await swapDefaultNumber(s, { bridge: {}, fromNumber: '+14255551234', toNumber: '+14255551235', numberType: 'Toll' });
      secrets.push((await withUser('ana@contoso.com', (trx, u) => setClientPin(trx, s, u, '802468135791'))).pin);
      await newPinPolicy(s, 'tag:Strict', { MinPasswordLength: 6, MaximumLogonAttempts: 1 });
      await setPinPolicy(s, 'tag:Strict', { MinPasswordLength: 7 });
      await withUser('ana@contoso.com', (trx, u) => grantPinPolicy(trx, s, u, 'Strict'));
      await verifyLeaderPin(s, (await withUser('ana@contoso.com', async (_trx, u) => u)).conference_id!, '999999999999');
      await withUser('ana@contoso.com', (trx, u) => unlockPin(trx, s, u));
      await withUser('ana@contoso.com', (trx, u) => lockPin(trx, s, u));
      await removePinPolicy(s, 'tag:Strict');
      await withUser('bob@contoso.com', (trx, u) => setUserAcp(trx, s, u, { name: 'Fabrikam ACP', domain: 'fabrikam.com' }));
      await withUser('bob@contoso.com', (trx, u) => removeUserAcp(trx, s, u, null));
      await one(s, 'ken@contoso.com', disableUsers(s, {}));
      await removeTenantSettings(s);
      for (const r of await t.ctx.db.kysely.selectFrom('users').select('pin_hash').where('pin_hash', 'is not', null).execute()) secrets.push(r.pin_hash!);
      for (const r of await t.ctx.db.kysely.selectFrom('pin_history').select('pin_hash').execute()) secrets.push(r.pin_hash);
      for (const r of await t.ctx.db.kysely.selectFrom('outbox').select('pin_enc').where('pin_enc', 'is not', null).execute()) secrets.push(r.pin_enc!);
    });
    after(() => t.cleanup());

    it('records every kind of change', async () => {
      const actions = new Set((await t.ctx.db.kysely.selectFrom('audit').select('action').where('tenant_id', '=', s.tenant.id).execute()).map((a) => a.action));
      assert.deepEqual([...actions].sort(), EXPECTED_ACTIONS);
    });

    it('records who, when, in which tenant, and on which user', async () => {
      const rows = await t.ctx.db.kysely.selectFrom('audit').selectAll().where('tenant_id', '=', s.tenant.id).execute();
      assert.ok(rows.every((r) => r.actor === 'cli:alice' && r.at === c.t));
      const ken = await withUser('ken@contoso.com', async (_trx, u) => u);
      const kenActions = rows.filter((r) => r.target_user_id === ken.id).map((r) => r.action).sort();
      assert.deepEqual(kenActions, ['user.add', 'user.default-number', 'user.disable', 'user.enable', 'user.set']);
      assert.ok(rows.filter((r) => r.target_user_id === ken.id).every((r) => r.target === 'sip:ken@contoso.com'));
      const listed = await listAudit(s, { limit: 1000, userId: ken.id });
      assert.equal(listed.length, 5);
      assert.deepEqual(Object.keys(listed[0]!), ['At', 'Actor', 'Action', 'Target', 'Details']);
      assert.equal(listed[0]!.At, new Date(c.t).toISOString());
      const other = await scopeOfNewTenant();
      assert.deepEqual((await listAudit(other, { limit: 10 })).map((a) => a.Action), ['tenant.add'], 'another tenant sees none of it');
    });

    it('never holds a secret: no PIN, PIN hash, sealed PIN or key', async () => {
      assert.ok(secrets.length >= 6, `only ${secrets.length} secrets were collected`);
      const rows = await t.ctx.db.kysely.selectFrom('audit').selectAll().execute();
      const text = JSON.stringify(rows);
      for (const secret of secrets) assert.ok(!text.includes(secret), `secret found in the audit: ${secret}`);
      const setPin = rows.find((r) => r.action === 'user.set')!;
      assert.deepEqual(JSON.parse(setPin.details), { LeaderPin: 'reset', mails: ['pin_changed'] });
    });

    async function scopeOfNewTenant(): Promise<TenantScope> {
      const tenant = await addTenant(t.ctx, 'empty', null);
      return { ...s, tenant };
    }
  });
}
