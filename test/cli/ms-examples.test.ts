import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { addUser, findUser } from '../../src/app/users.ts';
import { setUserAcp } from '../../src/app/acp.ts';
import { newPinPolicy, getPinPolicies } from '../../src/app/pin-policies.ts';
import { getBridges } from '../../src/app/bridges.ts';
import { getServiceNumbers } from '../../src/app/service-numbers.ts';
import { getTenantSettings } from '../../src/app/tenant-settings.ts';
import { dammCheckDigit } from '../../src/core/conference-id.ts';
import { DEFAULT_TENANT_SETTINGS } from '../../src/core/tenant-settings.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import { syncDirectory } from '../../src/app/directory-sync.ts';
import { PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, ouLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';

/**
 * Microsoft's documented examples for these cmdlets (MicrosoftDocs snapshot, see
 * /work/shared/ms-examples.md), copied here so the test does not depend on a path outside the repo.
 */
const TSV = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/ms-examples.tsv');

interface Example {
  key: string;
  command: string;
  effect: string;
}

function allExamples(): (Example & { cls: string })[] {
  const [header, ...rows] = fs.readFileSync(TSV, 'utf8').trim().split('\n');
  assert.equal(header, 'cmdlet\texample_number\tclass\tcommand\texpected_effect\tsource_file');
  return rows.map((r) => r.split('\t')).map((c) => ({ key: `${c[0]} #${c[1]}`, cls: c[2]!, command: c[3]!, effect: c[4]! }));
}

function runnableExamples(): Example[] {
  return allExamples().filter((e) => e.cls === 'RUNNABLE');
}

/**
 * The examples that start with Get-CsUser read users synced from a slapd of the test's own: Finance
 * people in an OU of their own (Microsoft's OU=Finance,DC=litwareinc,DC=com is substituted), a
 * manager in Sales. Their documented effects are checked through the summary each prints and the
 * final state.
 */
const FINANCE = `ou=finance,${PEOPLE}`;
const MS_FINANCE_OU = 'OU=Finance,DC=litwareinc,DC=com';
const OUR_FINANCE_OU = 'OU=Finance,OU=People,DC=contoso,DC=com';
const DIRECTORY = [
  ouLdif(FINANCE),
  ouLdif(`ou=sales,${PEOPLE}`),
  personLdif({ uid: 'finn', cn: 'Finn Banks', mail: 'finn@contoso.com', ou: 'Finance', title: 'Manager', parent: FINANCE }),
  personLdif({ uid: 'fiona', cn: 'Fiona Marsh', mail: 'fiona@contoso.com', ou: 'Finance', title: 'Analyst', parent: FINANCE }),
  personLdif({ uid: 'sam', cn: 'Sam Sales', mail: 'sam@contoso.com', ou: 'Sales', title: 'Manager', parent: `ou=sales,${PEOPLE}` }),
].join('\n');
const ou = (c: string) => c.replace(MS_FINANCE_OU, OUR_FINANCE_OU);

/** Data of our test directory that replaces the placeholders of the examples. */
interface Ids {
  tenant: string;
  bridge: string;
  conferenceId: string;
}

/**
 * The order the examples run in (a later one may need what an earlier one did), with the
 * substitutions each needs: placeholder numbers and GUIDs, and Microsoft's conference ID 3659305
 * whose last digit is not our check digit. `null` entries are glue lines of our own.
 */
const PLAN: [string, ((cmd: string, ids: Ids) => string) | null, string?][] = [
  ['Get-CsOnlineDialInConferencingTenantSettings #1', null],
  ['Set-CsOnlineDialInConferencingTenantSettings #1', null],
  ['Set-CsOnlineDialInConferencingTenantSettings #2', null],
  ['Remove-CsOnlineDialInConferencingTenantSettings #1', null],
  ['Get-CsOnlineDialInConferencingUser #1', null],
  ['Set-CsOnlineDialInConferencingUser #1', null],
  ['Set-CsOnlineDialInConferencingUser #2', null],
  ['Get-CsOnlineDialInConferencingBridge #1', null],
  ['Get-CsOnlineDialInConferencingBridge #2', (c, ids) => c.replace('26efe125-c070-46f9-8ed0-fc02165a167c', ids.tenant)],
  ['Set-CsOnlineDialInConferencingBridge #1', null],
  ['Get-CsOnlineDialInConferencingServiceNumber #1', null],
  ['Get-CsOnlineDialInConferencingServiceNumber #2', (c, ids) => c.replace('72dfe128-d079-46f8-8tr0-gb12369p167c', ids.bridge)],
  ['Get-CsOnlineDialInConferencingServiceNumber #3', null],
  ['Set-CsOnlineDialInConferencingServiceNumber #1', null],
  ['Register-CsOnlineDialInConferencingServiceNumber #1', (c, ids) => c.replace('+1425555XXX', '+14255550199').replace('fb91u3e9-5c2a-42c3-8yy5-ec02beexxx09', ids.bridge)],
  ['Unregister-CsOnlineDialInConferencingServiceNumber #1', (c) => c.replace(/ 1234$/, ' 14255550199')],
  ['Set-CsClientPin #1', null],
  ['Set-CsClientPin #2', null],
  ['Get-CsClientPinInfo #2', null],
  ['Lock-CsClientPin #1', null],
  ['Unlock-CsClientPin #1', null],
  ['Set-CsClientPin #3', ou],
  ['Get-CsClientPinInfo #3', ou],
  ['Get-CsClientPinInfo #4', null],
  ['Set-CsClientPin #4', null],
  ['Get-CsClientPinInfo #1', null],
  ['Lock-CsClientPin #2', null],
  ['Unlock-CsClientPin #2', null],
  ['Lock-CsClientPin #3', null],
  ['glue', null, 'Get-CsUser | Unlock-CsClientPin # Lock-CsClientPin #3 also locked the PINs without an expiration time ($null -lt a date, as in PowerShell)'],
  ['Get-CsPinPolicy #1', null],
  ['New-CsPinPolicy #1', null],
  ['Get-CsPinPolicy #2', null],
  ['Get-CsPinPolicy #3', null],
  ['Set-CsPinPolicy #1', null],
  ['Set-CsPinPolicy #2', null],
  ['Get-CsPinPolicy #4', null],
  ['Get-CsPinPolicy #5', null],
  ['Set-CsPinPolicy #3', null],
  ['glue', null, 'New-CsPinPolicy -Identity tag:LongPins -MinPasswordLength 12 # for Set-CsPinPolicy #4 to find'],
  ['Set-CsPinPolicy #4', null],
  ['glue', null, 'Remove-CsPinPolicy -Identity site:Redmond # New-CsPinPolicy #2 creates it again'],
  ['New-CsPinPolicy #2', null],
  ['glue', null, 'Remove-CsPinPolicy -Identity site:Redmond # New-CsPinPolicy #3 creates it again, in memory first'],
  ['New-CsPinPolicy #3', null],
  ['New-CsPinPolicy #4', null],
  ['Get-CsUserAcp #1', null],
  ['Set-CsUserAcp #1', null],
  ['Set-CsUserAcp #3', null],
  ['Get-CsUserAcp #3', null],
  ['Get-CsUserAcp #4', null],
  ['Get-CsUserAcp #2', null],
  ['Get-CsUserAcp #5', null],
  ['Remove-CsUserAcp #3', null],
  ['Remove-CsUserAcp #1', null],
  ['glue', null, 'Set-CsUserAcp -Identity "Ken Myer" -TollNumber "14255551298" -Domain "fabrikam.com" -Name "Fabrikam ACP" # for Remove-CsUserAcp #4 to find'],
  ['Remove-CsUserAcp #4', null],
  ['Set-CsUserAcp #2', null],
  ['Enable-CsOnlineDialInConferencingUser #1', (c, ids) => c.replace('-ConferenceId 3659305', `-ConferenceId ${ids.conferenceId}`)],
  ['Disable-CsOnlineDialInConferencingUser #1', null],
  ['Set-CsOnlineDialInConferencingUserDefaultNumber #1', (c, ids) => c.replace('9884626f-dcfb-49f4-8025-912f5bc68fdc', ids.bridge)],
  ['Set-CsOnlineDialInConferencingBridge #2', null],
  ['Remove-CsUserAcp #2', null],
];

for (const dialect of DIALECTS) {
  describe(`Microsoft's documented examples run (${dialect})`, () => {
    let t: TestEnv;
    let ids: Ids;
    let out: { code: number; stdout: string; stderr: string };
    let ldap: Slapd;

    before(async () => {
      t = await testEnv(dialect);
      const s = t.scope;
      // The directory the examples talk about.
      await bridgeWithNumbers(s, 'Conference Bridge', '+14255550100', ['+14255550101', '+14255551234']);
      await bridgeWithNumbers(s, 'Second Bridge', '+14255559999', ['+14255037265']);
      await addUser(s, { UserUri: 'Ken.Myer@contoso.com', DisplayName: 'Ken Myer' });
      await addUser(s, { UserUri: 'ken.meyers@contoso.com', DisplayName: 'Ken Meyers' });
      await addUser(s, { UserUri: 'ken.meyer@contoso.com', DisplayName: 'Ken Meyer' });
      await addUser(s, { UserUri: 'pilar@contoso.com', DisplayName: 'Pilar Ackerman' });
      await addUser(s, { UserUri: 'kenmyer@litwareinc.com', DisplayName: 'Kenneth Myer' });
      await addUsers(s, 'staff', 2);
      await enable(s, ['Ken.Myer@contoso.com', 'pilar@contoso.com', 'staff0@contoso.com', 'staff1@contoso.com']);
      await enable(s, ['ken.meyers@contoso.com'], { bridge: { name: 'Second Bridge' } });
      await t.ctx.db.kysely.transaction().execute(async (trx) => setUserAcp(trx, s, await findUser(trx, s.tenant.id, 'Ken Meyer'), { name: 'Litware ACP', domain: 'litware.com' }));
      await newPinPolicy(s, 'RedmondUsersPinPolicy', { MinPasswordLength: 6 });
      const bridge = (await getBridges(s, { name: 'Conference Bridge' }))[0]!.Identity;
      ids = { tenant: s.tenant.id, bridge, conferenceId: `365930${dammCheckDigit('365930')}` };
      // The people Get-CsUser finds in OUs: synced from the directory (no licence group: users only).
      ldap = await startSlapd(DIRECTORY);
      await addDirectoryConnection(s, { name: 'corp', url: ldap.url, base: SUFFIX, bindDn: SYNC_DN, password: SYNC_PW, caFile: ldap.caFile });
      assert.equal((await syncDirectory(s, 'corp')).Status, 'applied');
    });
    after(async () => {
      await ldap?.stop();
      await t?.cleanup();
    });

    it('the plan covers every example exactly once', () => {
      const all = allExamples();
      assert.equal(all.length, 58);
      assert.equal(runnableExamples().length, 38);
      assert.equal(all.filter((e) => /^Get-CsUser\b/.test(e.command)).length, 10);
      assert.deepEqual(PLAN.map(([k]) => k).filter((k) => k !== 'glue').sort(), all.map((e) => e.key).sort());
    });

    it('runs them all as one script, answering the -Confirm prompt', async () => {
      const examples = new Map(allExamples().map((e) => [e.key, e]));
      const lines = PLAN.map(([key, sub, glue]) => {
        if (key === 'glue') return glue!;
        const e = examples.get(key)!;
        return `# ${key}: ${e.effect}\n${sub ? sub(e.command, ids) : e.command}`;
      });
      const file = path.join(t.dataDir, 'ms-examples.ps1');
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      out = await runCli(['run', file], t.env, { input: 'y\n' });
      assert.equal(out.code, 0, `stdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
    });

    it('they had the effects Microsoft describes', async () => {
      assert.equal(out?.code, 0, 'the script ran');
      const s = t.scope;
      assert.deepEqual(await getTenantSettings(s), { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS }, 'Remove- restored the defaults after both Set- examples');
      const meyers = await userRow(s, 'sip:ken.meyers@contoso.com');
      const cb = (await getBridges(s, { id: ids.bridge }))[0]!;
      assert.equal(cb.Name, 'O365 Bridge', 'renamed through its object ($bridge.Name = …; -Instance $bridge)');
      assert.equal(meyers.bridge_id, cb.Identity, 'Ken Meyers moved to the Conference Bridge');
      assert.equal(cb.DefaultServiceNumber, '+14255551234', 'the bridge default was set');
      const n = (await getServiceNumbers(s, { number: '+14255551234' }))[0]!;
      assert.deepEqual([n.PrimaryLanguage, n.SecondaryLanguages], ['de-DE', ['en-US', 'ja-JP', 'en-GB']]);
      assert.deepEqual((await getServiceNumbers(s, { bridge: { id: cb.Identity } })).map((x) => x.Number), ['+14255550100', '+14255550101', '+14255551234'], 'the registered number was unregistered again');
      const litware = await userRow(s, 'sip:kenmyer@litwareinc.com');
      assert.equal(litware.pin_hash, t.ctx.keys.hashPin(litware.id, '18723834'));
      assert.equal(litware.pin_locked, 0, 'locked, then unlocked');
      const policies = Object.fromEntries((await getPinPolicies(s, {})).map((p) => [p.Identity, p]));
      assert.deepEqual([policies['site:Redmond']?.MinPasswordLength, policies['site:Redmond']?.PINHistoryCount, policies['site:Redmond']?.PINLifetime], [10, 10, 30]);
      assert.deepEqual([policies['tag:RedmondUsersPinPolicy']?.MinPasswordLength, policies['tag:RedmondUsersPinPolicy']?.AllowCommonPatterns], [10, true]);
      assert.equal(policies.Global?.MinPasswordLength, 10, 'Get-CsPinPolicy | Set-CsPinPolicy -MinPasswordLength 10 set every policy');
      assert.equal(policies['tag:LongPins']?.MaximumLogonAttempts, 25, 'the policy with more than 10 digits got 25 attempts');
      assert.notEqual(policies.Global?.MaximumLogonAttempts, 25, 'the others did not');
      assert.equal(policies['site:Paris']?.MinPasswordLength, 10, "site:Paris copied Redmond's length through $x.MinPasswordLength");
      const myer = await userRow(s, 'sip:ken.myer@contoso.com');
      assert.deepEqual([myer.provider, myer.dialin_enabled], ['None', 0], 'Ken Myer went to Fabrikam, then to no provider');
      const meyer = await userRow(s, 'sip:ken.meyer@contoso.com');
      assert.deepEqual([meyer.provider, meyer.dialin_enabled, meyer.conference_id, meyer.allow_pstn_only, meyer.service_number], ['Microsoft', 1, ids.conferenceId, 0, '+14255551234']);
      assert.equal((await userRow(s, 'sip:pilar@contoso.com')).dialin_enabled, 0, 'Pilar disabled after the prompt');
      for (const u of ['staff0', 'staff1', 'ken.meyers']) assert.equal((await userRow(s, `sip:${u}@contoso.com`)).service_number, '+14255550101', u);
      // The Get-CsUser examples.
      const all = await s.db.kysely.selectFrom('users').select(['sip', 'pin_hash', 'pin_locked', 'provider']).where('tenant_id', '=', s.tenant.id).execute();
      assert.equal(all.length, 10);
      assert.deepEqual(all.filter((u) => u.pin_hash === null).map((u) => u.sip).sort(), ['sip:ken.myer@contoso.com', 'sip:pilar@contoso.com'], 'Set-CsClientPin #3 and #4 left nobody without a PIN but the two who later left dialin (Ken Myer for Fabrikam, Pilar disabled)');
      assert.deepEqual(all.filter((u) => u.pin_locked === 1).map((u) => u.sip), [], 'every lock was undone by an unlock');
      assert.deepEqual(await s.db.kysely.selectFrom('user_acp').select('user_id').execute(), [], 'Get-CsUser | Remove-CsUserAcp removed every provider');
      assert.deepEqual(['finn', 'fiona', 'sam'].map((u) => all.find((x) => x.sip === `sip:${u}@contoso.com`)!.provider), ['None', 'None', 'None'], 'Finance had Fabrikam until the end');
    });

    it('printed what they show', () => {
      assert.equal(out?.code, 0, 'the script ran');
      assert.match(out.stdout, /^AutomaticallySendEmailsToUsers\s+: True$/m);
      assert.match(out.stdout, /^SendEmailFromDisplayName\s+: Conferencing Administrator$/m);
      assert.match(out.stdout, /^Name\s+: Fabrikam ACP\nDomain\s+: fabrikam\.com\nTollNumber\s+: \+1 425-555-1298\nTollFreeNumbers\s+: \{\+1 800-555-1010, \+1 800-555-1020\}\nParticipantPassCode : 13761/m);
      assert.match(out.stdout, /^IsPinSet\s+: True\nIsLockedOut\s+: False/m);
      assert.match(out.stdout, /^Identity\s+: tag:RedmondUsersPinPolicy$/m);
      assert.match(out.stdout, /^MovedUsers\s+: 3$/m);
      assert.match(out.stderr, /Performing the operation "Disable dial-in conferencing" on target "Pilar Ackerman"/);
      assert.match(out.stderr, /WARNING: dialin does not manage meetings, so -RescheduleMeetings was ignored/);
      // What each Get-CsUser pipeline did, in order (each group run prints its summary).
      const summaries = out.stderr.split('\n').filter((l) => /^(Set-CsClientPin|Lock-CsClientPin|Unlock-CsClientPin|Set-CsUserAcp|Remove-CsUserAcp): \d+ user\(s\)/.test(l));
      assert.deepEqual(summaries, [
        'Set-CsClientPin: 2 user(s): 2 given a PIN, 0 unchanged, 0 skipped.', // the Finance OU
        'Set-CsClientPin: 2 user(s): 2 given a PIN, 0 unchanged, 0 skipped.', // those without a PIN: sam and Ken Meyer
        'Lock-CsClientPin: 10 user(s): 10 locked, 0 unchanged, 0 skipped.', // every PIN set
        'Unlock-CsClientPin: 10 user(s): 10 unlocked, 0 unchanged, 0 skipped.', // every PIN locked
        'Lock-CsClientPin: 10 user(s): 10 locked, 0 unchanged, 0 skipped.', // expired, or no expiration ($null -lt the date)
        'Unlock-CsClientPin: 10 user(s): 10 unlocked, 0 unchanged, 0 skipped.',
        'Set-CsUserAcp: 2 user(s): 2 set, 0 unchanged, 0 skipped.', // Department=Finance
        'Remove-CsUserAcp: 10 user(s): 3 removed, 7 unchanged, 0 skipped.', // every user: Finance's two and the provider row Ken Meyer kept
      ]);
      assert.match(out.stdout, /^Identity\s+: sip:finn@contoso\.com\nIsPinSet\s+: True/m, 'Get-CsClientPinInfo of the Finance OU and of the managers');
      assert.match(out.stdout, /^Identity\s+: sip:sam@contoso\.com\nIsPinSet\s+: False/m, 'Get-CsClientPinInfo -LdapFilter "Title=Manager" ran before Set-CsClientPin #4 gave sam a PIN');
    });
  });
}
