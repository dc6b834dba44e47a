import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLockedOut, LOCKOUT_WINDOW_MS, lockoutLimits, NO_FAILURES, recordAttempt, TEMPORARY_LOCK_MS, type LockoutLimits, type LockoutState } from './pin-lockout.ts';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

/** Applies wrong attempts at the given times, skipping those refused by the lock as the caller does. */
function fail(state: LockoutState, times: number[], limits: LockoutLimits): LockoutState {
  let s = state;
  for (const t of times) {
    if (isLockedOut(s, t)) continue;
    s = recordAttempt(s, t, false, limits).state;
  }
  return s;
}

describe('lockoutLimits (Lync defaults by PIN length)', () => {
  it('4 digits: 10 local / 100 global', () => assert.deepEqual(lockoutLimits(4, null), { local: 10, global: 100 }));
  it('5 and 6 digits: 25 local / 1000 global', () => {
    assert.deepEqual(lockoutLimits(5, null), { local: 25, global: 1000 });
    assert.deepEqual(lockoutLimits(6, null), { local: 25, global: 1000 });
  });
  it('more than 6 digits: 25 local / 5000 global', () => {
    assert.deepEqual(lockoutLimits(7, null), { local: 25, global: 5000 });
    assert.deepEqual(lockoutLimits(24, null), { local: 25, global: 5000 });
  });
  it('MaximumLogonAttempts replaces the local limit only', () => {
    assert.deepEqual(lockoutLimits(4, 3), { local: 3, global: 100 });
    assert.deepEqual(lockoutLimits(8, 999), { local: 999, global: 5000 });
  });
});

describe('recordAttempt', () => {
  const limits: LockoutLimits = { local: 3, global: 7 };

  it('counts failures locally and globally and is not locked below the limit', () => {
    const s = fail(NO_FAILURES, [T0, T0 + MIN], limits);
    assert.equal(s.failuresLocal, 2);
    assert.equal(s.failuresGlobal, 2);
    assert.equal(s.windowStart, T0);
    assert.equal(isLockedOut(s, T0 + MIN), false);
  });

  it('locks for one hour when the local limit is reached within 30 minutes', () => {
    const last = T0 + 29 * MIN;
    const s = fail(NO_FAILURES, [T0, T0 + 10 * MIN, last], limits);
    assert.equal(s.lockedUntil, last + TEMPORARY_LOCK_MS);
    assert.equal(s.locked, false);
    assert.equal(s.failuresLocal, 0, 'the local counter restarts after a temporary lock');
    assert.equal(s.failuresGlobal, 3);
    assert.equal(isLockedOut(s, last + TEMPORARY_LOCK_MS - 1), true);
    assert.equal(isLockedOut(s, last + TEMPORARY_LOCK_MS), false);
  });

  it('forgets local failures older than the 30-minute window', () => {
    const s = fail(NO_FAILURES, [T0, T0 + MIN, T0 + LOCKOUT_WINDOW_MS + MIN], limits);
    assert.equal(s.lockedUntil, null);
    assert.equal(s.failuresLocal, 1);
    assert.equal(s.windowStart, T0 + LOCKOUT_WINDOW_MS + MIN);
    assert.equal(s.failuresGlobal, 3, 'the global counter keeps every failure');
  });

  it('locks for good at the global limit, whatever the time', () => {
    // 3 failures → 1 h lock; after it, 3 more → another lock; after that the 7th reaches the global limit.
    const h = TEMPORARY_LOCK_MS;
    const s = fail(NO_FAILURES, [T0, T0 + 1, T0 + 2, T0 + h + 3, T0 + h + 4, T0 + h + 5, T0 + 2 * h + 10], limits);
    assert.equal(s.failuresGlobal, 7);
    assert.equal(s.locked, true);
    assert.equal(isLockedOut(s, T0 + 365 * 24 * h), true);
  });

  it('attempts refused during a lock are not counted', () => {
    const s = fail(NO_FAILURES, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5], limits);
    assert.equal(s.failuresGlobal, 3);
  });

  it('a success resets the local counter only', () => {
    const s1 = fail(NO_FAILURES, [T0, T0 + 1], limits);
    const { state, outcome } = recordAttempt(s1, T0 + 2, true, limits);
    assert.equal(outcome, 'accepted');
    assert.equal(state.failuresLocal, 0);
    assert.equal(state.windowStart, null);
    assert.equal(state.failuresGlobal, 2);
    // Two more failures do not lock: the local count started again.
    const s2 = fail(state, [T0 + 3, T0 + 4], limits);
    assert.equal(isLockedOut(s2, T0 + 5), false);
  });

  it('a wrong PIN is rejected and a right one accepted', () => {
    assert.equal(recordAttempt(NO_FAILURES, T0, false, limits).outcome, 'rejected');
    assert.equal(recordAttempt(NO_FAILURES, T0, true, limits).outcome, 'accepted');
  });

  it('an administrator lock refuses logon at any time', () => {
    assert.equal(isLockedOut({ ...NO_FAILURES, locked: true }, T0), true);
  });

  it('does not change the state it is given', () => {
    const s = { ...NO_FAILURES };
    recordAttempt(s, T0, false, limits);
    assert.deepEqual(s, NO_FAILURES);
  });
});
