import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argvToLine, logicalLines, tokenize, type Token } from './ps-tokenize.ts';
import { AppError } from '../../core/errors.ts';

const w = (v: string, quoted = false): Token => ({ t: 'word', v, quoted });
const COMMA: Token = { t: 'comma' };
const PIPE: Token = { t: 'pipe' };

function refused(line: string, code: string, pattern: RegExp): void {
  assert.throws(() => tokenize(line), (e: unknown) => e instanceof AppError && e.code === code && pattern.test(e.message));
}

describe('tokenize: words and quotes', () => {
  it('splits on whitespace', () => {
    assert.deepEqual(tokenize('  Get-CsPinPolicy   -Identity\tsite:Redmond '), [w('Get-CsPinPolicy'), w('-Identity'), w('site:Redmond')]);
  });
  it('keeps double-quoted strings whole, with backtick escapes and doubled quotes', () => {
    assert.deepEqual(tokenize('-Name "Conference Bridge"'), [w('-Name'), w('Conference Bridge', true)]);
    assert.deepEqual(tokenize('"a`"b" "c""d" "tab`there" "x``y"'), [w('a"b', true), w('c"d', true), w('tab\there', true), w('x`y', true)]);
    assert.deepEqual(tokenize('"litwareinc\\kenmyer"'), [w('litwareinc\\kenmyer', true)]);
  });
  it('keeps single-quoted strings literal, with doubled quotes', () => {
    assert.deepEqual(tokenize("'O''Brien' '$true' 'a`nb'"), [w("O'Brien", true), w('$true', true), w('a`nb', true)]);
  });
  it('joins quoted parts to a word', () => {
    assert.deepEqual(tokenize(`ab"c d"'e'`), [w('abc de')]);
  });
  it('treats -Name:"x y" as a parameter with an inline value, and a quoted word as a value', () => {
    assert.deepEqual(tokenize('-Name:"Fabrikam ACP" "-Domain"'), [w('-Name:Fabrikam ACP'), w('-Domain', true)]);
  });
  it('accepts $true, $false and $null inside double quotes but refuses variables', () => {
    assert.deepEqual(tokenize('"$true"'), [w('$true', true)]);
    refused('-Identity "$user"', 'PIPELINE_NOT_SUPPORTED', /Variables/);
    refused('-Identity "$($u.Name)"', 'PIPELINE_NOT_SUPPORTED', /subexpressions/);
  });
  it('refuses unterminated strings', () => {
    refused('-Name "Conference', 'INVALID_ARGUMENT', /Unterminated double-quoted/);
    refused("-Name 'Conference", 'INVALID_ARGUMENT', /Unterminated single-quoted/);
  });
  it('reads a backtick outside quotes as an escape of the next character', () => {
    assert.deepEqual(tokenize('a` b'), [w('a b')]);
  });
});

describe('tokenize: lists, pipes, statements', () => {
  it('makes commas separate tokens, with or without spaces', () => {
    assert.deepEqual(tokenize('-SecondaryLanguages en-us, ja-jp,en-gb'), [w('-SecondaryLanguages'), w('en-us'), COMMA, w('ja-jp'), COMMA, w('en-gb')]);
    assert.deepEqual(tokenize('"18005551010", "18005551020"'), [w('18005551010', true), COMMA, w('18005551020', true)]);
  });
  it('keeps a comma inside quotes', () => assert.deepEqual(tokenize('"Myer, Ken"'), [w('Myer, Ken', true)]));
  it('makes pipes separate tokens', () => {
    assert.deepEqual(tokenize('Get-CsOnlineDialInConferencingBridge|fl'), [w('Get-CsOnlineDialInConferencingBridge'), PIPE, w('fl')]);
  });
  it('refuses several statements on a line', () => refused('Get-CsPinPolicy; Get-CsUserAcp', 'PIPELINE_NOT_SUPPORTED', /each cmdlet on its own line/));
});

