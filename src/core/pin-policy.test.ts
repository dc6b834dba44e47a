import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicyPatch, DEFAULT_PIN_POLICY, policyIdentity, type PinPolicy } from './pin-policy.ts';
import { AppError } from './errors.ts';

const G: PinPolicy = { Identity: 'Global', ...DEFAULT_PIN_POLICY };

function refused(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'PIN_POLICY_INVALID' && e.field === field && e.message.includes(field));
}

describe('policyIdentity', () => {
  it('maps nothing and "global" to Global', () => {
    assert.equal(policyIdentity(null), 'Global');
    assert.equal(policyIdentity(''), 'Global');
    assert.equal(policyIdentity('GLOBAL'), 'Global');
  });
  it('keeps site: and tag: scopes, lower-casing the scope only', () => {
    assert.equal(policyIdentity('site:Redmond'), 'site:Redmond');
    assert.equal(policyIdentity('SITE:Redmond'), 'site:Redmond');
    assert.equal(policyIdentity('Tag:Sales Team'), 'tag:Sales Team');
  });
  it('reads a bare name as a per-user tag', () => assert.equal(policyIdentity('RedmondUsersPinPolicy'), 'tag:RedmondUsersPinPolicy'));
  it('refuses names with other characters', () => {
    refused(() => policyIdentity('site:Red*mond'), 'Identity');
    refused(() => policyIdentity('tag:'), 'Identity');
    refused(() => policyIdentity('x'.repeat(65)), 'Identity');
  });
});

describe('applyPolicyPatch', () => {
  it('has the Lync defaults', () => {
    assert.deepEqual({ ...DEFAULT_PIN_POLICY }, { Description: null, MinPasswordLength: 5, PINHistoryCount: 0, PINLifetime: 0, AllowCommonPatterns: false, MaximumLogonAttempts: null });
  });
  it('MinPasswordLength 4 to 24', () => {
    assert.equal(applyPolicyPatch(G, { MinPasswordLength: 4 }).MinPasswordLength, 4);
    assert.equal(applyPolicyPatch(G, { MinPasswordLength: 24 }).MinPasswordLength, 24);
    refused(() => applyPolicyPatch(G, { MinPasswordLength: 3 }), 'MinPasswordLength');
    refused(() => applyPolicyPatch(G, { MinPasswordLength: 25 }), 'MinPasswordLength');
  });
  it('PINHistoryCount 0 to 20', () => {
    assert.equal(applyPolicyPatch(G, { PINHistoryCount: 20 }).PINHistoryCount, 20);
    refused(() => applyPolicyPatch(G, { PINHistoryCount: 21 }), 'PINHistoryCount');
    refused(() => applyPolicyPatch(G, { PINHistoryCount: -1 }), 'PINHistoryCount');
  });
  it('PINLifetime 0 to 999, and only with a history', () => {
    assert.equal(applyPolicyPatch(G, { PINHistoryCount: 10, PINLifetime: 999 }).PINLifetime, 999);
    refused(() => applyPolicyPatch(G, { PINHistoryCount: 10, PINLifetime: 1000 }), 'PINLifetime');
    refused(() => applyPolicyPatch(G, { PINLifetime: 30 }), 'PINHistoryCount');
    const withLifetime = applyPolicyPatch(G, { PINHistoryCount: 5, PINLifetime: 30 });
    refused(() => applyPolicyPatch(withLifetime, { PINHistoryCount: 0 }), 'PINHistoryCount');
  });
  it('MaximumLogonAttempts 1 to 999 or null (automatic)', () => {
    assert.equal(applyPolicyPatch(G, { MaximumLogonAttempts: 1 }).MaximumLogonAttempts, 1);
    assert.equal(applyPolicyPatch({ ...G, MaximumLogonAttempts: 5 }, { MaximumLogonAttempts: null }).MaximumLogonAttempts, null);
    refused(() => applyPolicyPatch(G, { MaximumLogonAttempts: 0 }), 'MaximumLogonAttempts');
    refused(() => applyPolicyPatch(G, { MaximumLogonAttempts: 1000 }), 'MaximumLogonAttempts');
  });
  it('AllowCommonPatterns must be a boolean', () => {
    assert.equal(applyPolicyPatch(G, { AllowCommonPatterns: true }).AllowCommonPatterns, true);
    refused(() => applyPolicyPatch(G, { AllowCommonPatterns: 'yes' as never }), 'AllowCommonPatterns');
  });
  it('does not change the policy it is given', () => {
    const before = { ...G };
    applyPolicyPatch(G, { MinPasswordLength: 10, PINHistoryCount: 3 });
    assert.deepEqual(G, before);
  });
});
