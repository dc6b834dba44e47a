import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { csvCell, csvLine } from './csv-cell.ts';

describe('csvCell', () => {
  it('neutralises a cell a spreadsheet would run as a formula: a leading quote, and the cell quoted (OWASP)', () => {
    for (const v of ['=HYPERLINK("http://evil.example","x")', '+SUM(1)', '-2+3', '@SUM(1)', '\t=1+1', '\r=1+1']) {
      const cell = csvCell(v);
      assert.ok(cell.startsWith(`"'`), `${JSON.stringify(v)} → ${cell}`);
      assert.deepEqual(parse(`${cell}\n`, { relaxQuotes: false }), [[`'${v}`]], 'reads back as the text with its quote, nothing lost');
    }
  });

  it('leaves ordinary cells as they are and quotes commas, quotes and line breaks', () => {
    assert.equal(csvCell('sip:ken@contoso.com'), 'sip:ken@contoso.com');
    assert.equal(csvCell('Ken, Myer'), '"Ken, Myer"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('a\nb'), '"a\nb"');
    assert.equal(csvCell('a=b'), 'a=b', 'only the first character makes a formula');
    assert.equal(csvLine(['a', '=1', '']), `a,"'=1",`);
  });

  it('alwaysQuote (Export-Csv) quotes every cell and still neutralises formulas', () => {
    assert.equal(csvCell('Ken', { alwaysQuote: true }), '"Ken"');
    assert.equal(csvCell('@SUM(1)', { alwaysQuote: true }), `"'@SUM(1)"`);
  });
});
