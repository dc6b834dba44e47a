import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { displayNumber, groupConferenceId, isTollFreeNumber, oneTap, toE164 } from './phone-number.ts';
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
    assert.equal(toE164('+44 20 3443 0000'), '+442034430000');
  });
  for (const [what, v] of [
    ['letters', '+1425555XXX'],
    ['too few digits', '1234'],
    ['too many digits', '+1234567890123456'],
    ['a number its country does not have', '+123456789012345'],
    ['a short North American number', '+1234567'],
    ['a French number a digit short', '+3317000010'],
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
});

describe('numbers for people', () => {
  it('formats each number as its country writes it', () => {
    assert.equal(displayNumber('+14255550100'), '+1 425-555-0100');
    assert.equal(displayNumber('+18005550199'), '+1 800-555-0199');
    assert.equal(displayNumber('+33170000100'), '+33 1 70 00 01 00');
    assert.equal(displayNumber('+442034430000'), '+44 20 3443 0000');
    assert.equal(displayNumber(null), '');
    assert.equal(displayNumber('not a number'), 'not a number');
  });
  it('tells toll-free numbers by their plan', () => {
    assert.equal(isTollFreeNumber('+18005550199'), true);
    assert.equal(isTollFreeNumber('+33800000000'), true);
    assert.equal(isTollFreeNumber('+14255550100'), false);
  });
  it('groups a conference ID for reading', () => {
    assert.equal(groupConferenceId('5290376'), '529 037 6#');
    assert.equal(groupConferenceId('766918553'), '766 918 553#');
    assert.equal(groupConferenceId(null), '');
  });
  it('writes the one-tap link Teams writes, # encoded in the URI', () => {
    assert.deepEqual(oneTap('+14255550100', '5290376'), { tel: 'tel:+14255550100,,5290376%23', shown: '+1 425-555-0100,,5290376#' });
    assert.deepEqual(oneTap('+33170000100', null), { tel: 'tel:+33170000100', shown: '+33 1 70 00 01 00' });
  });
});
