import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMapping, mapEntry, parseMappingOverrides, effectiveMapping, type DirectoryEntry } from './directory-mapping.ts';
import { planSync, type CurrentUser } from './directory-plan.ts';
import { defaultMaxDisable, parseDirectoryUrl, parseInterval } from './directory-settings.ts';
import { normalizeDn } from './ldap-dn.ts';
import { AppError } from './errors.ts';

const ol = defaultMapping('openldap');
const entry = (uid: string, attrs: Record<string, string[]> = {}): DirectoryEntry => ({
  dn: `uid=${uid},ou=people,dc=c,dc=com`,
  attrs: { entryuuid: [`key-${uid}`], mail: [`${uid}@contoso.com`], cn: [`User ${uid}`], ...attrs },
});
const user = (sip: string, extra: Partial<CurrentUser> = {}): CurrentUser => ({
  id: `id-${sip}`,
  sip: `sip:${sip}`,
  email: sip,
  display_name: sip,
  language: '',
  phone: null,
  provider: 'None',
  dialin_enabled: 0,
  directory_id: null,
  directory_key: null,
  directory_dn: null,
  directory_attrs: null,
  ...extra,
});
const linked = (uid: string, enabled: boolean): CurrentUser =>
  user(`${uid}@contoso.com`, { directory_id: 'c1', directory_key: `key-${uid}`, directory_dn: `uid=${uid},ou=people,dc=c,dc=com`, display_name: `User ${uid}`, directory_attrs: JSON.stringify({ logon: uid }), provider: enabled ? 'Microsoft' : 'None', dialin_enabled: enabled ? 1 : 0 });
const members = (...uids: string[]) => new Set(uids.map((u) => normalizeDn(`uid=${u},ou=people,dc=c,dc=com`)));

describe('directory mapping', () => {
  it('maps OpenLDAP defaults and skips an entry without mail with the reason', () => {
    const m = mapEntry(entry('ann', { preferredlanguage: ['fr_ca'], telephonenumber: ['+1 425 555 0101'], uid: ['ann'], title: ['CFO'], ou: ['Finance'] }), ol);
    assert.ok('person' in m);
    assert.deepEqual([m.person.sip, m.person.email, m.person.displayName, m.person.language, m.person.phone, m.person.attrs], ['sip:ann@contoso.com', 'ann@contoso.com', 'User ann', 'fr-CA', '+1 425 555 0101', { logon: 'ann', title: 'CFO', department: 'Finance' }]);
    const none = mapEntry({ dn: 'uid=x,dc=c', attrs: { entryuuid: ['k'], cn: ['X'] } }, ol);
    assert.ok('skipped' in none && /no mail/.test(none.skipped.reason));
  });
  it('AD: the SIP attribute, else sip: + userPrincipalName; userAccountControl 0x2 is disabled; tel: lines', () => {
    const ad = defaultMapping('ad');
    const a = mapEntry({ dn: 'CN=A,DC=c', attrs: { objectguid: ['g1'], userprincipalname: ['a@contoso.com'], mail: ['a@contoso.com'], displayname: ['A'], useraccountcontrol: ['514'], 'msrtcsip-line': ['tel:+14255550100'] } }, ad);
    assert.ok('person' in a);
    assert.deepEqual([a.person.sip, a.person.disabled, a.person.phone], ['sip:a@contoso.com', true, '+14255550100']);
    const b = mapEntry({ dn: 'CN=B,DC=c', attrs: { objectguid: ['g2'], 'msrtcsip-primaryuseraddress': ['sip:bee@contoso.com'], userprincipalname: ['b@contoso.com'], mail: ['b@contoso.com'], cn: ['B'], useraccountcontrol: ['512'] } }, ad);
    assert.ok('person' in b);
    assert.deepEqual([b.person.sip, b.person.disabled], ['sip:bee@contoso.com', false]);
  });
  it('skips an entry whose text has control, bidi or invisible characters, with the reason (issue 10)', () => {
    for (const [attrs, reason] of [
      [{ cn: ['Ken \u202Ereym'] }, /^displayName\/cn has a bidirectional control character \(U\+202E\) at character 5$/],
      [{ mail: ['ken\u200B@contoso.com'] }, /^mail has a zero-width character \(U\+200B\)/],
      [{ title: ['CFO\u009b31m'] }, /^title has a C1 control character \(U\+009B\)/],
      [{ ou: ['Fin\u0000ance'] }, /^ou\/departmentNumber has a NUL character/],
    ] as [Record<string, string[]>, RegExp][]) {
      const m = mapEntry(entry('ken', attrs), ol);
      assert.ok('skipped' in m && reason.test(m.skipped.reason), JSON.stringify(m));
    }
    const ok = mapEntry(entry('zoe', { cn: ['Zoë نام\u200cخانوادگی 李'] }), ol);
    assert.ok('person' in ok);
  });
  it('--map overrides are checked and applied', () => {
    const m = effectiveMapping('openldap', parseMappingOverrides(['sip=labeledURI|mail', 'displayname=displayName']));
    assert.deepEqual([m.sip, m.displayName], [['labeledURI', 'mail'], ['displayName']]);
    assert.throws(() => parseMappingOverrides(['colour=cn']), (e) => e instanceof AppError && e.field === 'map');
    assert.throws(() => parseMappingOverrides(['sip=bad attr']), (e) => e instanceof AppError && e.field === 'map');
  });
  it('settings: URLs, intervals, the guard', () => {
    assert.deepEqual(parseDirectoryUrl('ldaps://dc1.contoso.com'), { secure: true, host: 'dc1.contoso.com', port: 636, url: 'ldaps://dc1.contoso.com' });
    assert.equal(parseDirectoryUrl('ldap://10.0.0.1:1389').port, 1389);
    assert.throws(() => parseDirectoryUrl('ldap://u:p@host'), (e) => e instanceof AppError && e.field === 'url');
    assert.equal(parseInterval('5m'), 300_000);
    assert.throws(() => parseInterval('5s'), (e) => e instanceof AppError && e.field === 'interval');
    assert.deepEqual([defaultMaxDisable(0), defaultMaxDisable(10), defaultMaxDisable(11), defaultMaxDisable(100_000)], [0, 1, 2, 500]);
  });
});

