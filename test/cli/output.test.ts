import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk, expectRefused } from '../support/cli-expect.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { DEFAULT_TENANT_SETTINGS } from '../../src/core/tenant-settings.ts';

const USER_KEYS = ['Identity', 'DisplayName', 'SipAddress', 'Tenant', 'Provider', 'BridgeId', 'BridgeName', 'ConferenceId', 'ServiceNumber', 'TollFreeServiceNumber', 'AllowPstnOnlyMeetings', 'AllowTollFreeDialIn', 'LeaderPin', 'IsPinSet'];

for (const dialect of DIALECTS) {
  describe(`CLI output, groups, -Confirm and help (${dialect})`, () => {
    let t: TestEnv;
    let pin: string;
    let cid: string;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234');
      await addUsers(t.scope, 'ken', 6);
    });
    after(() => t.cleanup());

    it('Enable of one user prints the PIN once, in "Name : Value" form; names are case-insensitive', async () => {
      const r = await expectOk(t, ['enable-csonlinedialinconferencinguser', '-IDENTITY', 'ken0@contoso.com']);
      const fields = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/\s+: ?/, 2) as [string, string]));
      assert.deepEqual(Object.keys(fields), USER_KEYS);
      assert.match(fields.LeaderPin!, /^[0-9]{5}$/);
      pin = fields.LeaderPin!;
      cid = fields.ConferenceId!;
      assert.equal(fields.ServiceNumber, '+1 425-555-1234');
      assert.equal(fields.IsPinSet, 'True');
      assert.equal((await verifyLeaderPin(t.scope, cid, pin)).IsLeader, true);
    });

    it('--json prints the PowerShell property names, the PIN masked', async () => {
      const one = JSON.parse((await expectOk(t, ['Get-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com', '--json'])).stdout);
      assert.deepEqual(Object.keys(one), [...USER_KEYS, 'LastMailStatus']);
      assert.equal(one.LastMailStatus, 'queued', "the welcome mail, no worker running");
      assert.equal(one.LeaderPin, '*****');
      assert.equal(one.ConferenceId, cid);
      assert.equal(one.IsPinSet, true);
      const settings = JSON.parse((await expectOk(t, ['--json', 'Get-CsOnlineDialInConferencingTenantSettings'])).stdout);
      assert.deepEqual(settings, { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS });
      const info = JSON.parse((await expectOk(t, ['Get-CsClientPinInfo', 'ken0@contoso.com', '--json'])).stdout);
      assert.deepEqual(Object.keys(info), ['Identity', 'IsPinSet', 'IsLockedOut', 'LastPinChangeTime', 'PinExpirationTime']);
      const all = JSON.parse((await expectOk(t, ['Get-CsOnlineDialInConferencingUser', '--json'])).stdout);
      assert.ok(Array.isArray(all) && all.length === 1);
      assert.ok(!JSON.stringify([one, all]).includes(pin));
    });

    it('understands | fl, | ft, | Select-Object A,B and -ExpandProperty', async () => {
      const fl = await expectOk(t, ['Get-CsOnlineDialInConferencingBridge', '|', 'fl']);
      assert.match(fl.stdout, /^Name\s+: Conference Bridge$/m);
      assert.match(fl.stdout, /^DefaultServiceNumber\s+: \+1 425-555-1234$/m);
      const sel = await expectOk(t, ['Get-CsOnlineDialInConferencingUser -Identity ken0@contoso.com | Select-Object ConferenceId, serviceNumber']);
      assert.equal(sel.stdout.trim(), `ConferenceId  : ${cid}\nServiceNumber : +1 425-555-1234`);
      const exp = await expectOk(t, ['Get-CsOnlineDialInConferencingUser', '-Identity', 'ken0@contoso.com', '|', 'Select-Object', '-ExpandProperty', 'ConferenceId']);
      assert.equal(exp.stdout.trim(), cid);
      const ft = await expectOk(t, ['Get-CsOnlineDialInConferencingServiceNumber | ft Number,Type']);
      assert.deepEqual(ft.stdout.trim().split('\n'), ['Number          Type', '--------------- ----', '+1 425-555-1234 Toll']);
    });

    it('a cmdlet line with more PowerShell goes to the script reader; what it does not read is refused with its column', async () => {
      const r = await expectOk(t, ['Get-CsClientPinInfo -Identity ken0@contoso.com | Where-Object {$_.Identity -like "*KEN0*"} | Select-Object -ExpandProperty Identity']);
      assert.equal(r.stdout.trim(), 'sip:ken0@contoso.com');
      await expectRefused(t, ['Get-CsPinPolicy | ForEach-Object { $_.Identity -replace "a","b" }'], 'UNSUPPORTED_SYNTAX', /line 1, column 48: the -replace operator is not supported/);
    });

    it('-Identity a,b acts on a group and prints a summary', async () => {
      const r = await expectOk(t, ['Enable-CsOnlineDialInConferencingUser', '-Identity', 'ken1@contoso.com,ken2@contoso.com']);
      assert.match(r.stderr, /Enable-CsOnlineDialInConferencingUser: 2 user\(s\): 2 enabled, 0 unchanged, 0 skipped\./);
      assert.doesNotMatch(r.stdout, /LeaderPin/, 'PINs of a group go by mail only');
      for (const u of ['ken1', 'ken2']) assert.equal((await userRow(t.scope, `sip:${u}@contoso.com`)).dialin_enabled, 1);
    });

    it('-Identity @FILE (one a line, or a CSV) acts on a group, reporting what it skipped', async () => {
      const txt = path.join(t.dataDir, 'ids.txt');
      fs.writeFileSync(txt, '# new hires\nken3@contoso.com\n\nnobody@contoso.com\nken0@contoso.com\n');
      const r = await runCli(['Enable-CsOnlineDialInConferencingUser', '-Identity', `@${txt}`, '--json'], t.env);
      assert.equal(r.code, 2, `a group run that skipped a user exits 2: ${r.stderr}`);
      const summary = JSON.parse(r.stdout);
      assert.deepEqual({ ...summary, Results: undefined }, { Total: 3, Done: 1, Unchanged: 1, Skipped: 1, Results: undefined });
      assert.deepEqual(summary.Results.map((x: { Identity: string; Outcome: string; Code: string | null }) => [x.Identity, x.Outcome, x.Code]), [
        ['nobody@contoso.com', 'skipped', 'USER_NOT_FOUND'],
        ['ken0@contoso.com', 'unchanged', null],
      ]);
      assert.match(r.stderr, /3 user\(s\): 1 enabled, 1 unchanged, 1 skipped\.\n {2}skipped: nobody@contoso.com \(USER_NOT_FOUND\)/);
      const csv = path.join(t.dataDir, 'ids.csv');
      fs.writeFileSync(csv, 'DisplayName,UserUri,Language\nKen 4,sip:ken4@contoso.com,en\n"Ken, 5",ken5@contoso.com,fr\n');
      const report = path.join(t.dataDir, 'report.csv');
      const pins = await expectOk(t, ['Set-CsClientPin', '-Identity', `@${csv}`, '--report', report]);
      const rows = pins.stdout.trim().split('\n').slice(2).map((l) => l.split(/\s+/));
      assert.deepEqual(rows.map((x) => x[0]), ['sip:ken4@contoso.com', 'sip:ken5@contoso.com']);
      const ken4 = await userRow(t.scope, 'sip:ken4@contoso.com');
      assert.equal(ken4.pin_hash, t.ctx.keys.hashPin(ken4.id, rows[0]![1]!), 'the printed PIN is the one set');
      const lines = fs.readFileSync(report, 'utf8').trim().split('\n');
      assert.deepEqual(lines, ['Identity,User,Outcome,Code,Reason', 'sip:ken4@contoso.com,sip:ken4@contoso.com,done,,', 'ken5@contoso.com,sip:ken5@contoso.com,done,,']);
    });

    it('-Confirm asks on stdin: n changes nothing, y goes ahead', async () => {
      const before = await dumpDb(t.ctx.db);
      const no = await runCli(['Disable-CsOnlineDialInConferencingUser', '-Identity', 'ken1@contoso.com', '-Confirm'], t.env, { input: 'n\n' });
      assert.equal(no.code, 1);
      assert.match(no.stderr, /Are you sure you want to perform this action\?\nPerforming the operation "Disable dial-in conferencing" on target "ken1@contoso.com"\./);
      assert.match(no.stderr, /dialin: CONFIRMATION_DECLINED: .*nothing changed/);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const eof = await runCli(['Disable-CsOnlineDialInConferencingUser', '-Identity', 'ken1@contoso.com', '-Confirm'], t.env, { input: '' });
      assert.match(eof.stderr, /CONFIRMATION_DECLINED/, 'no answer is no');
      const yes = await expectOk(t, ['Disable-CsOnlineDialInConferencingUser', '-Identity', 'ken1@contoso.com', '-Confirm'], { input: 'y\n' });
      assert.match(yes.stdout, /Provider\s+: None/);
      assert.equal((await userRow(t.scope, 'sip:ken1@contoso.com')).dialin_enabled, 0);
    });

    it('dialin help lists the cmdlets; dialin help CMDLET shows syntax, parameters and examples', async () => {
      const list = await expectOk(t, ['help']);
      for (const name of ['Enable-CsOnlineDialInConferencingUser', 'Set-CsClientPin', 'Get-CsPinPolicy', 'Remove-CsUserAcp']) assert.match(list.stdout, new RegExp(`^ {2}${name} `, 'm'));
      const one = await expectOk(t, ['help', 'set-csclientpin']);
      assert.match(one.stdout, /^NAME\n {2}Set-CsClientPin\n\nSYNOPSIS\n/);
      assert.match(one.stdout, /SYNTAX\n {2}dialin Set-CsClientPin -Identity <Identity\[\]\|@FILE> \[-Pin <String>\]/);
      assert.match(one.stdout, /PARAMETERS\n[\s\S]*-Pin\s+The PIN/);
      assert.match(one.stdout, /EXAMPLES\n {2}dialin Set-CsClientPin -Identity "litwareinc\\kenmyer"/);
      await expectRefused(t, ['help', 'Set-CsClientPn'], 'UNKNOWN_COMMAND', /Did you mean Set-CsClientPin\?/);
    });

    it('tenant add, --tenant and -Tenant work on another tenant; outbox and audit list without secrets', async () => {
      const added = JSON.parse((await expectOk(t, ['--json', 'tenant', 'add', 'fabrikam', '--domain', 'fabrikam.com'])).stdout);
      assert.deepEqual([added.Name, added.Domain], ['fabrikam', 'fabrikam.com']);
      await expectOk(t, ['--tenant', 'fabrikam', 'New-CsOnlineDialInConferencingBridge', '-Name', 'Fabrikam Bridge']);
      const bridges = JSON.parse((await expectOk(t, ['Get-CsOnlineDialInConferencingBridge', '-Tenant', added.Identity, '--json'])).stdout);
      assert.deepEqual(bridges.map((b: { Name: string }) => b.Name), ['Fabrikam Bridge']);
      const outbox = await expectOk(t, ['--json', 'outbox', 'list']);
      const rows = JSON.parse(outbox.stdout);
      assert.ok(rows.length >= 4 && rows.some((r: { CarriesPin: boolean }) => r.CarriesPin));
      const audit = await expectOk(t, ['audit', '--limit', '500']);
      assert.match(audit.stdout, /user\.enable/);
      for (const text of [outbox.stdout, audit.stdout]) {
        assert.ok(!text.includes(pin));
        assert.ok(!/pin_enc|pin_hash/.test(text));
      }
    });
  });
}
