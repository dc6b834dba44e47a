import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bind } from './bind.ts';
import { tokenize } from './ps-tokenize.ts';
import { findCmdlet, CMDLETS } from './cmdlets/index.ts';
import type { Identities } from './cmdlet.ts';
import { AppError } from '../../core/errors.ts';

/** Binds a line `Cmdlet -A b …` against the real cmdlet table. */
async function bindLine(line: string) {
  const [head, ...rest] = tokenize(line);
  const def = findCmdlet((head as { v: string }).v);
  assert.ok(def, `no cmdlet in ${line}`);
  return bind(def, rest);
}

async function refused(line: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(bindLine(line), (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

async function all(ids: Identities): Promise<string[]> {
  const out: string[] = [];
  for await (const v of ids.values) out.push(v);
  return out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bind-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('cmdlet names', () => {
  it('are found in any case, and the singular TenantSetting alias too', () => {
    assert.equal(findCmdlet('get-csonlinedialinconferencingtenantsettings')?.name, 'Get-CsOnlineDialInConferencingTenantSettings');
    assert.equal(findCmdlet('Register-CsOnlineDialinConferencingServiceNumber')?.name, 'Register-CsOnlineDialInConferencingServiceNumber');
    assert.equal(findCmdlet('Set-CsOnlineDialInConferencingTenantSetting')?.name, 'Set-CsOnlineDialInConferencingTenantSettings');
    assert.equal(findCmdlet('Get-CsNothing'), undefined);
  });
  it('every cmdlet has a synopsis, an example and unique parameter names', () => {
    for (const c of CMDLETS) {
      assert.ok(c.synopsis && c.examples.length > 0, c.name);
      const names = c.params.flatMap((p) => [p.name, ...(p.aliases ?? [])].map((n) => n.toLowerCase()));
      assert.equal(new Set(names).size, names.length, c.name);
    }
  });
});

describe('bind: parameter names', () => {
  it('matches names case-insensitively and by unambiguous prefix', async () => {
    const b = await bindLine('Set-CsOnlineDialInConferencingUser -IDENT bob@contoso.com -resetl -BridgeN "Conference Bridge"');
    assert.equal((b.params.Identity as Identities).label, 'bob@contoso.com');
    assert.equal(b.params.ResetLeaderPin, true);
    assert.equal(b.params.BridgeName, 'Conference Bridge');
  });
  it('refuses an ambiguous prefix, listing the candidates', async () => {
    await refused('Set-CsOnlineDialInConferencingUser -Identity bob@contoso.com -Send', 'INVALID_ARGUMENT', /-Send is ambiguous: -SendEmail, -SendEmailToAddress/);
  });
  it('refuses an unknown parameter, suggesting the closest', async () => {
    await refused('Set-CsOnlineDialInConferencingUser -Identiti bob@contoso.com', 'UNKNOWN_PARAMETER', /has no parameter -Identiti\. Did you mean -Identity\?/);
    await refused('Set-CsClientPin -Identity bob@contoso.com -Pim 13579', 'UNKNOWN_PARAMETER', /Did you mean -Pin\?/);
  });
  it('refuses an unknown parameter without a wild guess', async () => {
    await assert.rejects(bindLine('Get-CsPinPolicy -Zzzzzzzzzzzz 1'), (e: unknown) => e instanceof AppError && e.code === 'UNKNOWN_PARAMETER' && !/Did you mean/.test(e.message));
  });
  it('accepts an alias (SendEmailOverride)', async () => {
    const b = await bindLine('Set-CsOnlineDialInConferencingTenantSettings -SendEmailOverride $false');
    assert.equal(b.params.SendEmailFromOverride, false);
  });
  it('refuses Microsoft parameters that have no meaning here', async () => {
    await refused('Set-CsOnlineDialInConferencingTenantSettings -UseUniqueConferenceIds $true', 'PARAMETER_NOT_SUPPORTED', /-UseUniqueConferenceIds .*not supported/);
    await refused('Enable-CsOnlineDialInConferencingUser -Identity bob@contoso.com -SendEmailFromAddress a@contoso.com', 'PARAMETER_NOT_SUPPORTED', /deprecated/);
  });
  it('refuses a parameter given twice', async () => {
    await refused('Get-CsPinPolicy -Identity a -Identity b', 'INVALID_ARGUMENT', /given twice/);
  });
  it('refuses a missing mandatory parameter, naming it', async () => {
    await refused('Enable-CsOnlineDialInConferencingUser', 'MISSING_ARGUMENT', /needs -Identity/);
    await refused('Set-CsOnlineDialInConferencingUserDefaultNumber -ToNumber 14255550101', 'MISSING_ARGUMENT', /needs -NumberType/);
  });
  it('refuses a parameter without its value', async () => {
    await refused('Set-CsClientPin -Identity bob@contoso.com -Pin', 'MISSING_ARGUMENT', /-Pin needs a value/);
    await refused('Set-CsOnlineDialInConferencingTenantSettings -EnableNameRecording -PinLength 7', 'MISSING_ARGUMENT', /-EnableNameRecording needs \$true or \$false .*quote it/);
  });
});

describe('bind: values', () => {
  it('reads -Param:value, for switches and valued parameters', async () => {
    const b = await bindLine('Set-CsOnlineDialInConferencingUser -Identity:bob@contoso.com -ResetLeaderPin:$false -AllowPstnOnlyMeetings:$true -BridgeName:"Conference Bridge"');
    assert.equal((b.params.Identity as Identities).label, 'bob@contoso.com');
    assert.equal(b.params.ResetLeaderPin, false);
    assert.equal(b.params.AllowPstnOnlyMeetings, true);
    assert.equal(b.params.BridgeName, 'Conference Bridge');
  });
  it('reads $true/$false/true/false/1/0 for booleans, any case', async () => {
    const b = await bindLine('Set-CsOnlineDialInConferencingTenantSettings -EnableNameRecording $True -EnableEntryExitNotifications FALSE -AllowPSTNOnlyMeetingsByDefault 1 -AutomaticallySendEmailsToUsers $FALSE');
    assert.deepEqual([b.params.EnableNameRecording, b.params.EnableEntryExitNotifications, b.params.AllowPSTNOnlyMeetingsByDefault, b.params.AutomaticallySendEmailsToUsers], [true, false, true, false]);
    await refused('Set-CsOnlineDialInConferencingTenantSettings -EnableNameRecording yes', 'INVALID_ARGUMENT', /takes \$true or \$false, not "yes"/);
  });
  it('reads $null as null, but a quoted "$null" as text', async () => {
    assert.equal((await bindLine('Grant-CsPinPolicy -Identity bob@contoso.com -PolicyName $null')).params.PolicyName, null);
    assert.equal((await bindLine("Grant-CsPinPolicy -Identity bob@contoso.com -PolicyName '$null'")).params.PolicyName, '$null');
  });
  it('reads whole numbers for int parameters', async () => {
    assert.equal((await bindLine('Set-CsOnlineDialInConferencingTenantSettings -PinLength 7')).params.PinLength, 7);
    await refused('Set-CsOnlineDialInConferencingTenantSettings -PinLength seven', 'INVALID_ARGUMENT', /-PinLength takes a whole number/);
    await refused('Set-CsOnlineDialInConferencingTenantSettings -PinLength 7.5', 'INVALID_ARGUMENT', /whole number/);
  });
  it('reads comma lists, and refuses a list where one value is expected', async () => {
    const b = await bindLine('Set-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -PrimaryLanguage de-de -SecondaryLanguages en-us, ja-jp,en-gb');
    assert.deepEqual(b.params.SecondaryLanguages, ['en-us', 'ja-jp', 'en-gb']);
    await refused('Set-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -PrimaryLanguage de-de, en-us', 'INVALID_ARGUMENT', /takes one value, not a list/);
    await refused('Get-CsPinPolicy , x', 'INVALID_ARGUMENT', /comma is out of place/);
  });
  it('keeps a quoted value that looks like a parameter as a value', async () => {
    assert.equal((await bindLine('New-CsOnlineDialInConferencingBridge -Name "-Bridge"')).params.Name, '-Bridge');
  });
  it('binds positional values in order', async () => {
    const b = await bindLine('Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName "Conference Bridge" -RemoveDefaultServiceNumber 1234');
    assert.equal(b.params.Identity, '1234');
    assert.equal(b.params.RemoveDefaultServiceNumber, true);
    const pin = await bindLine('Set-CsClientPin bob@contoso.com 13579');
    assert.equal((pin.params.Identity as Identities).label, 'bob@contoso.com');
    assert.equal(pin.params.Pin, '13579');
    await refused('Get-CsPinPolicy site:a extra', 'INVALID_ARGUMENT', /Unexpected value "extra"/);
  });
});

describe('bind: identities', () => {
  it('one identity is not a group', async () => {
    const ids = (await bindLine('Get-CsClientPinInfo -Identity "Ken Myer"')).params.Identity as Identities;
    assert.equal(ids.group, false);
    assert.deepEqual(await all(ids), ['Ken Myer']);
  });
  it('a comma list is a group', async () => {
    const ids = (await bindLine('Get-CsClientPinInfo -Identity a@contoso.com, "Ken Myer",b@contoso.com')).params.Identity as Identities;
    assert.equal(ids.group, true);
    assert.deepEqual(await all(ids), ['a@contoso.com', 'Ken Myer', 'b@contoso.com']);
  });
  it('@FILE with one identity a line, skipping blanks and # comments', async () => {
    const f = path.join(tmp, 'ids.txt');
    fs.writeFileSync(f, '\uFEFFa@contoso.com\n\n# new hires\r\nlitwareinc\\kenmyer\r\nKen Myer\n');
    const ids = (await bindLine(`Get-CsClientPinInfo -Identity @${f}`)).params.Identity as Identities;
    assert.equal(ids.group, true);
    assert.deepEqual(await all(ids), ['a@contoso.com', 'litwareinc\\kenmyer', 'Ken Myer']);
  });
  it('@FILE as a CSV with a UserUri column', async () => {
    const f = path.join(tmp, 'ids.csv');
    fs.writeFileSync(f, 'DisplayName,"UserUri",Language\nKen,sip:ken@contoso.com,en\nAna,"ana@contoso.com",fr\n"Myer, Ken",ken.myer@contoso.com,en\n');
    assert.deepEqual(await all((await bindLine(`Get-CsClientPinInfo -Identity @${f}`)).params.Identity as Identities), ['sip:ken@contoso.com', 'ana@contoso.com', 'ken.myer@contoso.com']);
  });
  it('@FILE of display names with quotes is not mistaken for a CSV', async () => {
    const f = path.join(tmp, 'names.txt');
    fs.writeFileSync(f, 'Ken "The Boss" Myer\nAna Lima\n');
    assert.deepEqual(await all((await bindLine(`Get-CsClientPinInfo -Identity @${f}`)).params.Identity as Identities), ['Ken "The Boss" Myer', 'Ana Lima']);
  });
  it('@FILE as a CSV without an identity column is refused', async () => {
    const f = path.join(tmp, 'bad.csv');
    fs.writeFileSync(f, 'DisplayName,Language\nKen,en\n');
    const ids = (await bindLine(`Get-CsClientPinInfo -Identity @${f}`)).params.Identity as Identities;
    await assert.rejects(all(ids), (e: unknown) => e instanceof AppError && e.code === 'CSV_INVALID' && /UserUri column/.test(e.message));
  });
  it('a missing @FILE is refused', async () => {
    await refused(`Get-CsClientPinInfo -Identity @${path.join(tmp, 'nope.txt')}`, 'FILE_NOT_FOUND', /cannot read the file/);
  });
});

describe('bind: dialin options', () => {
  it('takes --json, --tenant, --report and --yes anywhere on the line', async () => {
    const b = await bindLine('Get-CsPinPolicy --json -Identity Global --tenant fabrikam --report r.csv --yes');
    const { json, tenant, report, yes } = b.globals;
    assert.deepEqual({ json, tenant, report, yes }, { json: true, tenant: 'fabrikam', report: 'r.csv', yes: true });
    assert.equal(b.params.Identity, 'Global');
  });
  it('refuses unknown options and options without a value', async () => {
    await refused('Get-CsPinPolicy --verbose', 'UNKNOWN_PARAMETER', /Unknown option --verbose/);
    await refused('Get-CsPinPolicy --tenant', 'MISSING_ARGUMENT', /--tenant needs a value/);
  });
});

describe('bind: trailing pipes', () => {
  it('understands | fl, | Format-List, | ft and | Format-Table with properties', async () => {
    assert.deepEqual((await bindLine('Get-CsOnlineDialInConferencingBridge | fl')).stages, [{ kind: 'list', props: [] }]);
    assert.deepEqual((await bindLine('Get-CsOnlineDialInConferencingBridge | Format-List Name,Identity')).stages, [{ kind: 'list', props: ['Name', 'Identity'] }]);
    assert.deepEqual((await bindLine('Get-CsOnlineDialInConferencingBridge | FT *')).stages, [{ kind: 'table', props: [] }]);
    assert.deepEqual((await bindLine('Get-CsOnlineDialInConferencingBridge | format-table -Property Name')).stages, [{ kind: 'table', props: ['Name'] }]);
  });
  it('understands Select-Object A,B, -ExpandProperty and -First', async () => {
    assert.deepEqual((await bindLine('Get-CsPinPolicy | Select-Object Identity, MinPasswordLength')).stages, [{ kind: 'select', props: ['Identity', 'MinPasswordLength'] }]);
    assert.deepEqual((await bindLine('Get-CsUserAcp -Identity "Ken Myer" | Select-Object -ExpandProperty AcpInfo')).stages, [{ kind: 'select', props: [], expand: 'AcpInfo' }]);
    assert.deepEqual((await bindLine('Get-CsPinPolicy | select -First 2 | fl')).stages, [{ kind: 'select', props: [], first: 2 }, { kind: 'list', props: [] }]);
  });
  it('refuses any other PowerShell, with a clear message', async () => {
    await refused('Get-CsClientPinInfo -Identity a@contoso.com | Where-Object {$_.IsLockedOut -eq $True}', 'PIPELINE_NOT_SUPPORTED', /"\| Where-Object" is PowerShell that dialin does not run.*--json/);
    await refused('Get-CsPinPolicy | Set-CsPinPolicy -MinPasswordLength 6', 'PIPELINE_NOT_SUPPORTED', /Set-CsPinPolicy/);
    await refused('Get-CsPinPolicy | Select-Object -Last 1', 'PIPELINE_NOT_SUPPORTED', /Select-Object -Last is not supported/);
    await refused('Get-CsPinPolicy |', 'PIPELINE_NOT_SUPPORTED', /ends with a pipe/);
  });
});
