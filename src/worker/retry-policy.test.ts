import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { afterTransientFailure, retryDelay } from './retry-policy.ts';

const p = { baseMs: 30_000, maxMs: 15 * 60_000 };

describe('retry policy', () => {
  it('doubles from 30 s to a 15 min cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((a) => retryDelay(a, p, () => 0.5)), [30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  });
  it('jitters within ±20 %', () => {
    assert.equal(retryDelay(1, p, () => 0), 24_000);
    assert.ok(retryDelay(1, p, () => 0.999_999) <= 36_000);
  });
  it('expires once the next attempt would fall after the lifetime', () => {
    assert.deepEqual(afterTransientFailure(1, 0, 100_000, p, () => 0.5), { retryAt: 30_000 });
    assert.deepEqual(afterTransientFailure(3, 0, 100_000, p, () => 0.5), { expired: true });
  });
});