describe('logicalLines', () => {
  it('drops # comments and blank lines, keeping line numbers', () => {
    const text = '# set up\n\nGet-CsPinPolicy # all of them\n   # indented comment\nGet-CsUserAcp\n';
    assert.deepEqual(logicalLines(text), [
      { line: 3, text: 'Get-CsPinPolicy ' },
      { line: 5, text: 'Get-CsUserAcp' },
    ]);
  });
  it('keeps # inside quotes and inside words', () => {
    assert.deepEqual(logicalLines('New-X -Name "Room #1" -Tag a#b'), [{ line: 1, text: 'New-X -Name "Room #1" -Tag a#b' }]);
    assert.deepEqual(logicalLines("New-X -Name 'Room #1'"), [{ line: 1, text: "New-X -Name 'Room #1'" }]);
  });
  it('joins backtick continuations and reports the first line', () => {
    const text = 'Get-A\nSet-CsUserAcp -Identity "Ken Myer" `\n  -Name "Fabrikam ACP" `   \n  -Domain fabrikam.com\nGet-B';
    const lines = logicalLines(text);
    assert.equal(lines.length, 3);
    assert.equal(lines[1]!.line, 2);
    assert.deepEqual(tokenize(lines[1]!.text), [w('Set-CsUserAcp'), w('-Identity'), w('Ken Myer', true), w('-Name'), w('Fabrikam ACP', true), w('-Domain'), w('fabrikam.com')]);
    assert.deepEqual(lines[2], { line: 5, text: 'Get-B' });
  });
  it('accepts CRLF line ends and a BOM', () => {
    const lines = logicalLines('\uFEFFGet-A `\r\n -X 1\r\nGet-B\r\n');
    assert.deepEqual(lines.map((l) => [l.line, tokenize(l.text)]), [
      [1, [w('Get-A'), w('-X'), w('1')]],
      [3, [w('Get-B')]],
    ]);
  });
  it('does not take a backtick inside a comment as a continuation', () => {
    assert.deepEqual(logicalLines('Get-A # see `\nGet-B'), [
      { line: 1, text: 'Get-A ' },
      { line: 2, text: 'Get-B' },
    ]);
  });
});

describe('argvToLine (what the shell gives back)', () => {
  it('re-quotes arguments the shell unquoted', () => {
    const line = argvToLine(['Set-CsUserAcp', '-Identity', 'Ken Myer', '-Name', "O'Brien ACP"]);
    assert.deepEqual(tokenize(line), [w('Set-CsUserAcp'), w('-Identity'), w('Ken Myer', true), w('-Name'), w("O'Brien ACP", true)]);
  });
  it('keeps trailing commas and lone pipes as PowerShell syntax', () => {
    const line = argvToLine(['Set-X', '-SecondaryLanguages', 'en-us,', 'ja-jp,', 'en-gb', '|', 'fl']);
    assert.deepEqual(tokenize(line), [w('Set-X'), w('-SecondaryLanguages'), w('en-us'), COMMA, w('ja-jp'), COMMA, w('en-gb'), PIPE, w('fl')]);
  });
  it('reads a,b given as one shell argument as a list', () => {
    assert.deepEqual(tokenize(argvToLine(['Get-X', '-Identity', 'ken@contoso.com,sip:ana@contoso.com', '-TollFreeNumbers', '18005551010,18005551020'])), [
      w('Get-X'), w('-Identity'), w('ken@contoso.com'), COMMA, w('sip:ana@contoso.com'), w('-TollFreeNumbers'), w('18005551010'), COMMA, w('18005551020'),
    ]);
    assert.deepEqual(tokenize(argvToLine(['Get-X', ',a', 'Ken Myer,Ana'])), [w('Get-X'), COMMA, w('a'), w('Ken Myer,Ana', true)]);
  });
  it('keeps -Name:value with spaces a parameter', () => {
    assert.deepEqual(tokenize(argvToLine(['Set-X', '-Name:Fabrikam ACP'])), [w('Set-X'), w('-Name:Fabrikam ACP')]);
    assert.deepEqual(tokenize(argvToLine(['-Name:x', '-Pin:1 2'])), [w('-Name:x'), w('-Pin:1 2')]);
  });
  it('quotes values that look like PowerShell syntax', () => {
    assert.deepEqual(tokenize(argvToLine(['-Identity', 'a;b', '-Name', 'x|y', '-Pin', '１２３４５'])), [w('-Identity'), w('a;b', true), w('-Name'), w('x|y', true), w('-Pin'), w('１２３４５', true)]);
    assert.deepEqual(tokenize(argvToLine(['-AllowCommonPatterns', ''])), [w('-AllowCommonPatterns'), w('', true)]);
  });
  it('takes a single argument with spaces as a whole command line', () => {
    assert.equal(argvToLine(['Get-CsUserAcp -Identity "Ken Myer" | Select-Object -ExpandProperty AcpInfo']), 'Get-CsUserAcp -Identity "Ken Myer" | Select-Object -ExpandProperty AcpInfo');
  });
});
