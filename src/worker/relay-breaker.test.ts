import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RelayBreaker } from './relay-breaker.ts';

describe('RelayBreaker', () => {
  const o = { threshold: 3, baseMs: 1000, maxMs: 4000 };

  it('opens after `threshold` unreachable failures in a row, not before', () => {
    const b = new RelayBreaker(o);
    assert.equal(b.unreachable(0), false);
    assert.equal(b.unreachable(0), false);
    assert.equal(b.isOpen, false);
    assert.equal(b.unreachable(10), true);
    assert.equal(b.isOpen, true);
    assert.equal(b.checkAt, 1010);
    assert.equal(b.unreachable(20), false, 'opening is reported once');
  });

  it('a message accepted in between resets the count', () => {
    const b = new RelayBreaker(o);
    b.unreachable(0);
    b.unreachable(0);
    assert.equal(b.reached(), false);
    b.unreachable(0);
    b.unreachable(0);
    assert.equal(b.isOpen, false);
  });

  it('failed checks double the wait up to the maximum; a passing check closes it and resets the wait', () => {
    const b = new RelayBreaker(o);
    for (let i = 0; i < 3; i++) b.unreachable(0);
    b.checkFailed(1000);
    assert.equal(b.checkAt, 3000);
    b.checkFailed(3000);
    assert.equal(b.checkAt, 7000);
    b.checkFailed(7000);
    assert.equal(b.checkAt, 11000, 'capped at maxMs');
    assert.equal(b.checks, 3);
    assert.equal(b.reached(), true);
    assert.equal(b.isOpen, false);
    assert.equal(b.checkAt, null);
    for (let i = 0; i < 3; i++) b.unreachable(20000);
    assert.equal(b.checkAt, 21000, 'the wait starts from baseMs again');
  });
});
