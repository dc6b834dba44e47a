import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ldapMatches, type LdapFilter } from './ldap-filter.ts';
import { parsePsFilter, psFilterMatches } from './ps-filter.ts';
import { AppError } from './errors.ts';

const bag = new Map<string, string[]>([
  ['title', ['Senior Manager']],
  ['ou', ['Finance', 'Audit']],
  ['employeenumber', ['120']],
]);

describe('LDAP filters over kept attributes', () => {
  const m = (f: LdapFilter) => ldapMatches(f, bag);
  it('matches equality and substrings case-insensitively, over every value of an attribute', () => {
    assert.equal(m({ op: 'eq', attribute: 'TITLE', value: 'senior  manager' }), true);
    assert.equal(m({ op: 'eq', attribute: 'ou', value: 'audit' }), true);
    assert.equal(m({ op: 'substring', attribute: 'title', initial: 'sen', any: ['man'], final: 'er' }), true);
    assert.equal(m({ op: 'substring', attribute: 'title', initial: 'man', any: [], final: '' }), false);
  });
  it('orders numbers as numbers, knows presence, and combines', () => {
    assert.equal(m({ op: 'ge', attribute: 'employeeNumber', value: '99' }), true, '120 ≥ 99 numerically, not as text');
    assert.equal(m({ op: 'le', attribute: 'employeeNumber', value: '99' }), false);
    assert.equal(m({ op: 'present', attribute: 'mail' }), false);
    assert.equal(m({ op: 'and', filters: [{ op: 'present', attribute: 'ou' }, { op: 'not', filter: { op: 'eq', attribute: 'ou', value: 'sales' } }] }), true);
    assert.equal(m({ op: 'or', filters: [] }), false);
  });
});

describe('PowerShell-style -Filter', () => {
  const u = { Department: 'Finance', Enabled: true, Title: null, LineURI: 'tel:+14255550101' };
  const m = (f: string) => psFilterMatches(parsePsFilter(f), u);
  it('reads {Property -op value} with -and / -or / -not, case-insensitive names and text', () => {
    assert.equal(m('{Department -eq "Finance"}'), true);
    assert.equal(m("department -EQ 'finance'"), true);
    assert.equal(m('{Department -ceq "Finance" -and Enabled -eq $true}'), true);
    assert.equal(m('Department -ne "Finance" -or Title -eq $null'), true);
    assert.equal(m('-not (Title -eq $null)'), false);
    assert.equal(m('LineURI -like "tel:+1425*"'), true);
    assert.equal(m('Department -match "^fin"'), true);
    assert.equal(m('Missing -eq $null'), true, 'a property the user lacks is null');
  });
  it('refuses what it cannot read, with USER_FILTER_INVALID', () => {
    for (const f of ['', '{}', 'Department', 'Department -eq', 'Department -foo x', '{Department -eq "x}', 'Department -eq $x', '(Department -eq x', 'a -eq b c']) {
      assert.throws(() => parsePsFilter(f), (e) => e instanceof AppError && e.code === 'USER_FILTER_INVALID', f);
    }
  });
});
