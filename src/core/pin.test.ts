import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { checkPin, commonPatternReason, generatePin, maskPin, maxPinLength, PIN_LENGTH_MAX, PIN_LENGTH_MIN, type PinRules } from './pin.ts';
import { AppError } from './errors.ts';

const STRICT: PinRules = { minLength: 5, allowCommonPatterns: false };

/** Asserts that `fn` throws an AppError with `code` whose message names `field`. */
function throwsCode(fn: () => unknown, code: string, field = 'Pin'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.field, field);
    assert.match(e.message, new RegExp(field));
    return true;
  });
}

describe('checkPin: characters', () => {
  it('accepts ASCII digits only', () => {
    checkPin('13579', STRICT);
    checkPin('902468', STRICT);
  });
  for (const [what, pin] of [
    ['full-width digits', '１３５７９'],
    ['Arabic-Indic digits', '١٣٥٧٩'],
    ['Extended Arabic-Indic digits', '۱۳۵۷۹'],
    ['Devanagari digits', '१३५७९'],
    ['a letter', '1357a'],
    ['a space', '135 79'],
    ['a sign', '+13579'],
    ['a trailing newline', '13579\n'],
    ['the empty string', ''],
  ] as const) {
    it(`refuses ${what} with PIN_NOT_DIGITS`, () => throwsCode(() => checkPin(pin, STRICT), 'PIN_NOT_DIGITS'));
  }
  it('names the field it was given', () => throwsCode(() => checkPin('x', STRICT, 'NewPin'), 'PIN_NOT_DIGITS', 'NewPin'));
});

describe('checkPin: length', () => {
  it('refuses a PIN shorter than the policy minimum', () => {
    throwsCode(() => checkPin('1357', STRICT), 'PIN_TOO_SHORT');
    throwsCode(() => checkPin('1357902', { ...STRICT, minLength: 8 }), 'PIN_TOO_SHORT');
  });
  it('accepts 12 digits and refuses 13 under the default policy', () => {
    checkPin('135792468013', STRICT);
    throwsCode(() => checkPin('1357924680135', STRICT), 'PIN_TOO_LONG');
  });
  it('lets a policy that demands more than 12 digits raise the maximum to its minimum', () => {
    assert.equal(maxPinLength(5), PIN_LENGTH_MAX);
    assert.equal(maxPinLength(16), 16);
    checkPin('1357924680135792', { ...STRICT, minLength: 16 });
    throwsCode(() => checkPin('13579246801357924', { ...STRICT, minLength: 16 }), 'PIN_TOO_LONG');
  });
  it('keeps the tenant PinLength range 4 to 12', () => {
    assert.equal(PIN_LENGTH_MIN, 4);
    assert.equal(PIN_LENGTH_MAX, 12);
  });
});

describe('checkPin: common patterns', () => {
  const common: [string, string, PinRules?][] = [
    ['4 repeated digits', '51111'],
    ['5 repeated digits', '22222'],
    ['repeated digits at the start', '77772'],
    ['4 ascending digits', '91234'],
    ['ascending from 0', '01235'],
    ['6 ascending digits', '456789'],
    ['4 descending digits', '86543'],
    ['descending to 0', '93210'],
    ['part of the phone number', '55512', { ...STRICT, phone: '+1 (425) 555-1234' }],
    ['the whole phone number inside the PIN', '9425555123', { ...STRICT, phone: '425-5551' }],
    ['the extension', '4711', { ...STRICT, minLength: 4, extension: '4711' }],
    ['the extension inside the PIN', '947113', { ...STRICT, extension: '4711' }],
  ];
  for (const [what, pin, rules] of common) {
    it(`refuses ${what} (${pin}) with PIN_COMMON_PATTERN`, () => {
      throwsCode(() => checkPin(pin, rules ?? STRICT), 'PIN_COMMON_PATTERN');
      assert.ok(commonPatternReason(pin, rules?.phone, rules?.extension));
    });
    it(`accepts ${what} (${pin}) when the policy allows common patterns`, () => checkPin(pin, { ...(rules ?? STRICT), allowCommonPatterns: true }));
  }
  const fine = ['13579', '11122', '12324', '98798', '78901', '2468024', '11211', '123123'];
  for (const pin of fine) {
    it(`accepts ${pin}: at most 3 repeated or consecutive digits`, () => {
      assert.equal(commonPatternReason(pin), null);
      checkPin(pin, STRICT);
    });
  }
  it('ignores a phone number or extension too short to be a pattern', () => {
    assert.equal(commonPatternReason('42135', '+4', null), null);
    assert.equal(commonPatternReason('47135', null, '47'), null);
  });
});

describe('generatePin', () => {
  it('gives ASCII digits of exactly the asked length, never a common pattern', () => {
    for (let length = PIN_LENGTH_MIN; length <= 24; length++) {
      for (let i = 0; i < 300; i++) {
        const pin = generatePin(length, { phone: '+14255551234', extension: '1234' }, crypto.randomInt);
        assert.match(pin, new RegExp(`^[0-9]{${length}}$`));
        assert.equal(commonPatternReason(pin, '+14255551234', '1234'), null, pin);
      }
    }
  });

  it('draws again when the first draw is a common pattern', () => {
    // The first 5 draws spell 11111, then 12345, then 13579.
    const draws = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 1, 3, 5, 7, 9];
    let i = 0;
    const pin = generatePin(5, {}, () => draws[i++]!);
    assert.equal(pin, '13579');
    assert.equal(i, 15);
  });

  it('avoids the user phone number and extension', () => {
    const draws = [...'5551', ...'4711', ...'2580'].map(Number);
    let i = 0;
    assert.equal(generatePin(4, { phone: '+1 425 555 1234', extension: '4711' }, () => draws[i++]!), '2580');
  });

  it('draws digits roughly uniformly, in every position', () => {
    const n = 20_000;
    const length = 6;
    const counts = Array.from({ length }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < n; i++) {
      const pin = generatePin(length, {}, crypto.randomInt);
      for (let p = 0; p < length; p++) counts[p]![pin.charCodeAt(p) - 48]!++;
    }
    // Chi-square with 9 degrees of freedom: 50 is far in the tail (p < 1e-7) for a uniform source,
    // while a biased generator (e.g. one digit twice as likely) scores in the thousands.
    for (const [p, c] of counts.entries()) {
      const expected = n / 10;
      const chi2 = c.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
      assert.ok(chi2 < 50, `position ${p}: chi-square ${chi2.toFixed(1)} for counts ${c.join(',')}`);
    }
  });
});

describe('maskPin', () => {
  it('shows stars for a set PIN and nothing for none', () => {
    assert.equal(maskPin(true), '*****');
    assert.equal(maskPin(false), '');
  });
});
