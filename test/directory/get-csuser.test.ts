import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { runCli } from '../support/cli.ts';
import { bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, groupLdif, ouLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';
import { addUser } from '../../src/app/users.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import { syncDirectory } from '../../src/app/directory-sync.ts';
import { main } from '../../src/adapters/cli/main.ts';

/**
 * Get-CsUser / Get-CsOnlineUser over users synced from a real slapd of the test's own (people in
 * two OUs, a licence group) and one user from a CSV: -Identity (a DN in any case), -OU, -LdapFilter,
 * -Filter, -ResultSize, --json, bad input refused with its code, and the objects piped into the PIN
 * and provider cmdlets through the script reader. On SQLite and PostgreSQL.
 */
const FINANCE = `ou=finance,${PEOPLE}`;
const SALES = `ou=sales,${PEOPLE}`;
const LDIF = [
  ouLdif(FINANCE),
  ouLdif(SALES),
  personLdif({ uid: 'ann', cn: 'Ann Lee', mail: 'ann@contoso.com', ou: 'Finance', title: 'Controller', phone: '+1 425 555 0101', parent: FINANCE }),
  personLdif({ uid: 'fred', cn: 'Fred Fox', mail: 'fred@contoso.com', ou: 'Finance', title: 'Manager', parent: FINANCE }),
  personLdif({ uid: 'bob', cn: 'Bob Ray', mail: 'bob@contoso.com', ou: 'Sales', title: 'Manager', parent: SALES }),
  personLdif({ uid: 'carl', cn: 'Carl Diaz', mail: 'carl@contoso.com', ou: 'Sales', title: 'Seller', parent: SALES }),
  groupLdif('dialin', [`uid=ann,${FINANCE}`, `uid=bob,${SALES}`]),
].join('\n');

interface Shown {
  Identity: string;
  SipAddress: string;
  DisplayName: string;
  Enabled: boolean;
  Title: string | null;
  Department: string | null;
  LineURI: string | null;
  SamAccountName: string | null;
}

for (const dialect of DIALECTS) {
  describe(`Get-CsUser on directory data (${dialect})`, () => {
    let t: TestEnv;
    let ldap: Slapd;
    // The CLI's own entry point in this process (argv, terminal, env), as the subprocess runs it: a node start per query would take most of the run.
    const cli = async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const term = { out: (x: string) => void (stdout += `${x}\n`), err: (x: string) => void (stderr += `${x}\n`), ask: async () => null, askSecret: async () => null };
      const code = await main(args, term, t.env);
      return { code, stdout, stderr };
    };
    const json = async (...args: string[]): Promise<Shown[]> => {
      const r = await cli('--json', ...args);
      assert.equal(r.code, 0, r.stderr);
      const v = JSON.parse(r.stdout);
      return Array.isArray(v) ? v : [v];
    };
    const sips = (xs: Shown[]) => xs.map((x) => x.SipAddress);

    before(async () => {
      t = await testEnv(dialect);
      ldap = await startSlapd(LDIF);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234');
      await addUser(t.scope, { UserUri: 'zed@contoso.com', DisplayName: 'Zed (CSV)' });
      await addDirectoryConnection(t.scope, { name: 'corp', url: ldap.url, base: SUFFIX, bindDn: SYNC_DN, password: SYNC_PW, caFile: ldap.caFile, licenceGroup: LICENCE_GROUP });
      const r = await syncDirectory(t.scope, 'corp');
      assert.equal(r.Status, 'applied');
    });
    after(async () => {
      await ldap?.stop();
      await t?.cleanup();
    });

    it('lists every user, directory ones with their DN as Identity and their attributes, a CSV user by SIP address', async () => {
      const all = await json('Get-CsUser');
      assert.deepEqual(sips(all), ['sip:ann@contoso.com', 'sip:bob@contoso.com', 'sip:carl@contoso.com', 'sip:fred@contoso.com', 'sip:zed@contoso.com']);
      const ann = all[0]!;
      assert.deepEqual([ann.Identity, ann.DisplayName, ann.Enabled, ann.Title, ann.Department, ann.LineURI, ann.SamAccountName], [`uid=ann,${FINANCE}`, 'Ann Lee', true, 'Controller', 'Finance', 'tel:+14255550101', 'ann']);
      assert.equal(all[2]!.Enabled, false, 'carl is not in the licence group');
      assert.deepEqual([all[4]!.Identity, all[4]!.Title], ['sip:zed@contoso.com', null]);
      assert.deepEqual(sips(await json('Get-CsOnlineUser')), sips(all), 'Get-CsOnlineUser shows the same users');
      const sub = await runCli(['--json', 'Get-CsUser', '-OU', 'OU=Finance,OU=People,DC=contoso,DC=com'], t.env);
      assert.equal(sub.code, 0, sub.stderr);
      assert.deepEqual(sips(JSON.parse(sub.stdout)), ['sip:ann@contoso.com', 'sip:fred@contoso.com'], 'the dialin command, a DN split at its commas by the binder joined back');
      const list = await cli('Get-CsUser', '-Identity', 'fred@contoso.com');
      assert.match(list.stdout, /^Identity\s+: uid=fred,ou=finance,ou=people,dc=contoso,dc=com$/m);
      assert.match(list.stdout, /^Title\s+: Manager$/m);
    });

    it('-Identity takes the DN (in any case and spacing), -OU the users under a DN, -ResultSize a bound', async () => {
      assert.deepEqual(sips(await json('Get-CsUser', '-Identity', 'UID=Fred, OU=Finance, OU=People, DC=contoso, DC=com')), ['sip:fred@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-OU', 'OU=Finance,OU=People,DC=Contoso,DC=com')), ['sip:ann@contoso.com', 'sip:fred@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-OU', PEOPLE)).length, 4, 'both OUs are under ou=people; the CSV user is in none');
      assert.deepEqual(sips(await json('Get-CsUser', '-ResultSize', '2')), ['sip:ann@contoso.com', 'sip:bob@contoso.com']);
      assert.deepEqual(await json('Get-CsUser', '-OU', `ou=nobody,${SUFFIX}`), []);
    });

    it('-LdapFilter reads RFC 4515 over the synced attributes, names as the directory or Get-CsUser spells them, case-insensitive', async () => {
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', 'Title=Manager')), ['sip:bob@contoso.com', 'sip:fred@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', '(&(TITLE=manager)(ou=finance))')), ['sip:fred@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', '(Department=Sales)')), ['sip:bob@contoso.com', 'sip:carl@contoso.com'], 'Get-CsUser’s own name for ou');
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', '(|(cn=Ann*)(!(mail=*)))')), ['sip:ann@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', '(&(uid=*a*)(!(title=Seller)))')), ['sip:ann@contoso.com'], 'substring and not');
      assert.deepEqual(sips(await json('Get-CsUser', '-LdapFilter', '(telephoneNumber=*)')), ['sip:ann@contoso.com']);
    });

    it('-Filter reads a PowerShell-style filter over the printed properties, on the command line and as a script block', async () => {
      assert.deepEqual(sips(await json('Get-CsUser', '-Filter', '{Department -eq "Finance"}')), ['sip:ann@contoso.com', 'sip:fred@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-Filter', "Title -like 'M*' -and Enabled -eq $true")), ['sip:bob@contoso.com']);
      assert.deepEqual(sips(await json('Get-CsUser', '-Filter', '{-not (Title -eq $null)} ', '-ResultSize', '1')), ['sip:ann@contoso.com']);
      const r = await cli('--json', '-Command', 'Get-CsUser -Filter {Department -eq "Sales"} -ResultSize 1');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([JSON.parse(r.stdout)].flat().map((x: Shown) => x.SipAddress), ['sip:bob@contoso.com'], 'the filter is applied before -ResultSize');
    });

    it('refuses bad input with its code and the field, changing nothing', async () => {
      const before = await dumpDb(t.ctx.db);
      const cases: [string[], RegExp][] = [
        [['-LdapFilter', '(title='], /LDAP_FILTER_INVALID: -LdapFilter "\(title=" is not an RFC 4515 filter/],
        [['-LdapFilter', '(cn:dn:=x)'], /LDAP_FILTER_INVALID: -LdapFilter: extensible matches/],
        [['-Filter', '{Department -foo "x"}'], /USER_FILTER_INVALID: -Filter .*no comparison operator/],
        [['-Filter', '{Department -eq $dept}'], /USER_FILTER_INVALID: .*variable \$dept/],
        [['-OU', 'Finance'], /INVALID_ARGUMENT: -OU "Finance" is not a distinguished name/],
        [['-ResultSize', '0'], /INVALID_ARGUMENT: -ResultSize must be a whole number of at least 1/],
        [['-Identity', 'uid=nobody,ou=people,dc=contoso,dc=com'], /USER_NOT_FOUND/],
      ];
      for (const [args, re] of cases) {
        const r = await cli('Get-CsUser', ...args);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, re, args.join(' '));
      }
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('pipes into Set-CsClientPin, Get-CsClientPinInfo, Lock/Unlock-CsClientPin and Set/Remove-CsUserAcp by SIP address', async () => {
      const script = path.join(t.dataDir, 'pipes.ps1');
      fs.writeFileSync(script, [
        `Get-CsUser -OU "OU=Finance,${PEOPLE}" | Set-CsClientPin`,
        'Get-CsUser -LdapFilter "Title=Manager" | Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $True} | Lock-CsClientPin',
        'Get-CsUser -LdapFilter "Department=Sales" | Set-CsUserAcp -TollNumber "14255551298" -ParticipantPassCode 13761 -Domain "fabrikam.com" -Name "Fabrikam ACP"',
        'Get-CsUser -Identity "carl@contoso.com" | Remove-CsUserAcp',
        '',
      ].join('\n'));
      const r = await runCli(['run', script], t.env);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const row = (u: string) => userRow(t.scope, `sip:${u}@contoso.com`);
      assert.deepEqual(await Promise.all(['ann', 'fred', 'bob', 'carl', 'zed'].map(async (u) => (await row(u)).pin_hash !== null)), [true, true, false, false, false], 'the Finance OU got PINs (bob had one from his enabling, gone with his move to Fabrikam)');
      assert.deepEqual(await Promise.all(['ann', 'fred'].map(async (u) => (await row(u)).pin_locked)), [0, 1], 'the manager fred was locked, the controller ann not');
      assert.match(r.stderr, /^Lock-CsClientPin: 2 user\(s\): 2 locked, 0 unchanged, 0 skipped\.$/m, 'both managers (bob with the PIN of his enabling) were locked');
      assert.deepEqual([(await row('bob')).provider, (await row('carl')).provider, (await row('ann')).provider], ['ThirdParty', 'None', 'Microsoft'], 'Sales went to Fabrikam; carl then to no provider');
      const unlock = await cli(...['-Command', 'Get-CsUser | Get-CsClientPinInfo | Where-Object {$_.IsLockedOut -eq $True} | Unlock-CsClientPin']);
      assert.equal(unlock.code, 0, unlock.stderr);
      assert.equal((await row('fred')).pin_locked, 0);
    });
  });
}
