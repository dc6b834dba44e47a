import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkDisplayName, parseIdentity, toSipUri } from './identity.ts';
import { AppError } from './errors.ts';

function throwsCode(fn: () => unknown, code: string, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === code && e.field === field && e.message.includes(field));
}

describe('parseIdentity', () => {
  it('reads sip: and user@domain as the same SIP address, lower-cased', () => {
    assert.deepEqual(parseIdentity('sip:Ken.Myer@Contoso.com'), { by: 'sip', sip: 'sip:ken.myer@contoso.com' });
    assert.deepEqual(parseIdentity('Ken.Myer@contoso.com'), { by: 'sip', sip: 'sip:ken.myer@contoso.com' });
    assert.deepEqual(parseIdentity('SIP:ken@contoso.com'), { by: 'sip', sip: 'sip:ken@contoso.com' });
  });
  it('reads a GUID as the user id', () => {
    assert.deepEqual(parseIdentity('3D981E45-493B-470D-AF59-3D528677F3AB'), { by: 'id', id: '3d981e45-493b-470d-af59-3d528677f3ab' });
  });
  it('reads domain\\logon', () => {
    assert.deepEqual(parseIdentity('litwareinc\\KenMyer'), { by: 'logon', domain: 'litwareinc', logon: 'kenmyer' });
  });
  it('reads anything else as a display name', () => {
    assert.deepEqual(parseIdentity('  Ken Myer '), { by: 'displayName', displayName: 'Ken Myer' });
    assert.deepEqual(parseIdentity('Pilar'), { by: 'displayName', displayName: 'Pilar' });
  });
  it('refuses empty identities and control characters', () => {
    throwsCode(() => parseIdentity('  '), 'INVALID_ARGUMENT', 'Identity');
    throwsCode(() => parseIdentity('Ken\u0007Myer'), 'INVALID_ARGUMENT', 'Identity');
  });
  it('refuses a malformed SIP address', () => {
    throwsCode(() => parseIdentity('sip:ken'), 'USER_URI_INVALID', 'Identity');
    throwsCode(() => parseIdentity('ken@contoso'), 'USER_URI_INVALID', 'Identity');
  });
});

describe('toSipUri', () => {
  it('normalises to sip:lower@domain', () => {
    assert.equal(toSipUri('Bob@Contoso.com'), 'sip:bob@contoso.com');
    assert.equal(toSipUri('sip:bob@bücher.example'), 'sip:bob@xn--bcher-kva.example');
  });
  it('refuses what is not an address, naming the field', () => {
    throwsCode(() => toSipUri('bob'), 'USER_URI_INVALID', 'UserUri');
    throwsCode(() => toSipUri('bob@contoso.com,eve@contoso.com'), 'USER_URI_INVALID', 'UserUri');
    throwsCode(() => toSipUri('bob@contoso.com\r\nx'), 'USER_URI_INVALID', 'UserUri');
  });
});

describe('checkDisplayName', () => {
  it('trims and accepts 1 to 256 characters', () => {
    assert.equal(checkDisplayName('  Ken Myer '), 'Ken Myer');
    assert.equal(checkDisplayName('x'.repeat(256)).length, 256);
  });
  it('refuses empty, too long or multi-line names', () => {
    throwsCode(() => checkDisplayName(' '), 'DISPLAY_NAME_INVALID', 'DisplayName');
    throwsCode(() => checkDisplayName('x'.repeat(257)), 'DISPLAY_NAME_INVALID', 'DisplayName');
    throwsCode(() => checkDisplayName('Ken\nMyer'), 'DISPLAY_NAME_INVALID', 'DisplayName');
  });
});
