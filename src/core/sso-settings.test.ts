import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkMapping, parseIssuer, roleFromClaims } from './sso-settings.ts';

describe('single sign-on rules', () => {
  it('accepts https issuers and http only on loopback', () => {
    assert.equal(parseIssuer('https://login.contoso.com/realms/staff').host, 'login.contoso.com');
    assert.equal(parseIssuer('http://127.0.0.1:4000').port, '4000');
    for (const bad of ['http://login.contoso.com', 'ftp://x', 'not a url', 'https://x/?a=1', 'https://u:p@x']) {
      assert.throws(() => parseIssuer(bad), (e: { code: string; field: string }) => e.code === 'SSO_CONFIG_INVALID' && e.field === 'issuer', bad);
    }
  });
  it('maps groups to a role, admin first, nothing without a group', () => {
    const m = checkMapping({ adminGroup: 'dialin-admins', helpdeskGroup: 'dialin-helpdesk' });
    assert.equal(roleFromClaims({ groups: ['x', 'dialin-helpdesk', 'dialin-admins'] }, m), 'admin');
    assert.equal(roleFromClaims({ groups: ['dialin-helpdesk'] }, m), 'helpdesk');
    assert.equal(roleFromClaims({ groups: 'dialin-helpdesk' }, m), 'helpdesk');
    assert.equal(roleFromClaims({ groups: ['staff'] }, m), null);
    assert.equal(roleFromClaims({}, m), null);
    assert.equal(roleFromClaims({ roles: ['dialin-admins'] }, checkMapping({ groupsClaim: 'roles', adminGroup: 'dialin-admins' })), 'admin');
    assert.throws(() => checkMapping({}), (e: { field: string }) => e.field === 'admin-group');
  });
});
