import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, userRow } from '../support/fixtures.ts';
import { getPinPolicies, grantPinPolicy, newPinPolicy, policyForUser, removePinPolicy, setPinPolicy } from '../../src/app/pin-policies.ts';
import { setClientPin } from '../../src/app/pins.ts';
import { findUser } from '../../src/app/users.ts';
import { DEFAULT_PIN_POLICY } from '../../src/core/pin-policy.ts';
import { AppError } from '../../src/core/errors.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`PIN policies (${dialect})`, () => {
    let t: TestEnv;
    const grant = (who: string, policy: string | null) => t.ctx.db.kysely.transaction().execute(async (trx) => grantPinPolicy(trx, t.scope, await findUser(trx, t.scope.tenant.id, who), policy));
    const setPin = (who: string, pin: string) => t.ctx.db.kysely.transaction().execute(async (trx) => setClientPin(trx, t.scope, await findUser(trx, t.scope.tenant.id, who), pin));
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'ken', 2);
    });
    after(() => t.cleanup());

    it('the global policy always exists, with the defaults', async () => {
      assert.deepEqual(await getPinPolicies(t.scope, {}), [{ Identity: 'Global', ...DEFAULT_PIN_POLICY }]);
      assert.deepEqual(await getPinPolicies(t.scope, { identity: 'global' }), [{ Identity: 'Global', ...DEFAULT_PIN_POLICY }]);
      await assert.rejects(newPinPolicy(t.scope, 'Global', {}), code('PIN_POLICY_EXISTS'));
    });

    it('New creates site and tag policies; a duplicate or a bad value is refused', async () => {
      const site = await newPinPolicy(t.scope, 'site:Redmond', { MinPasswordLength: 10, PINHistoryCount: 10, PINLifetime: 30 });
      assert.deepEqual(site, { Identity: 'site:Redmond', ...DEFAULT_PIN_POLICY, MinPasswordLength: 10, PINHistoryCount: 10, PINLifetime: 30 });
      await newPinPolicy(t.scope, 'RedmondUsersPinPolicy', { AllowCommonPatterns: true, Description: 'Redmond users' });
      await newPinPolicy(t.scope, 'tag:Strict', { MinPasswordLength: 8, MaximumLogonAttempts: 3 });
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(newPinPolicy(t.scope, 'SITE:Redmond', {}), code('PIN_POLICY_EXISTS'));
      await assert.rejects(newPinPolicy(t.scope, 'tag:X', { MinPasswordLength: 25 }), code('PIN_POLICY_INVALID', 'MinPasswordLength'));
      await assert.rejects(newPinPolicy(t.scope, 'tag:X', { PINLifetime: 10 }), code('PIN_POLICY_INVALID', 'PINHistoryCount'));
      await assert.rejects(newPinPolicy(t.scope, 'tag:X*', {}), code('PIN_POLICY_INVALID', 'Identity'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('Get lists them, by identity or with a wildcard -Filter', async () => {
      assert.deepEqual((await getPinPolicies(t.scope, {})).map((p) => p.Identity), ['Global', 'site:Redmond', 'tag:RedmondUsersPinPolicy', 'tag:Strict']);
      assert.deepEqual((await getPinPolicies(t.scope, { filter: 'tag:*' })).map((p) => p.Identity), ['tag:RedmondUsersPinPolicy', 'tag:Strict']);
      assert.deepEqual((await getPinPolicies(t.scope, { filter: '*redmond*' })).map((p) => p.Identity), ['site:Redmond', 'tag:RedmondUsersPinPolicy']);
      assert.deepEqual((await getPinPolicies(t.scope, { filter: 'site:?edmond' })).map((p) => p.Identity), ['site:Redmond']);
      assert.deepEqual((await getPinPolicies(t.scope, { filter: 'tag:(' })).map((p) => p.Identity), [], 'the filter is not a regular expression');
      assert.equal((await getPinPolicies(t.scope, { identity: 'site:Redmond' }))[0]!.PINLifetime, 30);
      await assert.rejects(getPinPolicies(t.scope, { identity: 'site:Paris' }), code('PIN_POLICY_NOT_FOUND'));
    });

    it('Set changes a policy (Global without -Identity) and refuses an unknown one', async () => {
      assert.equal((await setPinPolicy(t.scope, 'site:Redmond', { MinPasswordLength: 12 })).MinPasswordLength, 12);
      assert.equal((await setPinPolicy(t.scope, 'RedmondUsersPinPolicy', { MinPasswordLength: 10, AllowCommonPatterns: true })).MinPasswordLength, 10);
      assert.equal((await setPinPolicy(t.scope, null, { MinPasswordLength: 6 })).Identity, 'Global');
      assert.equal((await getPinPolicies(t.scope, { identity: 'Global' }))[0]!.MinPasswordLength, 6);
      await assert.rejects(setPinPolicy(t.scope, 'tag:Nope', { MinPasswordLength: 6 }), code('PIN_POLICY_NOT_FOUND'));
      await assert.rejects(setPinPolicy(t.scope, 'site:Redmond', { PINHistoryCount: 0 }), code('PIN_POLICY_INVALID', 'PINHistoryCount'));
    });

    it('Grant gives a user a tag policy, which then governs their PIN; $null returns them to Global', async () => {
      await grant('ken0@contoso.com', 'Strict');
      assert.equal((await userRow(t.scope, 'sip:ken0@contoso.com')).pin_policy, 'tag:Strict');
      assert.equal((await policyForUser(t.ctx.db.kysely, t.scope.tenant.id, await userRow(t.scope, 'sip:ken0@contoso.com'))).MinPasswordLength, 8);
      await assert.rejects(setPin('ken0@contoso.com', '1357902'), code('PIN_TOO_SHORT'));
      await setPin('ken0@contoso.com', '13579024');
      await grant('ken1@contoso.com', 'tag:RedmondUsersPinPolicy');
      await setPin('ken1@contoso.com', '1111111111');
      await assert.rejects(grant('ken0@contoso.com', 'site:Redmond'), code('PIN_POLICY_INVALID', 'PolicyName'));
      await assert.rejects(grant('ken0@contoso.com', 'tag:Nope'), code('PIN_POLICY_NOT_FOUND', 'PolicyName'));
      await grant('ken1@contoso.com', null);
      assert.equal((await userRow(t.scope, 'sip:ken1@contoso.com')).pin_policy, null);
      await assert.rejects(setPin('ken1@contoso.com', '1111111111'), code('PIN_COMMON_PATTERN'), 'Global does not allow common patterns');
    });

    it('Remove deletes a policy; its users fall back to Global; removing Global restores its defaults', async () => {
      await removePinPolicy(t.scope, 'tag:Strict');
      assert.equal((await userRow(t.scope, 'sip:ken0@contoso.com')).pin_policy, null);
      await assert.rejects(removePinPolicy(t.scope, 'tag:Strict'), code('PIN_POLICY_NOT_FOUND'));
      await removePinPolicy(t.scope, 'Global');
      assert.deepEqual((await getPinPolicies(t.scope, { identity: 'Global' }))[0], { Identity: 'Global', ...DEFAULT_PIN_POLICY });
      const actions = (await t.ctx.db.kysely.selectFrom('audit').select('action').where('action', 'like', 'pinpolicy.%').execute()).map((a) => a.action);
      assert.deepEqual(
        Object.fromEntries(['pinpolicy.new', 'pinpolicy.set', 'pinpolicy.grant', 'pinpolicy.remove'].map((a) => [a, actions.filter((x) => x === a).length])),
        { 'pinpolicy.new': 3, 'pinpolicy.set': 3, 'pinpolicy.grant': 3, 'pinpolicy.remove': 2 },
      );
    });
  });
}