describe('sync plan', () => {
  const plan = (entries: DirectoryEntry[], users: CurrentUser[], licensed: Set<string> | null, o: { full?: boolean; maxDisable?: number | null } = {}) =>
    planSync({ connectionId: 'c1', full: o.full ?? true, entries: entries.map((e) => mapEntry(e, ol)), licensed, users, maxDisable: o.maxDisable ?? null });

  it('creates and enables members, adopts an existing user by SIP address, leaves non-members alone', () => {
    const p = plan([entry('ann'), entry('bob'), entry('carl')], [user('carl@contoso.com')], members('ann', 'carl'));
    const by = Object.fromEntries(p.items.map((i) => [i.sip, `${i.action}/${i.licence}`]));
    assert.deepEqual(by, { 'sip:ann@contoso.com': 'create/enable', 'sip:bob@contoso.com': 'create/null', 'sip:carl@contoso.com': 'adopt/enable' });
  });
  it('two entries with one SIP address: both skipped, naming each other', () => {
    const p = plan([entry('d1', { mail: ['dup@contoso.com'] }), entry('d2', { mail: ['dup@contoso.com'] })], [], members('d1', 'd2'));
    assert.deepEqual(p.items.map((i) => i.action), ['skip', 'skip']);
    assert.match(p.items[0]!.reason!, /also that of uid=d2/);
  });
  it('a rename is an update of the same user, without a licence change', () => {
    const p = plan([entry('ann', { cn: ['Ann New'], uid: ['ann'] })], [linked('ann', true)], members('ann'));
    assert.equal(p.items.length, 1);
    assert.deepEqual([p.items[0]!.action, p.items[0]!.userId, p.items[0]!.licence, p.items[0]!.changes], ['update', 'id-ann@contoso.com', null, ['displayName']]);
  });
  it('leavers and deleted entries are disabled; deletions only on a full pass; the guard counts them', () => {
    const users = [linked('ann', true), linked('bob', true), linked('carl', true)];
    const full = plan([entry('ann', { uid: ['ann'] }), entry('bob', { uid: ['bob'] })], users, members('ann'));
    assert.deepEqual(full.items.map((i) => `${i.action}/${i.licence}`).sort(), ['gone/disable', 'none/disable']);
    assert.equal(full.disableLimit, 1);
    assert.equal(full.overLimit, true);
    const inc = plan([], users, members('ann', 'bob', 'carl'), { full: false });
    assert.deepEqual(inc.items, []);
    assert.equal(plan([entry('ann', { uid: ['ann'] })], users, members('ann'), { maxDisable: 5 }).overLimit, false);
  });
  it('without a licence group only users are fed: no enable, no disable', () => {
    const p = plan([entry('ann')], [linked('bob', true)], null);
    assert.deepEqual(p.items.map((i) => `${i.action}/${i.licence}`), ['create/null', 'gone/null']);
  });
  it('stores each linked user\'s membership when it changes; with no group changed, users not read are not checked', () => {
    const users = [linked('ann', true), { ...linked('bob', false), directory_licensed: 0 }, { ...linked('carl', true), directory_licensed: 1 }];
    const full = plan([entry('ann', { uid: ['ann'] }), entry('bob', { uid: ['bob'] }), entry('carl', { uid: ['carl'] }), entry('dan')], users, members('ann', 'carl', 'dan'));
    assert.deepEqual(full.memberships, [{ userId: 'id-ann@contoso.com', member: true }]);
    assert.equal(full.items.find((i) => i.action === 'create')!.member, true);
    // bob joined the group, but the pass was told no group changed: only what it read is planned.
    const calm = planSync({ connectionId: 'c1', full: false, entries: [], licensed: members('bob'), users, maxDisable: null, groupsUnchanged: true, enabledBefore: 2, licensedCount: 2 });
    assert.deepEqual([calm.items, calm.memberships, calm.counts.licensed], [[], [], 2]);
  });
  it('an entry that can no longer be mapped is skipped, and its user is not treated as gone', () => {
    const p = plan([{ dn: 'uid=ann,ou=people,dc=c,dc=com', attrs: { entryuuid: ['key-ann'], cn: ['Ann'] } }], [linked('ann', true)], members('ann'));
    assert.deepEqual(p.items.map((i) => i.action), ['skip']);
    assert.equal(p.counts.disable, 0);
  });
});
