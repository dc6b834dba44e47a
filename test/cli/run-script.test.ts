import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk } from '../support/cli-expect.ts';
import { addUsers, userRow } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { getBridges } from '../../src/app/bridges.ts';
import { getServiceNumbers } from '../../src/app/service-numbers.ts';
import { getTenantSettings } from '../../src/app/tenant-settings.ts';

const SETUP = `# Set up dial-in for Contoso.
New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"   # the default bridge

Register-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 \`
    -BridgeName "Conference Bridge" \`
    -City Redmond
Set-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -PrimaryLanguage de-de -SecondaryLanguages en-us, ja-jp, en-gb
Set-CsOnlineDialInConferencingBridge -Name:"Conference Bridge" -DefaultServiceNumber 14255551234
Set-CsOnlineDialInConferencingTenantSettings -PinLength 7 -EnableNameRecording $false # "#" inside quotes is kept:
New-CsOnlineDialInConferencingBridge -Name "Room #2"
Enable-CsOnlineDialInConferencingUser -Identity ken0@contoso.com, ken1@contoso.com
`;

for (const dialect of DIALECTS) {
  describe(`dialin run FILE.ps1 (${dialect})`, () => {
    let t: TestEnv;
    const script = (name: string, text: string) => {
      const f = path.join(t.dataDir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'ken', 3);
    });
    after(() => t.cleanup());

    it('runs every line: backtick continuations, # comments, blank lines', async () => {
      const r = await expectOk(t, ['run', script('setup.ps1', SETUP)]);
      assert.match(r.stderr, /2 user\(s\): 2 enabled/);
      assert.deepEqual((await getBridges(t.scope, {})).map((b) => [b.Name, b.DefaultServiceNumber, b.IsDefault]), [['Conference Bridge', '+14255551234', true], ['Room #2', null, false]]);
      const [n] = await getServiceNumbers(t.scope, {});
      assert.deepEqual([n!.City, n!.PrimaryLanguage, n!.SecondaryLanguages], ['Redmond', 'de-DE', ['en-US', 'ja-JP', 'en-GB']]);
      const settings = await getTenantSettings(t.scope);
      assert.deepEqual([settings.PinLength, settings.EnableNameRecording], [7, false]);
      assert.equal((await userRow(t.scope, 'sip:ken1@contoso.com')).service_number, '+14255551234');
    });

    it('stops at the first error with its line number, keeping what the lines before did', async () => {
      const f = script('broken.ps1', [
        '# line 1: a comment',
        'Set-CsOnlineDialInConferencingTenantSettings -PinLength 8',
        '',
        'Set-CsClientPin -Identity ken2@contoso.com `',
        '   -Pin 11111',
        'Set-CsOnlineDialInConferencingTenantSettings -PinLength 9',
      ].join('\n'));
      const r = await runCli(['run', f], t.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^dialin: PIN_COMMON_PATTERN: .*broken\.ps1, line 4: Pin is a common pattern/m);
      assert.match(r.stderr, /\n {2}Set-CsClientPin -Identity ken2@contoso.com\s+-Pin 11111/);
      assert.equal((await getTenantSettings(t.scope)).PinLength, 8, 'line 2 ran, line 6 did not');
      assert.equal((await userRow(t.scope, 'sip:ken2@contoso.com')).pin_hash, null);
    });

    it('refuses unknown cmdlets and PowerShell it does not run with their line and column, before running any line', async () => {
      const r = await runCli(['run', script('ps.ps1', 'Set-CsOnlineDialInConferencingTenantSettings -PinLength 6\n$users = Get-CsUsr\n')], t.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^dialin: UNKNOWN_COMMAND: line 2, column 10: "Get-CsUsr" is not a dialin cmdlet/m);
      assert.notEqual((await getTenantSettings(t.scope)).PinLength, 6, 'line 1 did not run');
      const u = await runCli(['run', script('typo.ps1', '\n\nGet-CsPinPolicyy\n')], t.env);
      assert.match(u.stderr, /^dialin: UNKNOWN_COMMAND: line 3, column 1: .*Did you mean Get-CsPinPolicy\?/m);
      const c = await runCli(['run', script('class.ps1', 'Get-CsPinPolicy\n\nclass Foo { }\n')], t.env);
      assert.match(c.stderr, /^dialin: UNSUPPORTED_SYNTAX: line 3, column 1: the 'class' keyword is not supported/m);
      assert.equal(c.stdout, '', 'nothing ran');
      const missing = await runCli(['run', path.join(t.dataDir, 'none.ps1')], t.env);
      assert.match(missing.stderr, /^dialin: FILE_NOT_FOUND: /m);
    });
  });
}
