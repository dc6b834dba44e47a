import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { addUsers, userRow } from '../support/fixtures.ts';
import { getPinPolicies } from '../../src/app/pin-policies.ts';

/** A script of the shape admins write: connect lines, CSV in, a loop, a report out. */
const ADMIN_SCRIPT = (csv: string, report: string) => `# Reset PINs for the new hires (was run against Skype for Business Online)
Import-Module SkypeOnlineConnector
$cred = Get-Credential
$session = New-CsOnlineSession -Credential $cred
Import-PSSession $session

$users = Import-Csv -Path "${csv}"
Write-Host "Setting PINs for $($users.Count) users"
$users | ForEach-Object { Set-CsClientPin -Identity $_.UserUri -Pin $_.Pin }

foreach ($u in $users) {
    if ($u.Lock -eq 'YES') {
        Lock-CsClientPin -Identity $u.UserUri
    } elseif ($u.Lock -like 'n*') {
        Write-Host "leaving $($u.UserUri) unlocked"
    } else {
        Write-Warning "unknown Lock value for $($u.UserUri)"
    }
}

$params = @{ Identity = 'site:Admins'; MinPasswordLength = 6 }
New-CsPinPolicy @params

try {
    Set-CsClientPin -Identity nobody@contoso.com -Pin 739182 -ErrorAction Stop
    Write-Host "not reached"
} catch {
    Write-Host "failed: $($_.Exception.Message)"
}
Set-CsClientPin -Identity ghost@contoso.com -Pin 739182 -ErrorAction SilentlyContinue

$all = 'ken0@contoso.com', 'ken1@contoso.com', 'ken2@contoso.com', 'ken3@contoso.com'
Get-CsClientPinInfo -Identity ($users | Select-Object -ExpandProperty UserUri) |
    Where-Object IsPinSet -eq $true |
    Select-Object Identity, IsPinSet |
    Export-Csv -Path "${report}" -NoTypeInformation
$n = (Import-Csv "${report}" | Measure-Object).Count
Write-Output "report: $n rows"; Write-Output ("total: " + ($n + 1))

# Microsoft's shape: who has no PIN yet gets one generated.
Get-CsClientPinInfo -Identity $all | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin
`;

for (const dialect of DIALECTS) {
  describe(`admin scripts run in one process (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'ken', 4);
    });
    after(() => t.cleanup());

    it('CSV in, ForEach-Object, foreach/if/elseif, splatting, try/catch, -ErrorAction, a report out, pipeline binding', async () => {
      const csv = path.join(t.dataDir, 'pins.csv');
      const report = path.join(t.dataDir, 'report.csv');
      fs.writeFileSync(csv, 'UserUri,Pin,Lock\nken0@contoso.com,48213957,yes\nken1@contoso.com,59302718,no\nken2@contoso.com,60318274,yes\n');
      const file = path.join(t.dataDir, 'admin.ps1');
      fs.writeFileSync(file, ADMIN_SCRIPT(csv, report));
      const r = await runCli(['run', file], t.env);
      assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      const s = t.scope;
      for (const [u, pin, locked] of [['ken0', '48213957', 1], ['ken1', '59302718', 0], ['ken2', '60318274', 1]] as const) {
        const row = await userRow(s, `sip:${u}@contoso.com`);
        assert.equal(row.pin_hash, t.ctx.keys.hashPin(row.id, pin), `${u}'s PIN from the CSV`);
        assert.equal(row.pin_locked, locked, `${u} locked as the CSV says`);
      }
      assert.notEqual((await userRow(s, 'sip:ken3@contoso.com')).pin_hash, null, 'ken3 had no PIN: Where-Object | Set-CsClientPin generated one');
      assert.equal((await getPinPolicies(s, { identity: 'site:Admins' }))[0]?.MinPasswordLength, 6, 'New-CsPinPolicy @params');
      assert.match(r.stdout, /^Setting PINs for 3 users$/m);
      assert.match(r.stdout, /^leaving ken1@contoso\.com unlocked$/m);
      assert.match(r.stdout, /^failed: .*nobody@contoso\.com/m);
      assert.doesNotMatch(r.stdout, /not reached/);
      assert.match(r.stdout, /^report: 3 rows$/m);
      assert.match(r.stdout, /^total: 4$/m);
      assert.match(r.stderr, /NOTE: line 2: Import-Module is not needed/);
      assert.deepEqual(fs.readFileSync(report, 'utf8').trim().split('\n'), ['"Identity","IsPinSet"', '"sip:ken0@contoso.com","True"', '"sip:ken1@contoso.com","True"', '"sip:ken2@contoso.com","True"']);
    });

    it('dialin -Command runs a pipeline given as one string', async () => {
      const r = await runCli(['-Command', 'Get-CsPinPolicy | Where-Object {$_.Identity -like "site:*"} | Select-Object -ExpandProperty Identity'], t.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'site:Admins');
    });

    it('a runtime error stops the script at its line; the lines before it stay done', async () => {
      const file = path.join(t.dataDir, 'stop.ps1');
      fs.writeFileSync(file, 'Set-CsOnlineDialInConferencingTenantSettings -PinLength 8\n$x = 1\nSet-CsClientPin -Identity nobody@contoso.com -Pin 739182\nSet-CsOnlineDialInConferencingTenantSettings -PinLength 9\n');
      const r = await runCli(['run', file], t.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^dialin: USER_NOT_FOUND: .*stop\.ps1, line 3: /m);
      const { getTenantSettings } = await import('../../src/app/tenant-settings.ts');
      assert.equal((await getTenantSettings(t.scope)).PinLength, 8);
    });
  });
}
