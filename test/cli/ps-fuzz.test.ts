import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isAppError } from '../../src/core/errors.ts';
import { parseScript } from '../../src/adapters/cli/ps/parser.ts';
import { checkScript, Evaluator } from '../../src/adapters/cli/ps/evaluate.ts';
import { loadConfig } from '../../src/config/config.ts';

/**
 * The script reader is input from a person: 100,000 generated and mutated scripts (fixed seed) never
 * crash or hang it, and never run anything. Each input either parses and passes the whole-script
 * check, or is refused with a positioned error — and then an Evaluator given it runs nothing: it never
 * opens the database and prints nothing.
 */
const SEED = 20261203;
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Real scripts to mutate: Microsoft's examples and admin-shaped lines. */
const CORPUS: string[] = [
  ...fs.readFileSync(path.join(FIXTURES, 'ms-examples.tsv'), 'utf8').trim().split('\n').slice(1).map((r) => r.split('\t')[3]!.replace(/\\n/g, '\n')),
  `$users = Import-Csv -Path "users.csv"\n$users | ForEach-Object { Set-CsClientPin -Identity $_.UserUri -Pin $_.Pin }`,
  `foreach ($u in $users) {\n  if ($u.Lock -eq 'YES') { Lock-CsClientPin -Identity $u.UserUri } elseif ($u.Lock -like 'n*') { Write-Host "x $($u.UserUri)" } else { Write-Warning "?" }\n}`,
  `$params = @{ Identity = 'site:Admins'; MinPasswordLength = 6 }\nNew-CsPinPolicy @params`,
  `try {\n  Set-CsClientPin -Identity a@b.c -Pin 739182 -ErrorAction Stop\n} catch { Write-Host "failed: $($_.Exception.Message)" } finally { Write-Host done }`,
  `Get-CsOnlineDialInConferencingUser | Where-Object {$_.ServiceNumber -ne $null -and -not $_.AllowTollFreeDialIn} | Select-Object -First 3 -Property Identity, ServiceNumber | Sort-Object Identity | Format-Table`,
  `$x = New-CsPinPolicy -Identity site:A -InMemory\n$x.MinPasswordLength = 10\nSet-CsPinPolicy -Instance $x\n$d = (Get-Date).AddDays(-3)\nif ($d -lt (Get-Date)) { Write-Output 'past' }`,
  "Get-CsPinPolicy `\n  | Where-Object MinPasswordLength -ge 5 ; Get-CsPinPolicy | % { $PSItem.Identity } | Measure-Object",
];

/** Pieces of PowerShell (in and out of the subset) for token soup. */
const TOKENS = [
  'Get-CsPinPolicy', 'Set-CsClientPin', 'Get-CsOnlineDialInConferencingUser', 'Where-Object', 'ForEach-Object', '%', '?', 'Select-Object', 'Import-Csv', 'Out-File',
  'Write-Host', 'Get-Date', 'Unknown-Cmdlet', '-Identity', '-Pin', '-Filter', '-Instance', '-InMemory', '-ErrorAction', 'Stop', '-First', '-Property', '-Bogus',
  '$x', '$_', '$PSItem', '$true', '$null', '$env:PATH', '$using:y', '${weird}', '@params', '@(', '@{', '$(', '(', ')', '{', '}', '[', ']', '[int]', '::', '.', ',', ';', '|', '||', '&&', '&',
  '=', '+=', '++', '-eq', '-ne', '-like', '-notmatch', '-contains', '-in', '-and', '-or', '-not', '!', '-replace', '-f', '-split', '..', '+', '-', '*', '/', '>', '2>&1', '<',
  'if', 'elseif', 'else', 'foreach', 'in', 'try', 'catch', 'finally', 'function', 'class', 'while', 'switch', 'return', 'param', 'begin', 'exit',
  "'single'", '"double $x $($y.Z)"', '"unterminated', "'open", '@"', '"@', '`', '`n', '#', '<#', '#>', '1', '-1', '0x1F', '3.5', '1e3', '5GB', 'a@b.c', 'site:A', '\n', '\r\n', '\t', ' ',
  '\u00e9', '\u202e', '\u0000', '\u200b', '\ud800', '\u{1F600}',
];

