import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../src/core/errors.ts';
import { parseScript } from '../../src/adapters/cli/ps/parser.ts';
import { main } from '../../src/adapters/cli/main.ts';
import type { Terminal } from '../../src/adapters/cli/execute.ts';
import { getTenantSettings } from '../../src/app/tenant-settings.ts';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';

/** PowerShell outside the subset: [script, line, column, what the message names]. */
const REFUSED: [string, number, number, RegExp][] = [
  ['class Foo { }', 1, 1, /the 'class' keyword is not supported/],
  ['function Get-X { }', 1, 1, /'function' keyword/],
  ['while ($true) { }', 1, 1, /'while' keyword/],
  ['do { } while ($x)', 1, 1, /'do' keyword/],
  ['for ($i = 0; $i -lt 3; $i++) { }', 1, 1, /'for' keyword/],
  ['switch ($x) { 1 { } }', 1, 1, /'switch' keyword/],
  ['Get-CsPinPolicy\nreturn', 2, 1, /'return' keyword/],
  ['$x = 1\n  break', 2, 3, /'break' keyword/],
  ['throw "x"', 1, 1, /'throw' keyword/],
  ['param($a)', 1, 1, /'param' keyword/],
  ['trap { }', 1, 1, /'trap' keyword/],
  ['exit 1', 1, 1, /'exit' keyword/],
  ['enum Color { Red }', 1, 1, /'enum' keyword/],
  ['Get-CsPinPolicy > out.txt', 1, 17, /redirection/],
  ['Get-CsPinPolicy 2>&1', 1, 17, /redirection/],
  ['& Get-CsPinPolicy', 1, 1, /call operator &/],
  ['. ./lib.ps1', 1, 1, /dot-sourcing/],
  ['$x = [int]"5"', 1, 6, /type literals and casts/],
  ['[datetime]::Now', 1, 1, /type literals and casts/],
  ['$x = "a" -replace "a","b"', 1, 10, /the -replace operator is not supported/],
  ['$x = "a,b" -split ","', 1, 12, /the -split operator/],
  ['$x = 5 -is "int"', 1, 8, /the -is operator/],
  ['Write-Host ("{0}" -f 1)', 1, 19, /the -f operator/],
  ['$x = 1 -bor 2', 1, 8, /the -bor operator/],
  ['$x = 1..5', 1, 7, /range operator/],
  ['$x = @"\nhi\n"@', 1, 6, /here-strings/],
  ['Write-Host $env:PATH', 1, 12, /environment variables/],
  ['$x = $using:y', 1, 6, /scope using: is not supported/],
  ['$x++', 1, 3, /\+\+ operator/],
  ['Get-CsPinPolicy && Get-CsPinPolicy', 1, 17, /chain operator/],
  ['Get-CsPinPolicy | $x', 1, 19, /only be the first element of a pipeline/],
  ['$x.GetType()', 1, 3, /method \.GetType\(\) is not supported/],
  ['if ($x) { } else if ($y) { }', 1, 18, /'else if' is written 'elseif'/],
  ['try { } catch [System.Exception] { }', 1, 15, /catch with an exception type/],
  ['Get-CsPinPolicy |', 1, 18, /ends with a \|/],
  ['Write-Host "abc', 1, 12, /string is not closed/],
  ['<# a comment', 1, 1, /block comment/],
  ['Get-Thing(1)', 1, 10, /looks like a function call/],
  ['$x = $a ?? $b', 1, 9, /unexpected '\?'/],
  ['if ($x) {\n  Get-CsPinPolicy\n', 3, 1, /expected '}' before the end/],
  ['$x = @{ Name = 1', 1, 17, /hashtable @\{ … is not closed/],
  ['foreach ($u of $users) { }', 1, 13, /expected 'in'/],
];

function refusal(script: string): { message: string; details: unknown } {
  try {
    parseScript(script);
  } catch (e) {
    assert.ok(isAppError(e), `an AppError for ${JSON.stringify(script)}`);
    assert.equal(e.code, 'UNSUPPORTED_SYNTAX', `${JSON.stringify(script)}: ${e.message}`);
    return { message: e.message, details: e.details };
  }
  assert.fail(`${JSON.stringify(script)} was accepted`);
}

describe('the PowerShell reader refuses what it does not run, with line and column', () => {
  it(`refuses ${REFUSED.length} constructs`, () => {
    assert.ok(REFUSED.length >= 30);
    for (const [script, line, col, what] of REFUSED) {
      const { message, details } = refusal(script);
      assert.match(message, new RegExp(`^line ${line}, column ${col}: `), `${JSON.stringify(script)} → ${message}`);
      assert.match(message, what, JSON.stringify(script));
      assert.deepEqual(details, { line, column: col });
    }
  });

  it('accepts the subset', () => {
    for (const ok of [
      '$x = 1; $y = "a$($x + 1)b" # comment',
      "Get-CsPinPolicy | ? { $_.PinLifetime -gt 30 -and -not ($_.AllowCommonPatterns) } | % { $_.Identity }",
      'foreach ($u in @(1, 2, 3)) { if ($u -eq 1) { "one" } elseif ($u -in 2, 3) { "more" } else { "none" } }',
      'try { Get-CsPinPolicy -ErrorAction Stop } catch { Write-Host $_.Exception.Message } finally { }',
      '$h = @{ Identity = "site:A"; MinPasswordLength = 6 }\nNew-CsPinPolicy @h',
      'Set-CsClientPin -Identity a@b.c `\n  -Pin 123456',
      '$x.MinPasswordLength = 10; $x.Name += "y"; !$true; $a -cne "B"',
      '<# block\ncomment #> Get-CsPinPolicy | Where-Object IsPinSet -eq $true | Select-Object -First 1 | Format-Table',
    ]) parseScript(ok);
  });
});

/** A terminal that keeps what is written. */
function term(): Terminal & { out_: string; err_: string } {
  const t = {
    out_: '',
    err_: '',
    out(s: string) {
      t.out_ += `${s}\n`;
    },
    err(s: string) {
      t.err_ += `${s}\n`;
    },
    ask: async () => null,
    askSecret: async () => null,
  };
  return t;
}

for (const dialect of DIALECTS) {
  describe(`a refused script runs nothing (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
    });
    after(() => t.cleanup());

    it('each refused construct, after a line that would change the PIN length, leaves it unchanged', async () => {
      const before = (await getTenantSettings(t.scope)).PinLength;
      for (const [script, line, col] of REFUSED) {
        const tm = term();
        const code = await main(['-Command', `Set-CsOnlineDialInConferencingTenantSettings -PinLength 9\n${script}`], tm, t.env);
        assert.equal(code, 1, script);
        assert.match(tm.err_, new RegExp(`^dialin: UNSUPPORTED_SYNTAX: line ${line + 1}, column ${col}: `), `${script} → ${tm.err_}`);
        assert.equal(tm.out_, '');
      }
      assert.equal((await getTenantSettings(t.scope)).PinLength, before, 'the first line of none of them ran');
      assert.notEqual(before, 9);
    });
  });
}
