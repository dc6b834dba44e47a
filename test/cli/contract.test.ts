import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk } from '../support/cli-expect.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { addUser } from '../../src/app/users.ts';
import { spawn } from 'node:child_process';
import { BIN, runCli } from '../support/cli.ts';

/** Issue 10, defects 4, 8 and 9 (-Pin -): what scripts and spreadsheets read from the CLI. */
for (const dialect of DIALECTS) {
  describe(`The CLI's contract with scripts (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234');
      await enable(t.scope, await addUsers(t.scope, 'ann', 3));
    });
    after(() => t.cleanup());

    it('--report neutralises cells a spreadsheet would run as formulas (= + - @)', async () => {
      const list = path.join(t.dataDir, 'formulas.csv');
      fs.writeFileSync(list, 'UserUri\n"=HYPERLINK(""http://evil.example"",""x"")"\n+SUM(1)\n-2+3\n@SUM(1)\nann0@contoso.com\n');
      const report = path.join(t.dataDir, 'formulas-report.csv');
      const run = await runCli(['Lock-CsClientPin', '-Identity', `@${list}`, '--report', report], t.env);
      assert.equal(run.code, 2, run.stderr);
      const rows: string[][] = parse(fs.readFileSync(report, 'utf8'));
      assert.deepEqual(rows[0], ['Identity', 'User', 'Outcome', 'Code', 'Reason']);
      assert.deepEqual(rows.slice(1).map((r) => r[0]), ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'+SUM(1)", "'-2+3", "'@SUM(1)", 'ann0@contoso.com']);
      for (const r of rows) for (const cell of r) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `no cell starts a formula: ${JSON.stringify(r)}`);
    });

    it("a script's Export-Csv neutralises formula cells too", async () => {
      await enable(t.scope, [(await addUser(t.scope, { UserUri: 'formula@contoso.com', DisplayName: '=HYPERLINK("http://evil.example","Pay")' })).sip]);
      const out = path.join(t.dataDir, 'export.csv');
      const script = path.join(t.dataDir, 'export.ps1');
      fs.writeFileSync(script, `Get-CsOnlineDialInConferencingUser | Select-Object Identity, DisplayName | Export-Csv -Path "${out}" -NoTypeInformation\n`);
      await expectOk(t, ['run', script]);
      const rows: string[][] = parse(fs.readFileSync(out, 'utf8'));
      assert.deepEqual(rows[0], ['Identity', 'DisplayName']);
      assert.ok(rows.some((r) => r[1] === `'=HYPERLINK("http://evil.example","Pay")`), `the name is exported as text: ${JSON.stringify(rows)}`);
      for (const r of rows) for (const cell of r) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, JSON.stringify(r));
    });

    it('a group run that skipped users exits 2 and names each skipped user as typed, not as internal JSON', async () => {
      const before = await dumpDb(t.ctx.db);
      const list = path.join(t.dataDir, 'names.txt');
      fs.writeFileSync(list, 'Ann 1\nNobody Here\n');
      const r = await runCli(['Unlock-CsClientPin', '-Identity', `@${list}`, '--json'], t.env);
      assert.equal(r.code, 2, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.deepEqual([summary.Done, summary.Skipped], [1, 1]);
      assert.deepEqual(summary.Results.map((x: { Identity: string; Reason: string }) => [x.Identity, x.Reason]), [['Nobody Here', 'No user matches the identity "Nobody Here".']]);
      assert.match(r.stderr, /^ {2}skipped: Nobody Here \(USER_NOT_FOUND\): No user matches the identity "Nobody Here"\.$/m);
      assert.doesNotMatch(r.stdout + r.stderr, /"by"|displayName/, 'no internal query in what the admin reads');
      assert.notDeepEqual(await dumpDb(t.ctx.db), before, 'Ann 1 was unlocked: the run went on past the skipped user');
      const all = await expectOk(t, ['Unlock-CsClientPin', '-Identity', 'ann1@contoso.com,ann2@contoso.com']);
      assert.equal(all.code, 0, 'nothing skipped: 0');
      const one = await runCli(['Unlock-CsClientPin', '-Identity', 'Nobody Here'], t.env);
      assert.equal(one.code, 1, 'one identity that is not found is an error (1), not a partial run');
      assert.match(one.stderr, /^dialin: USER_NOT_FOUND: No user matches the identity "Nobody Here"\.$/m);
    });

    it('dialin run: a line that skipped users does not stop the script, which exits 2', async () => {
      const script = path.join(t.dataDir, 'partial.ps1');
      fs.writeFileSync(script, 'Unlock-CsClientPin -Identity ann0@contoso.com,ghost@contoso.com\nGet-CsClientPinInfo -Identity ann0@contoso.com\n');
      const r = await runCli(['run', script], t.env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stdout, /IsLockedOut\s+: False/, 'the second line ran');
    });

    it('users import --skip-invalid that skipped a line exits 2; a clean import 0', async () => {
      const header = 'UserUri,DisplayName,EmailAddress,Language';
      const some = path.join(t.dataDir, 'some-bad.csv');
      fs.writeFileSync(some, `${header}\nimp1@contoso.com,Imp 1,imp1@contoso.com,en\nimp2@contoso.com,Imp 2,not-an-address,en\n`);
      const r = await runCli(['users', 'import', some, '--skip-invalid'], t.env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Imported 1 user\(s\) in [\d.]+ s, skipped 1 invalid line\(s\):\n {2}line 3: /);
      const clean = path.join(t.dataDir, 'clean.csv');
      fs.writeFileSync(clean, `${header}\nimp3@contoso.com,Imp 3,imp3@contoso.com,en\n`);
      await expectOk(t, ['users', 'import', clean, '--skip-invalid']);
    });

    it('--json errors are {"error":{"code","message","field"}}, wherever --json is on the line', async () => {
      for (const args of [
        ['--json', 'Get-CsClientPinInfo', '-Identity', 'nobody@contoso.com'],
        ['Get-CsClientPinInfo', '-Identity', 'nobody@contoso.com', '--json'],
      ]) {
        const r = await runCli(args, t.env);
        assert.equal(r.code, 1);
        assert.deepEqual(JSON.parse(r.stderr), { error: { code: 'USER_NOT_FOUND', message: 'No user matches the identity "nobody@contoso.com".', field: 'Identity' } });
      }
      const unknown = await runCli(['--json', 'Get-CsClientPinInfo', '-Identity', 'ann0@contoso.com', '-Colour', 'red'], t.env);
      assert.equal(JSON.parse(unknown.stderr).error.code, 'UNKNOWN_PARAMETER');
      const native = await runCli(['--json', 'users', 'list', '--no-such-option'], t.env);
      assert.equal(native.code, 1);
      assert.deepEqual(Object.keys(JSON.parse(native.stderr).error), ['code', 'message', 'field']);
      assert.equal(JSON.parse(native.stderr).error.code, 'UNKNOWN_PARAMETER');
      const text = await runCli(['Get-CsClientPinInfo', '-Identity', 'nobody@contoso.com'], t.env);
      assert.match(text.stderr, /^dialin: USER_NOT_FOUND: /, 'without --json: the text form');
    });

    it('-Pin - reads the PIN from standard input, so it is not on the command line; help says so', async () => {
      const r = await expectOk(t, ['Set-CsClientPin', '-Identity', 'ann2@contoso.com', '-Pin', '-'], { input: '48213957\n' });
      assert.match(r.stdout, /^Pin\s+: 48213957$/m);
      const u = await userRow(t.scope, 'sip:ann2@contoso.com');
      assert.equal(u.pin_hash, t.ctx.keys.hashPin(u.id, '48213957'));
      const before = await dumpDb(t.ctx.db);
      const none = await runCli(['Set-CsClientPin', '-Identity', 'ann2@contoso.com', '-Pin', '-'], t.env, { input: '' });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^dialin: MISSING_ARGUMENT: -Pin - reads the PIN from standard input/m);
      assert.deepEqual(await dumpDb(t.ctx.db), before, 'no PIN given: nothing changed (no random PIN either)');
      const help = await expectOk(t, ['help', 'Set-CsClientPin']);
      assert.match(help.stdout, /-Pin -` reads it from standard input \(typed without echo on a terminal\)/);
      assert.match(help.stdout, /dialin Set-CsClientPin -Identity "litwareinc\\kenmyer" -Pin -\n/);
    });

    it('-Pin - on a terminal: the PIN typed at the prompt is not echoed', { skip: !fs.existsSync('/usr/bin/script') && 'needs script(1) for a terminal' }, async () => {
      // script(1) gives the command a pseudo-terminal; the PIN is typed only once the prompt shows (echo is off by then).
      const cmd = [process.execPath, BIN, 'Set-CsClientPin', '-Identity', 'ann1@contoso.com', '-Pin', '-'].map((a) => `'${a}'`).join(' ');
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '', HOME: '/tmp', ...t.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let typed = false;
      child.stdout.on('data', (d) => {
        out += d;
        if (!typed && out.includes('PIN: ')) {
          typed = true;
          child.stdin.write('73920461\r');
        }
      });
      const code = await new Promise<number | null>((res) => child.on('close', res));
      assert.equal(code, 0, out);
      assert.match(out, /PIN: \r?\n/, 'nothing shown after the prompt');
      assert.equal(out.split('73920461').length - 1, 1, `the PIN shows once, in the answer, never as typed: ${JSON.stringify(out)}`);
      const u = await userRow(t.scope, 'sip:ann1@contoso.com');
      assert.equal(u.pin_hash, t.ctx.keys.hashPin(u.id, '73920461'));
    });
  });
}