const GLUE = fc.constantFrom('', ' ', ' ', '\n', '\t');
const tokenSoup = fc.array(fc.tuple(fc.constantFrom(...TOKENS), GLUE), { maxLength: 40 }).map((parts) => parts.map(([t, g]) => t + g).join(''));

type Edit = { at: number; kind: 'insert' | 'delete' | 'dup' | 'swap'; text: string; len: number };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'dup', 'swap'),
  text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 })),
  len: fc.integer({ min: 1, max: 12 }),
});
function applyEdit(s: string, e: Edit): string {
  const at = s.length ? e.at % (s.length + 1) : 0;
  switch (e.kind) {
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'delete':
      return s.slice(0, at) + s.slice(at + e.len);
    case 'dup':
      return s.slice(0, at + e.len) + s.slice(at, at + e.len) + s.slice(at + e.len);
    case 'swap': {
      const a = s.slice(at, at + e.len);
      return a + s.slice(0, at) + s.slice(at + e.len);
    }
  }
}
const mutated = fc.tuple(fc.constantFrom(...CORPUS), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([s, edits]) => edits.reduce(applyEdit, s));
const noise = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }));

/** What the reader may answer: a script that passes the whole check, or a positioned refusal. */
type Verdict = 'accepted' | 'refused';
function read(text: string): Verdict {
  let script;
  try {
    script = parseScript(text);
  } catch (e) {
    assertPositioned(e, text);
    return 'refused';
  }
  try {
    checkScript(script.statements);
    return 'accepted';
  } catch (e) {
    assertPositioned(e, text);
    return 'refused';
  }
}

function assertPositioned(e: unknown, text: string): void {
  if (!isAppError(e)) assert.fail(`the reader threw ${String((e as Error)?.stack ?? e)} for ${JSON.stringify(text)}`);
  assert.match(e.message, /^line \d+, column \d+: \S/, `refusal without a position for ${JSON.stringify(text)}: ${e.message}`);
  const [, line] = /^line (\d+)/.exec(e.message)!;
  assert.ok(Number(line) >= 1 && Number(line) <= text.split(/\r?\n|\r/).length + 1, `line ${line} is outside ${JSON.stringify(text)}`);
}

/** A refused script given to an Evaluator: it must throw before opening the database or printing. */
async function runsNothing(text: string): Promise<void> {
  let script;
  try {
    script = parseScript(text);
  } catch {
    return; // refused by the reader: there is no script to run at all
  }
  let touched = 0;
  const host = {
    ctx: async () => {
      touched++;
      throw new Error('the database was opened');
    },
    config: loadConfig({}),
    term: { out: () => void touched++, err: () => void touched++, ask: async () => null, askSecret: async () => null },
    globals: {},
    file: null,
  };
  await assert.rejects(new Evaluator(host as never, script).run());
  assert.equal(touched, 0, `a refused script did something: ${JSON.stringify(text)}`);
}

describe('the script reader under 100,000 generated and mutated scripts', { timeout: 15 * 60_000 }, () => {
  const seen = { accepted: 0, refused: 0 };
  const refusedSamples: string[] = [];

  for (const [name, arb, runs] of [
    ['mutated examples and admin scripts', mutated, 50_000],
    ['token soup', tokenSoup, 35_000],
    ['random text', noise, 15_000],
  ] as const) {
    it(`${name}: ${runs.toLocaleString('en')} inputs parse or are refused with a position`, () => {
      fc.assert(
        fc.property(arb, (text) => {
          const v = read(text);
          seen[v]++;
          if (v === 'refused' && seen.refused % 50 === 0 && refusedSamples.length < 600) refusedSamples.push(text);
        }),
        { seed: SEED, numRuns: runs },
      );
    });
  }

  it('both outcomes occur, so the generators reach past the first token', () => {
    assert.ok(seen.accepted >= 5_000, `accepted ${seen.accepted}`);
    assert.ok(seen.refused >= 5_000, `refused ${seen.refused}`);
  });

  it('a refused script run by the evaluator neither opens the database nor prints', async () => {
    assert.ok(refusedSamples.length > 100);
    for (const text of refusedSamples) await runsNothing(text);
  });
});
