import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk, expectRefused } from '../support/cli-expect.ts';
import { addUsers, enable } from '../support/fixtures.ts';
import { getBridges, newBridge, setBridge } from '../../src/app/bridges.ts';
import { getServiceNumbers, registerServiceNumber } from '../../src/app/service-numbers.ts';
import { getTenantSettings } from '../../src/app/tenant-settings.ts';
import { BRIDGE_LANGUAGES } from '../../src/core/languages.ts';
import { dumpDb } from '../support/db-dump.ts';

/** Lync Server 2013's dial-in cmdlets through the real CLI, on dialin's bridges, numbers and settings. */
for (const dialect of DIALECTS) {
  describe(`Lync dial-in cmdlets (${dialect})`, () => {
    let t: TestEnv;
    const json = async (args: string[]) => JSON.parse((await expectOk(t, ['--json', ...args])).stdout);
    before(async () => {
      t = await testEnv(dialect);
      await newBridge(t.scope, { name: 'Conference Bridge', region: 'Redmond' });
      await newBridge(t.scope, { name: 'Paris Bridge', region: 'Europe' });
      await registerServiceNumber(t.scope, { number: '+14255550100', bridge: { name: 'Conference Bridge' }, city: 'Seattle' });
    });
    after(() => t.cleanup());

    it('New- adds a service number with its sip: identity, display number, city and languages; Get- shows it both ways', async () => {
      const n = await json(['New-CsDialInConferencingAccessNumber', '-PrimaryUri', 'sip:RedmondDialIn@litwareinc.com', '-DisplayNumber', '1-425-555-1234', '-LineUri', 'tel:+14255551234', '-Pool', 'Conference Bridge', '-PrimaryLanguage', 'en-us', '-SecondaryLanguages', 'fr-FR,de-DE', '-DisplayName', 'Redmond']);
      assert.deepEqual(n, { Identity: 'sip:redmonddialin@litwareinc.com', PrimaryUri: 'sip:redmonddialin@litwareinc.com', DisplayName: 'Redmond', DisplayNumber: '1-425-555-1234', LineUri: 'tel:+14255551234', PrimaryLanguage: 'en-US', SecondaryLanguages: ['fr-FR', 'de-DE'], Pool: 'Conference Bridge', Regions: ['Redmond'], Priority: 1 });
      // The same row the online cmdlets see.
      const [online] = await getServiceNumbers(t.scope, { number: '+14255551234' });
      assert.deepEqual([online!.City, online!.BridgeName, online!.Type, online!.SecondaryLanguages], ['Redmond', 'Conference Bridge', 'Toll', ['fr-FR', 'de-DE']]);
      // -Regions picks the bridge whose Region it is; a toll-free LineUri is a toll-free number.
      const paris = await json(['New-CsDialInConferencingAccessNumber', 'sip:parisdialin@litwareinc.com', '-DisplayNumber', '+33 1 70 00 01 00', '-LineUri', 'tel:+33170000100', '-Regions', 'europe', '-PrimaryLanguage', 'fr-FR']);
      assert.deepEqual([paris.Pool, paris.Priority], ['Paris Bridge', 0]);
      await expectOk(t, ['New-CsDialInConferencingAccessNumber', 'sip:free@litwareinc.com', '-DisplayNumber', '1-800-555-1234', '-LineUri', 'tel:+18005551234']);
      assert.equal((await getServiceNumbers(t.scope, { number: '+18005551234' }))[0]!.Type, 'TollFree');

      const all = await json(['Get-CsDialInConferencingAccessNumber']);
      assert.deepEqual(all.map((x: { Identity: string }) => x.Identity), ['tel:+14255550100', 'sip:redmonddialin@litwareinc.com', 'sip:free@litwareinc.com', 'sip:parisdialin@litwareinc.com']);
      assert.equal((await json(['Get-CsDialInConferencingAccessNumber', '-Identity', 'sip:parisdialin@litwareinc.com'])).LineUri, 'tel:+33170000100');
      assert.equal((await json(['Get-CsDialInConferencingAccessNumber', 'tel:+14255550100'])).DisplayName, 'Seattle', 'an online number by its LineUri');
      assert.deepEqual((await json(['Get-CsDialInConferencingAccessNumber', '-Region', 'Europe'])).map((x: { Pool: string }) => x.Pool), ['Paris Bridge']);
      const text = (await expectOk(t, ['Get-CsDialInConferencingAccessNumber', 'sip:parisdialin@litwareinc.com'])).stdout;
      assert.match(text, /^PrimaryUri\s+: sip:parisdialin@litwareinc\.com$/m);
    });

    it('refuses bad input with a stable code naming the field, changing nothing', async () => {
      await expectRefused(t, ['New-CsDialInConferencingAccessNumber', '-PrimaryUri', 'SIP:Up@litwareinc.com', '-DisplayNumber', '1', '-LineUri', 'tel:+14255551299'], 'ACCESS_NUMBER_URI_INVALID', /PrimaryUri "SIP:Up@litwareinc\.com" must be a SIP address starting with a lowercase sip:/);
      await expectRefused(t, ['New-CsDialInConferencingAccessNumber', 'sip:x@litwareinc.com', '-DisplayNumber', '1', '-LineUri', 'tel:+14255551299', '-ScopeToSite'], 'PARAMETER_NOT_SUPPORTED', /ScopeToSite a site scope has no meaning in dialin/);
      // The rest in one process: each line's error code and message, and the database as it was.
      const N = "New-CsDialInConferencingAccessNumber -DisplayNumber 1 -LineUri tel:+14255551299";
      const lines: [string, string, RegExp][] = [
        [`${N} -PrimaryUri nope`, 'ACCESS_NUMBER_URI_INVALID', /PrimaryUri "nope"/],
        ["New-CsDialInConferencingAccessNumber sip:x@litwareinc.com -DisplayNumber 1 -LineUri '+14255551299'", 'ACCESS_NUMBER_URI_INVALID', /LineUri "\+14255551299" must be tel:/],
        ['New-CsDialInConferencingAccessNumber sip:x@litwareinc.com -DisplayNumber 1 -LineUri tel:+1425', 'NUMBER_INVALID', /LineUri/],
        ['New-CsDialInConferencingAccessNumber sip:x@litwareinc.com -DisplayNumber 1 -LineUri tel:+14255551234', 'ACCESS_NUMBER_EXISTS', /LineUri tel:\+14255551234 is already an access number \(sip:redmonddialin@litwareinc\.com\)/],
        [`${N} -PrimaryUri sip:redmonddialin@litwareinc.com`, 'ACCESS_NUMBER_EXISTS', /PrimaryUri sip:redmonddialin@litwareinc\.com is already/],
        [`${N} -PrimaryUri sip:x@litwareinc.com -Pool atl-cs-001.litwareinc.com`, 'BRIDGE_NOT_FOUND', /atl-cs-001/],
        [`${N} -PrimaryUri sip:x@litwareinc.com -Pool 'Paris Bridge' -Regions Redmond`, 'INVALID_ARGUMENT', /Regions "Redmond" is not the Region of bridge "Paris Bridge"/],
        [`${N} -PrimaryUri sip:x@litwareinc.com -SecondaryLanguages en-US, fr-FR, de-DE, ja-JP, it-IT`, 'INVALID_ARGUMENT', /SecondaryLanguages can list at most 4/],
        [`${N} -PrimaryUri sip:x@litwareinc.com -PrimaryLanguage xx-XX`, 'LANGUAGE_INVALID', /PrimaryLanguage "xx-XX"/],
        ['New-CsDialInConferencingAccessNumber sip:x@litwareinc.com -LineUri tel:+14255551299', 'MISSING_ARGUMENT', /DisplayNumber/],
        ['Get-CsDialInConferencingAccessNumber sip:none@litwareinc.com', 'ACCESS_NUMBER_NOT_FOUND', /sip:none@litwareinc\.com/],
        ['Set-CsDialInConferencingAccessNumber sip:redmonddialin@litwareinc.com -Priority -1', 'INVALID_ARGUMENT', /Priority/],
        ['Set-CsDialInConferencingAccessNumber sip:redmonddialin@litwareinc.com -Priority 0 -ReorderedRegion Europe', 'INVALID_ARGUMENT', /ReorderedRegion "Europe"/],
        ['Set-CsDialInConferencingAccessNumber sip:redmonddialin@litwareinc.com', 'MISSING_ARGUMENT', /at least one property/],
        ['Set-CsDialInConferencingConfiguration -PinAuthType Everyone', 'CONFIGURATION_VALUE_UNSUPPORTED', /PinAuthType Everyone is not supported/],
        ['Set-CsDialInConferencingConfiguration -PinAuthType Some', 'SETTING_INVALID', /PinAuthType/],
        ['Set-CsDialInConferencingConfiguration -Identity site:Redmond -EnableNameRecording $true', 'CONFIGURATION_VALUE_UNSUPPORTED', /site:Redmond.*no sites/],
        ['Get-CsDialInConferencingConfiguration nope', 'INVALID_ARGUMENT', /Identity must be Global/],
        ['Set-CsDialInConferencingConfiguration -EntryExitAnnouncementsType Beep', 'SETTING_INVALID', /EntryExitAnnouncementsType must be UseNames or ToneOnly/],
        ['Set-CsDialInConferencingConfiguration', 'MISSING_ARGUMENT', /at least one setting/],
      ];
      const before = await dumpDb(t.ctx.db);
      const script = lines.map(([l]) => `try { ${l} } catch { Write-Output "@@$($_.FullyQualifiedErrorId)|$($_.Exception.Message)" }`).join('\n');
      const out = (await expectOk(t, ['-Command', script])).stdout.split('@@').slice(1);
      assert.equal(out.length, lines.length, out.join('\n'));
      for (const [i, [l, code, re]] of lines.entries()) {
        assert.equal(out[i]!.split('|')[0], code, `${l}\n${out[i]}`);
        assert.match(out[i]!, re, l);
      }
      assert.deepEqual(await dumpDb(t.ctx.db), before, 'nothing changed');
    });

    it('Set- changes display, number, languages and order; a default number keeps its LineUri and bridge; Remove- removes', async () => {
      const id = 'sip:redmonddialin@litwareinc.com';
      const s = await json(['Set-CsDialInConferencingAccessNumber', '-Identity', id, '-DisplayNumber', '1-425-555-0000', '-LineUri', 'tel:+14255550000', '-PrimaryLanguage', 'de-DE', '-SecondaryLanguages', 'en-US,ja-JP', '-DisplayName', 'Bellevue']);
      assert.deepEqual([s.DisplayNumber, s.LineUri, s.PrimaryLanguage, s.SecondaryLanguages, s.DisplayName], ['1-425-555-0000', 'tel:+14255550000', 'de-DE', ['en-US', 'ja-JP'], 'Bellevue']);
      assert.equal((await getServiceNumbers(t.scope, { number: '+14255550000' }))[0]!.City, 'Bellevue');
      const ordered = async () => (await json(['Get-CsDialInConferencingAccessNumber', '-Region', 'Redmond'])).map((x: { Identity: string; Priority: number }) => `${x.Priority}:${x.Identity}`);
      assert.deepEqual(await ordered(), ['0:tel:+14255550100', '1:sip:redmonddialin@litwareinc.com', '2:sip:free@litwareinc.com']);
      await expectOk(t, ['Set-CsDialInConferencingAccessNumber', id, '-Priority', '0', '-ReorderedRegion', 'Redmond']);
      assert.deepEqual(await ordered(), ['0:sip:redmonddialin@litwareinc.com', '1:tel:+14255550100', '2:sip:free@litwareinc.com']);
      await expectOk(t, ['Set-CsDialInConferencingAccessNumber', 'sip:free@litwareinc.com', '-Priority', '9']);
      assert.deepEqual((await ordered()).at(-1), '2:sip:free@litwareinc.com', 'past the end is last');

      // A bridge default and a user default: its LineUri and bridge stay, Remove is refused.
      await setBridge(t.scope, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255550000' });
      await expectRefused(t, ['Set-CsDialInConferencingAccessNumber', id, '-LineUri', 'tel:+14255559999'], 'NUMBER_IS_BRIDGE_DEFAULT', /default number of bridge "Conference Bridge"/);
      await expectRefused(t, ['Set-CsDialInConferencingAccessNumber', id, '-Pool', 'Paris Bridge'], 'NUMBER_IS_BRIDGE_DEFAULT', /Pool/);
      await expectRefused(t, ['Remove-CsDialInConferencingAccessNumber', id], 'NUMBER_IS_BRIDGE_DEFAULT', /default number/);
      await addUsers(t.scope, 'ken', 1);
      await enable(t.scope, ['ken0@contoso.com']);
      await setBridge(t.scope, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255550100' });
      await expectRefused(t, ['Remove-CsDialInConferencingAccessNumber', id], 'NUMBER_IN_USE', /1 user\(s\) have \+14255550000/);

      const moved = await json(['Set-CsDialInConferencingAccessNumber', 'sip:free@litwareinc.com', '-Pool', 'Paris Bridge']);
      assert.deepEqual([moved.Pool, moved.Regions, moved.Priority], ['Paris Bridge', ['Europe'], 1]);
      const r = await expectOk(t, ['Remove-CsDialInConferencingAccessNumber', 'sip:free@litwareinc.com']);
      assert.match(r.stderr + r.stdout, /sip:free@litwareinc\.com \(tel:\+18005551234\) was removed/);
      assert.deepEqual((await getBridges(t.scope, { name: 'Paris Bridge' }))[0]!.ServiceNumbers.map((n) => n.Number), ['+33170000100']);
    });

    it('the configuration maps onto the tenant settings; values dialin does not have are refused', async () => {
      const c = await json(['Get-CsDialInConferencingConfiguration']);
      assert.deepEqual(c, { Identity: 'Global', EnableNameRecording: true, EntryExitAnnouncementsEnabledByDefault: true, EntryExitAnnouncementsType: 'UseNames', AllowAnonymousPstnActivation: false, PinAuthType: 'OrganizerOnly' });
      const s = await json(['Set-CsDialInConferencingConfiguration', '-Identity', 'global', '-EnableNameRecording', '$False', '-EntryExitAnnouncementsEnabledByDefault', '$false', '-EntryExitAnnouncementsType', 'toneonly', '-AllowAnonymousPstnActivation', '$true', '-PinAuthType', 'OrganizerOnly']);
      assert.deepEqual([s.EnableNameRecording, s.EntryExitAnnouncementsEnabledByDefault, s.EntryExitAnnouncementsType, s.AllowAnonymousPstnActivation], [false, false, 'ToneOnly', true]);
      const settings = await getTenantSettings(t.scope);
      assert.deepEqual([settings.EnableNameRecording, settings.EnableEntryExitNotifications, settings.EntryExitAnnouncementsType, settings.AllowPSTNOnlyMeetingsByDefault], [false, false, 'ToneOnly', true]);
    });

    it('works in scripts: -Instance from Get-, pipelines, the language list', async () => {
      await expectOk(t, ['-Command', '$c = Get-CsDialInConferencingConfiguration; $c.EnableNameRecording = $true; Set-CsDialInConferencingConfiguration -Instance $c']);
      assert.equal((await getTenantSettings(t.scope)).EnableNameRecording, true);
      const r = await expectOk(t, ['-Command', 'Get-CsDialInConferencingAccessNumber -Region Europe | Set-CsDialInConferencingAccessNumber -DisplayName Paris; Get-CsDialInConferencingAccessNumber | Select-Object -ExpandProperty DisplayName']);
      assert.match(r.stdout, /^Paris$/m);
      const langs = await expectOk(t, ['-Command', 'Get-CsDialInConferencingLanguageList | Select-Object -ExpandProperty Languages']);
      assert.deepEqual(langs.stdout.trim().split('\n'), [...BRIDGE_LANGUAGES]);
    });
  });
}
