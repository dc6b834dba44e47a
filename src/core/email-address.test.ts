import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEmail, printable } from './email-address.ts';
import { AppError } from './errors.ts';

function refused(input: string, why: RegExp, field = 'EmailAddress'): void {
  assert.throws(
    () => normalizeEmail(input, field),
    (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'EMAIL_INVALID');
      assert.equal(e.field, field);
      assert.match(e.message, new RegExp(`^${field} `));
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /[\r\n]/, 'the message never carries a raw line break');
      return true;
    },
  );
}

/** A syntactically valid address of exactly `n` characters (n ≥ 70). */
function addressOfLength(n: number): string {
  const local = 'a'.repeat(64);
  let rest = n - local.length - 1 - 4; // "@" and ".com"
  const labels: string[] = [];
  while (rest > 0) {
    const take = Math.min(63, rest - (labels.length ? 1 : 0));
    labels.push('b'.repeat(take));
    rest -= take + (labels.length > 1 ? 1 : 0);
  }
  const s = `${local}@${labels.join('.')}.com`;
  assert.equal(s.length, n);
  return s;
}

describe('normalizeEmail accepts', () => {
  it('a plain address, lower-casing the domain only', () => assert.equal(normalizeEmail('Ken.Myer@Contoso.COM'), 'Ken.Myer@contoso.com'));
  it('the characters RFC 5322 allows in an unquoted local part', () => assert.equal(normalizeEmail("o'brien+dial-in_x!#$%&*=?^{|}~@contoso.com"), "o'brien+dial-in_x!#$%&*=?^{|}~@contoso.com"));
  it('surrounding spaces, trimmed', () => assert.equal(normalizeEmail('  bob@contoso.com '), 'bob@contoso.com'));
  it('an IDN domain, as punycode A-labels', () => {
    assert.equal(normalizeEmail('bob@bücher.example'), 'bob@xn--bcher-kva.example');
    assert.equal(normalizeEmail('ana@ÉCOLE.fr'), 'ana@xn--cole-9oa.fr');
  });
  it('an address of exactly 254 characters', () => assert.equal(normalizeEmail(addressOfLength(254)).length, 254));
});

describe('normalizeEmail refuses', () => {
  it('CR/LF (header injection)', () => {
    refused('bob@contoso.com\r\nBcc: all@contoso.com', /control characters or line breaks/);
    refused('bob@contoso.com\nx', /line breaks/);
    refused('bob\r@contoso.com', /line breaks/);
  });
  it('other control characters and Unicode line separators', () => {
    refused('bob\u0000@contoso.com', /control/);
    refused('bob\u2028x@contoso.com', /line breaks/);
  });
  it('commas and semicolons (lists)', () => {
    refused('bob@contoso.com,eve@contoso.com', /comma/);
    refused('bob@contoso.com;eve@contoso.com', /comma/);
  });
  it('display names, brackets, quotes and spaces', () => {
    refused('Bob <bob@contoso.com>', /comma, space, quote, bracket/);
    refused('"bob"@contoso.com', /quote/);
    refused('bob smith@contoso.com', /space/);
  });
  it('no domain', () => {
    refused('bob@', /no domain/);
    refused('bob', /exactly one "@"/);
    refused('bob@contoso', /name like contoso.com/);
    refused('bob@contoso.123', /domain/);
    refused('bob@-contoso.com', /name like contoso.com/);
  });
  it('no name or two @', () => {
    refused('@contoso.com', /exactly one "@"/);
    refused('bob@eve@contoso.com', /exactly one "@"/);
  });
  it('dots in the wrong place', () => {
    refused('.bob@contoso.com', /before "@"/);
    refused('bob..smith@contoso.com', /before "@"/);
  });
  it('more than 254 characters', () => refused(addressOfLength(255), /longer than 254/));
  it('a local part over 64 characters', () => refused(`${'a'.repeat(65)}@contoso.com`, /longer than 64/));
  it('an IDN domain that grows past 254 characters as punycode', () => {
    const label = 'ü'.repeat(20); // 20 characters, 30+ as an A-label
    const s = `${'a'.repeat(64)}@${Array(8).fill(label).join('.')}.com`;
    assert.ok(s.length <= 254);
    assert.throws(() => normalizeEmail(s), (e: unknown) => e instanceof AppError && e.code === 'EMAIL_INVALID');
  });
  it('the empty string', () => refused('', /empty/));
  it('names the field it is given', () => refused('nope', /./, 'SendEmailToAddress'));
});

describe('printable', () => {
  it('escapes control characters and shortens long values', () => {
    assert.equal(printable('a\r\nb'), 'a\\u000d\\u000ab');
    assert.equal(printable('x'.repeat(100), 10), `${'x'.repeat(10)}…`);
  });
});
