import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { checkConferenceId, CONFERENCE_ID_LENGTH_MAX, CONFERENCE_ID_LENGTH_MIN, CONFERENCE_ID_QUARANTINE_MS, dammCheckDigit, generateConferenceId, isWellFormedConferenceId } from './conference-id.ts';
import { AppError } from './errors.ts';

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'CONFERENCE_ID_INVALID' && e.field === 'ConferenceId' && pattern.test(e.message));
}

const sample = (length: number, n: number) => Array.from({ length: n }, () => generateConferenceId(length, crypto.randomInt));

describe('dammCheckDigit', () => {
  it('matches the published example (572 → 4)', () => {
    assert.equal(dammCheckDigit('572'), 4);
    assert.equal(dammCheckDigit('5724'), 0);
  });
});

describe('generateConferenceId', () => {
  for (let length = CONFERENCE_ID_LENGTH_MIN; length <= CONFERENCE_ID_LENGTH_MAX; length++) {
    it(`gives ${length} digits, no leading 0, a valid check digit`, () => {
      for (const id of sample(length, 500)) {
        assert.match(id, new RegExp(`^[1-9][0-9]{${length - 1}}$`));
        assert.equal(dammCheckDigit(id), 0);
        assert.equal(isWellFormedConferenceId(id), true);
        checkConferenceId(id, length);
      }
    });
  }

  it('is random, not sequential', () => {
    const ids = sample(7, 1000).map(Number).sort((a, b) => a - b);
    assert.ok(new Set(ids).size > 990);
    const gaps = ids.slice(1).map((v, i) => v - ids[i]!);
    assert.ok(Math.max(...gaps) > 100, 'IDs spread over the space');
  });
});

describe('the check digit catches typing errors', () => {
  const ids = [...sample(6, 100), ...sample(7, 100), ...sample(10, 100)];
  it('every single-digit error', () => {
    let tried = 0;
    for (const id of ids) {
      for (let pos = 0; pos < id.length; pos++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === id[pos]) continue;
          const typo = id.slice(0, pos) + d + id.slice(pos + 1);
          assert.notEqual(dammCheckDigit(typo), 0, `${id} → ${typo}`);
          assert.equal(isWellFormedConferenceId(typo), false);
          tried++;
        }
      }
    }
    assert.ok(tried > 20_000);
  });

  it('every transposition of two different adjacent digits', () => {
    let tried = 0;
    for (const id of ids) {
      for (let pos = 0; pos + 1 < id.length; pos++) {
        if (id[pos] === id[pos + 1]) continue;
        const typo = id.slice(0, pos) + id[pos + 1] + id[pos] + id.slice(pos + 2);
        assert.notEqual(dammCheckDigit(typo), 0, `${id} → ${typo}`);
        tried++;
      }
    }
    assert.ok(tried > 1000);
  });

  it('exhaustively for every 4-digit body (all check digits, all single errors and swaps)', () => {
    for (let n = 0; n < 10_000; n++) {
      const body = String(n).padStart(4, '0');
      const id = body + dammCheckDigit(body);
      for (let pos = 0; pos < id.length; pos++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) !== id[pos]) assert.notEqual(dammCheckDigit(id.slice(0, pos) + d + id.slice(pos + 1)), 0);
        }
        if (pos + 1 < id.length && id[pos] !== id[pos + 1]) assert.notEqual(dammCheckDigit(id.slice(0, pos) + id[pos + 1] + id[pos] + id.slice(pos + 2)), 0);
      }
    }
  });
});

describe('checkConferenceId', () => {
  const good = generateConferenceId(7, crypto.randomInt);
  it('refuses non-digits, including non-ASCII digits', () => {
    throwsInvalid(() => checkConferenceId('12a4567', 7), /only digits/);
    throwsInvalid(() => checkConferenceId('１２３４５６７', 7), /only digits/);
    throwsInvalid(() => checkConferenceId('', 7), /only digits/);
  });
  it('refuses the wrong length', () => {
    throwsInvalid(() => checkConferenceId(good.slice(0, 6), 7), /7 digits/);
    throwsInvalid(() => checkConferenceId(generateConferenceId(8, crypto.randomInt), 7), /7 digits/);
  });
  it('refuses a bad check digit', () => {
    const bad = good.slice(0, 6) + String((Number(good[6]) + 1) % 10);
    throwsInvalid(() => checkConferenceId(bad, 7), /check digit/);
  });
  it('accepts a good ID', () => checkConferenceId(good, 7));
});

describe('isWellFormedConferenceId', () => {
  it('needs 6 to 10 digits', () => {
    const five = '1234' + dammCheckDigit('1234');
    const eleven = '1234567890' + dammCheckDigit('1234567890');
    assert.equal(isWellFormedConferenceId(five), false);
    assert.equal(isWellFormedConferenceId(eleven), false);
  });
  it('quarantines released IDs for 30 days', () => assert.equal(CONFERENCE_ID_QUARANTINE_MS, 30 * 86_400_000));
});
