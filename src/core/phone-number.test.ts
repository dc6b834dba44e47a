import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { displayNumber, toE164 } from './phone-number.ts';
import { AppError } from './errors.ts';

describe('toE164', () => {
  it('accepts the forms Microsoft accepts', () => {
    assert.equal(toE164('+14255551234'), '+14255551234');
    assert.equal(toE164('14255551234'), '+14255551234');
    assert.equal(toE164('tel:+14255551234'), '+14255551234');
    assert.equal(toE164('TEL:14255551234'), '+14255551234');
  });
  it('drops readability characters', () => {
    assert.equal(toE164('+1 (425) 555-1234'), '+14255551234');
    assert.equal(toE164(' +33.1.23.45.67.89 '), '+33123456789');
  });
  it('accepts 7 to 15 digits', () => {
    assert.equal(toE164('+1234567'), '+1234567');
    assert.equal(toE164('+123456789012345'), '+123456789012345');
  });
  for (const [what, v] of [
    ['letters', '+1425555XXX'],
    ['too few digits', '1234'],
    ['too many digits', '+1234567890123456'],
    ['a leading 0', '04255551234'],
    ['two plus signs', '++14255551234'],
    ['an extension', '+14255551234;ext=12'],
    ['nothing', ''],
    ['full-width digits', '+１４２５５５５１２３４'],
  ] as const) {
    it(`refuses ${what} with NUMBER_INVALID naming the field`, () => {
      assert.throws(() => toE164(v, 'ServiceNumber'), (e: unknown) => e instanceof AppError && e.code === 'NUMBER_INVALID' && e.field === 'ServiceNumber' && /^ServiceNumber .* E\.164/.test(e.message));
    });
  }
  it('shows numbers as stored', () => {
    assert.equal(displayNumber('+14255551234'), '+14255551234');
    assert.equal(displayNumber(null), '');
  });
});
