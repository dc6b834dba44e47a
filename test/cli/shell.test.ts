import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { BIN, ROOT, runCli } from '../support/cli.ts';
import { addUsers, userRow } from '../support/fixtures.ts';
import { getPinPolicies } from '../../src/app/pin-policies.ts';
import { complete } from '../../src/adapters/cli/shell.ts';

/** A session fed line by line: variables carry over, a block spans lines, an error does not end it. */
const SESSION = [
  '$min = 7',
  'New-CsPinPolicy -Identity site:Shell -MinPasswordLength $min',
  'Get-CsPinPol', // a typo: the shell says so and goes on
  'foreach ($u in (Get-CsClientPinInfo -Identity sam0@contoso.com, sam1@contoso.com)) {',
  '  if ($u.IsPinSet -eq $false) {',
  '    Write-Host "no PIN yet: $($u.Identity)"',
  '  }',
  '}',
  'Get-CsClientPinInfo -Identity sam0@contoso.com | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin -Pin 48213957',
  'Write-Output "min was $min"',
  'exit',
  'Write-Output "not reached"',
].join('\n');

for (const dialect of DIALECTS) {
  describe(`dialin shell (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'sam', 2);
    });
    after(() => t.cleanup());

    it('runs entries in one process: variables persist, blocks continue on the next line, errors are reported and the shell goes on', async () => {
      const r = await runCli(['shell'], { ...t.env, DIALIN_SHELL_HISTORY: 'off' }, { input: `${SESSION}\n` });
      assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.equal((await getPinPolicies(t.scope, { identity: 'site:Shell' }))[0]?.MinPasswordLength, 7, '$min from an earlier line');
      assert.match(r.stderr, /UNKNOWN_COMMAND: line 1, column 1: "Get-CsPinPol" .*Did you mean Get-CsPinPolicy\?/);
      const noPin = r.stdout.match(/^no PIN yet: .*$/gm) ?? [];
      assert.deepEqual(noPin.sort(), ['no PIN yet: sip:sam0@contoso.com', 'no PIN yet: sip:sam1@contoso.com']);
      const sam0 = await userRow(t.scope, 'sip:sam0@contoso.com');
      assert.equal(sam0.pin_hash, t.ctx.keys.hashPin(sam0.id, '48213957'), 'the pipeline after the error still ran');
      assert.equal((await userRow(t.scope, 'sip:sam1@contoso.com')).pin_hash, null);
      assert.match(r.stdout, /^min was 7$/m);
      assert.doesNotMatch(r.stdout, /not reached/, 'exit ends the shell');
    });

    it('a script refused by the whole-script check runs nothing, and the next entry runs', async () => {
      const input = 'New-CsPinPolicy -Identity site:Half -MinPasswordLength 6; Set-CsPinPolicy -Identity site:Half -Bogus 1\nWrite-Output after\n';
      const r = await runCli(['shell'], { ...t.env, DIALIN_SHELL_HISTORY: 'off' }, { input });
      assert.match(r.stderr, /UNKNOWN_PARAMETER/);
      await assert.rejects(getPinPolicies(t.scope, { identity: 'site:Half' }), /No PIN policy/, 'nothing of the refused entry ran');
      assert.match(r.stdout, /^after$/m);
    });
  });
}

describe('dialin shell completion', () => {
  it('completes cmdlet and built-in names case-insensitively, and the parameters of the command being typed', () => {
    assert.deepEqual(complete('get-cspinpol'), [['Get-CsPinPolicy '], 'get-cspinpol']);
    assert.deepEqual(complete('Get-CsClientP')[0], ['Get-CsClientPinInfo ']);
    assert.ok(complete('get-cs')[0].length >= 8, 'every Get-Cs… cmdlet is offered');
    assert.deepEqual(complete('Get-CsPinPolicy | Select-Object -Exp'), [['-ExpandProperty '], '-Exp']);
    assert.deepEqual(complete('Set-CsClientPin -Identity a@b.c -Pi'), [['-Pin '], '-Pi']);
    assert.deepEqual(complete('$users | ForEach-Obj'), [['ForEach-Object '], 'ForEach-Obj']);
    assert.deepEqual(complete('Write-Host $na')[0], [], 'variables are not command names');
    assert.deepEqual(complete('Nothing-Like')[0], []);
  });
});

/**
 * Through a real terminal (util-linux `script` gives the shell a pseudo-terminal): Tab completes,
 * a prompt is shown, and the history file keeps the lines — but not the one with a PIN.
 */
describe('dialin shell on a terminal', { skip: fs.existsSync('/usr/bin/script') ? false : 'util-linux script(1) is not installed' }, () => {
  let t: TestEnv;
  before(async () => {
    t = await testEnv('sqlite');
    await addUsers(t.scope, 'tty', 1);
  });
  after(() => t.cleanup());

  it('Tab completes a cmdlet and a parameter; history is written without PIN lines', async () => {
    const history = path.join(t.dataDir, 'history');
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} shell`, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: t.dataDir, TERM: 'xterm', ...t.env, DIALIN_SHELL_HISTORY: history },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    const waitFor = async (re: RegExp, what: string) => {
      for (let i = 0; i < 600 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, re, `waiting for ${what}; got:\n${out}`);
    };
    // Keys are sent one burst at a time, as a person types them: a Tab in a pasted chunk is text.
    const type = async (s: string) => {
      child.stdin.write(s);
      await new Promise((r) => setTimeout(r, 300));
    };
    try {
    await waitFor(/PS dialin> /, 'the prompt');
    await type('Get-CsPinPol');
    await type('\t');
    await type('| Select-Object -Exp');
    await type('\t');
    await type('Identity\r');
    await waitFor(/Global/, 'the completed pipeline to run');
    await type('Set-CsClientPin -Identity tty0@contoso.com -Pin 59302718\r');
    await waitFor(/59302718[\s\S]*PS dialin> /, 'the next prompt');
    await type('exit\r');
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const code = await closed;
    assert.equal(code, 0, out);
    assert.match(out, /Get-CsPinPolicy \| Select-Object -ExpandProperty Identity/, 'the line as completed');
    const kept = fs.readFileSync(history, 'utf8');
    assert.match(kept, /^Get-CsPinPolicy \| Select-Object -ExpandProperty Identity$/m);
    assert.doesNotMatch(kept, /59302718|-Pin/, 'a line with a PIN stays out of the history file');
    assert.equal(fs.statSync(history).mode & 0o777, 0o600);
    const row = await userRow(t.scope, 'sip:tty0@contoso.com');
    assert.equal(row.pin_hash, t.ctx.keys.hashPin(row.id, '59302718'));
  });
});
