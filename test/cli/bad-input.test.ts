import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk, expectRefused } from '../support/cli-expect.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { setPinPolicy } from '../../src/app/pin-policies.ts';

/** [what, argv, code, message] — each must fail with that code and change nothing. */
type Case = [string, string[], string, RegExp];

for (const dialect of DIALECTS) {
  describe(`CLI bad input (${dialect})`, () => {
    let t: TestEnv;
    let taken: string;
    const csv = (name: string, content: string | Buffer) => {
      const f = path.join(t.dataDir, name);
      fs.writeFileSync(f, content);
      return f;
    };
    const script = csv;

    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234', ['tf:+18005551010']);
      await bridgeWithNumbers(t.scope, 'Second Bridge', '+14255559999');
      await addUsers(t.scope, 'ken', 2);
      await addUsers(t.scope, 'bob', 1);
      const [, r] = await enable(t.scope, ['ken0@contoso.com', 'ken1@contoso.com']);
      taken = r!.output!.ConferenceId as string;
    });
    after(() => t.cleanup());

    const cases = (): Case[] => {
      const longAddress = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
      assert.equal(longAddress.length, 255);
      const header = 'UserUri,DisplayName,EmailAddress,Language';
      return [
        ['an unknown cmdlet, with the closest suggested', ['Get-CsOnlineDialInConferencingUsr'], 'UNKNOWN_COMMAND', /Did you mean Get-CsOnlineDialInConferencingUser\?/],
        ['an unknown command', ['frobnicate', 'now'], 'UNKNOWN_COMMAND', /"frobnicate" is not a dialin cmdlet or command/],
        ['an unknown parameter, with the closest suggested', ['Get-CsClientPinInfo', '-Identiti', 'ken0@contoso.com'], 'UNKNOWN_PARAMETER', /has no parameter -Identiti\. Did you mean -Identity\?/],
        ['a Microsoft parameter dialin does not support', ['Set-CsOnlineDialInConferencingTenantSettings', '-AutomaticallyMigrateUserMeetings', '$false'], 'PARAMETER_NOT_SUPPORTED', /-AutomaticallyMigrateUserMeetings .*not supported and nothing was changed/],
        ['a missing mandatory parameter', ['Set-CsClientPin', '-Pin', '80246'], 'MISSING_ARGUMENT', /Set-CsClientPin needs -Identity/],
        ['a PIN with a letter', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '8024a'], 'PIN_NOT_DIGITS', /Pin must contain only the digits 0-9/],
        ['a PIN in full-width digits', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '８０２４６'], 'PIN_NOT_DIGITS', /only the digits 0-9/],
        ['a PIN in Arabic-Indic digits', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '٨٠٢٤٦'], 'PIN_NOT_DIGITS', /only the digits 0-9/],
        ['a PIN too short', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '8024'], 'PIN_TOO_SHORT', /at least 5 digits/],
        ['a PIN too long', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '8024681357913'], 'PIN_TOO_LONG', /at most 12 digits/],
        ['a PIN of consecutive digits', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '12345'], 'PIN_COMMON_PATTERN', /4 or more consecutive digits/],
        ['a PIN of repeated digits', ['Set-CsClientPin', '-Identity', 'ken0@contoso.com', '-Pin', '77770'], 'PIN_COMMON_PATTERN', /repeated digits/],
        ['PinLength 3', ['Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', '3'], 'SETTING_INVALID', /PinLength must be a whole number from 4 to 12/],
        ['PinLength 13', ['Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', '13'], 'SETTING_INVALID', /PinLength must be a whole number from 4 to 12/],
        ['the sender override without an address', ['Set-CsOnlineDialInConferencingTenantSettings', '-SendEmailFromOverride', '$true'], 'SENDER_OVERRIDE_INCOMPLETE', /both SendEmailFromAddress and SendEmailFromDisplayName/],
        ['the override alias without a display name', ['Set-CsOnlineDialInConferencingTenantSetting', '-SendEmailOverride', 'true', '-SendEmailFromAddress', 'admin@contoso.com'], 'SENDER_OVERRIDE_INCOMPLETE', /SendEmailFromOverride/],
        ['an e-mail address with CR/LF', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve', '--email', 'eve@contoso.com\r\nBcc: all@contoso.com'], 'TEXT_INVALID', /email has a control character \(U\+000D\) at character 16/],
        ['an e-mail address with a comma', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve', '--email', 'eve@contoso.com,boss@contoso.com'], 'EMAIL_INVALID', /EmailAddress .*comma/],
        ['a list where one address is expected (a,b is PowerShell list syntax)', ['Set-CsOnlineDialInConferencingTenantSettings', '-SendEmailFromAddress', 'a@contoso.com,b@contoso.com'], 'INVALID_ARGUMENT', /-SendEmailFromAddress takes one value, not a list/],
        ['an e-mail address without a domain', ['Enable-CsOnlineDialInConferencingUser', '-Identity', 'bob0@contoso.com', '-SendEmail', '-SendEmailToAddress', 'bob@'], 'EMAIL_INVALID', /SendEmailToAddress "bob@" .*no domain/],
        ['an e-mail address over 254 characters', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve', '--email', longAddress], 'EMAIL_INVALID', /longer than 254 characters/],
        ['an unknown identity', ['Get-CsClientPinInfo', '-Identity', 'nobody@contoso.com'], 'USER_NOT_FOUND', /No user matches the identity "nobody@contoso.com"/],
        ['an unknown display name', ['Set-CsClientPin', '-Identity', 'No Body', '-Pin', '80246'], 'USER_NOT_FOUND', /"No Body"/],
        ['a duplicate user', ['users', 'add', '--uri', 'KEN0@contoso.com', '--name', 'Ken again'], 'USER_EXISTS', /sip:ken0@contoso.com already exists/],
        ['a number not in E.164', ['Register-CsOnlineDialInConferencingServiceNumber', '-Identity', '+1425555XXX', '-BridgeName', 'Conference Bridge'], 'NUMBER_INVALID', /Identity "\+1425555XXX" is not a phone number in E\.164 form/],
        ['a number not on the bridge', ['Set-CsOnlineDialInConferencingBridge', '-Name', 'Conference Bridge', '-DefaultServiceNumber', '14255559999'], 'NUMBER_NOT_ON_BRIDGE', /\+14255559999 is not a service number of bridge "Conference Bridge"/],
        ['a user number not on their bridge', ['Set-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com', '-ServiceNumber', '+14255559999'], 'NUMBER_NOT_ON_BRIDGE', /ServiceNumber/],
        ['a toll-free number as bridge default', ['Set-CsOnlineDialInConferencingBridge', '-Name', 'Conference Bridge', '-DefaultServiceNumber', '18005551010'], 'NUMBER_TYPE_MISMATCH', /is a toll-free number; a toll number is needed/],
        ['a conference ID of the wrong length', ['Set-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com', '-ConferenceId', '365930'], 'CONFERENCE_ID_INVALID', /must have 7 digits/],
        ['a conference ID with a bad check digit', ['Set-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com', '-ConferenceId', '3659305'], 'CONFERENCE_ID_INVALID', /wrong check digit/],
        ['a conference ID taken', ['Enable-CsOnlineDialInConferencingUser', '-Identity', 'bob0@contoso.com', '-ConferenceId', taken], 'CONFERENCE_ID_TAKEN', /already used by another user/],
        ['a CSV with a missing column', ['users', 'import', csv('missing.csv', 'UserUri,DisplayName,Language\nx@contoso.com,X,en\n')], 'CSV_INVALID', /line 1: the header lacks the column EmailAddress/],
        ['a CSV not in UTF-8', ['users', 'import', csv('latin1.csv', Buffer.concat([Buffer.from(`${header}\nx@contoso.com,Fran`), Buffer.from([0xe7]), Buffer.from('ois,x@contoso.com,fr\n')]))], 'CSV_INVALID', /not valid UTF-8/],
        ['a CSV with a duplicate row', ['users', 'import', csv('dup.csv', `${header}\nx@contoso.com,X,x@contoso.com,en\ny@contoso.com,Y,y@contoso.com,en\nX@Contoso.com,X2,x@contoso.com,en\n`)], 'CSV_INVALID', /nothing was imported[\s\S]*line 4: duplicate row: sip:x@contoso.com is already on line 2/],
        ['a CSV with a user already in the directory', ['users', 'import', csv('exists.csv', `${header}\nz@contoso.com,Z,z@contoso.com,en\nken1@contoso.com,Ken,ken1@contoso.com,en\n`)], 'CSV_INVALID', /line 3: sip:ken1@contoso.com already exists/],
        ['an unknown tenant', ['--tenant', 'litware', 'Get-CsOnlineDialInConferencingBridge'], 'TENANT_NOT_FOUND', /No tenant is named or has the id "litware"/],
        // issue 10: text that does not show as what it is, refused before anything runs
        ['a NUL from a PowerShell escape', ['New-CsOnlineDialInConferencingBridge -Name "Other Bridge" -Region "R`0"'], 'TEXT_INVALID', /Region has a NUL character \(U\+0000\) at character 2/],
        ['a C1 control (8-bit CSI) in a name', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve\u009b31m'], 'TEXT_INVALID', /name has a C1 control character \(U\+009B\) at character 4/],
        ['an escape sequence in a name', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve\u001b[31m'], 'TEXT_INVALID', /name has a control character \(U\+001B\)/],
        ['a bidi override in a cmdlet value', ['Set-CsOnlineDialInConferencingTenantSettings', '-SendEmailFromDisplayName', 'IT \u202Ekseh'], 'TEXT_INVALID', /SendEmailFromDisplayName has a bidirectional control character \(U\+202E\) at character 4/],
        ['a bidi isolate in a bridge name', ['New-CsOnlineDialInConferencingBridge', '-Name', 'Bridge \u2067x\u2069'], 'TEXT_INVALID', /Name has a bidirectional control character \(U\+2067\)/],
        ['a zero-width space in an identity', ['Get-CsClientPinInfo', '-Identity', 'ken0\u200B@contoso.com'], 'TEXT_INVALID', /Identity has a zero-width character \(U\+200B\) at character 5/],
        ['a BOM inside a value', ['users', 'add', '--uri', 'eve@contoso.com', '--name', 'Eve\uFEFF'], 'TEXT_INVALID', /name has a zero-width character \(U\+FEFF\)/],
        ['a soft hyphen in a tenant name', ['tenant', 'add', 'con\u00ADtoso'], 'TEXT_INVALID', /argument 3 has an invisible formatting character \(U\+00AD\)/],
        ['a script with a bidi override', ['run', script('bidi.ps1', 'New-CsOnlineDialInConferencingBridge -Name "Bridge \u202Eevil"\n')], 'TEXT_INVALID', /bidi\.ps1, line 1: Name has a bidirectional control character \(U\+202E\)[\s\S]*-Name "Bridge \\u\{202e\}evil"/],
        ['a script with a raw NUL', ['run', script('nul.ps1', 'New-CsOnlineDialInConferencingBridge -Name "Bridge\u0000"\n')], 'TEXT_INVALID', /nul\.ps1, line 1: Name has a NUL character/],
        ['a script not in UTF-8 (a lone surrogate as CESU-8)', ['run', script('cesu.ps1', Buffer.concat([Buffer.from('New-CsOnlineDialInConferencingBridge -Name "B'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"\n')]))], 'TEXT_INVALID', /The script .*cesu\.ps1 is not valid UTF-8/],
        ['a template file with a bidi override', ['template', 'set', 'welcome', 'en', 'text', '--file', script('bidi.liquid', 'Hello\n\u202EKen\n')], 'TEXT_INVALID', /file has a bidirectional control character \(U\+202E\) at character 7/],
        ['a template file not in UTF-8', ['template', 'set', 'welcome', 'en', 'text', '--file', script('latin1.liquid', Buffer.from('Bonjour Ren\xe9\n', 'latin1'))], 'TEXT_INVALID', /latin1\.liquid is not valid UTF-8/],
        ['a CSV with a bidi override in a name', ['users', 'import', csv('bidi.csv', `${header}\nx@contoso.com,Ken \u202Ereym,x@contoso.com,en\n`)], 'TEXT_INVALID', /line 2: DisplayName has a bidirectional control character \(U\+202E\) at character 5/],
        ['a CSV with a NUL', ['users', 'import', csv('nul.csv', `${header}\nx@contoso.com,X,x@contoso.com,en\ny@contoso.com,Y\u0000,y@contoso.com,en\n`)], 'TEXT_INVALID', /line 3: DisplayName has a NUL character/],
        ['a CSV with a C1 control in an address', ['users', 'import', csv('c1.csv', `${header}\nx@contoso.com,X,x\u0085@contoso.com,en\n`)], 'TEXT_INVALID', /line 2: EmailAddress has a C1 control character \(U\+0085\)/],
        ['a CSV with a zero-width space in a URI', ['users', 'import', csv('zw.csv', `${header}\nx\u200B@contoso.com,X,x@contoso.com,en\n`)], 'TEXT_INVALID', /line 2: UserUri has a zero-width character/],
        ['a CSV with an invisible character in the header', ['users', 'import', csv('head.csv', `UserUri,Display\u200DName,EmailAddress,Language\nx@contoso.com,X,x@contoso.com,en\n`)], 'TEXT_INVALID', /line 1: the header's column 2 has a zero-width character/],
        ['a bad boolean (bash ate $false)', ['Enable-CsOnlineDialInConferencingUser', '-Identity', 'bob0@contoso.com', '-AllowPstnOnlyMeetings', ''], 'INVALID_ARGUMENT', /takes \$true or \$false, not ""\. \(In bash, quote it: '\$false'\.\)/],
      ];
    };

    it('refuses each bad input with its stable code and a non-zero exit, changing nothing', async () => {
      // The commands run a few at a time (each is a process); none may change the database, so
      // one dump before and after proves it for all of them.
      const before = await dumpDb(t.ctx.db);
      const todo = cases();
      const worker = async () => {
        for (let c = todo.shift(); c; c = todo.shift()) {
          const [what, args, code, message] = c;
          const r = await expectRefused(t, args, code, message, { checkDb: false });
          assert.equal(r.code, 1, what);
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('a second Enable is a no-op, not an error', async () => {
      const before = await dumpDb(t.ctx.db);
      const r = await expectOk(t, ['Enable-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com']);
      assert.match(r.stderr, /sip:ken0@contoso.com: already enabled for dial-in conferencing; nothing changed\./);
      assert.match(r.stdout, /LeaderPin\s+: \*\*\*\*\*/);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('PIN reuse: the administrator path is not bound by the PIN history (Lync), so the CLI accepts it', async () => {
      await setPinPolicy(t.scope, null, { PINHistoryCount: 5 });
      await expectOk(t, ['Set-CsClientPin', '-Identity', 'ken1@contoso.com', '-Pin', '80246']);
      await expectOk(t, ['Set-CsClientPin', '-Identity', 'ken1@contoso.com', '-Pin', '90357']);
      const r = await runCli(['Set-CsClientPin', '-Identity', 'ken1@contoso.com', '-Pin', '80246'], t.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await userRow(t.scope, 'sip:ken1@contoso.com')).pin_hash, t.ctx.keys.hashPin((await userRow(t.scope, 'sip:ken1@contoso.com')).id, '80246'));
    });
  });
}
