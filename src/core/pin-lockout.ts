/**
 * Leader-PIN lockout, after Lync's automatic model: failures are counted in a 30-minute window;
 * reaching the local limit locks PIN logon for an hour; a global counter, reset only by an
 * administrator's unlock, locks the PIN for good. A success resets the local counter only.
 */
export const LOCKOUT_WINDOW_MS = 30 * 60_000;
export const TEMPORARY_LOCK_MS = 60 * 60_000;

export interface LockoutState {
  failuresLocal: number;
  windowStart: number | null;
  failuresGlobal: number;
  lockedUntil: number | null;
  /** Locked until an administrator unlocks (global limit reached, or Lock-CsClientPin). */
  locked: boolean;
}

export interface LockoutLimits {
  local: number;
  global: number;
}

export const NO_FAILURES: LockoutState = { failuresLocal: 0, windowStart: null, failuresGlobal: 0, lockedUntil: null, locked: false };

/** Lync's automatic limits by PIN length; a policy's MaximumLogonAttempts replaces only the local one. */
export function lockoutLimits(pinLength: number, maximumLogonAttempts: number | null): LockoutLimits {
  let local = 25;
  let global = 1000;
  if (pinLength <= 4) {
    local = 10;
    global = 100;
  } else if (pinLength > 6) {
    global = 5000;
  }
  return { local: maximumLogonAttempts ?? local, global };
}

/** True when PIN logon is refused at `now` whatever PIN is given: the check comes before the PIN is compared. */
export function isLockedOut(state: LockoutState, now: number): boolean {
  return state.locked || (state.lockedUntil !== null && now < state.lockedUntil);
}

export type AttemptOutcome = 'accepted' | 'rejected';

/** The state after one PIN attempt that was not refused by `isLockedOut`. */
export function recordAttempt(state: LockoutState, now: number, correct: boolean, limits: LockoutLimits): { state: LockoutState; outcome: AttemptOutcome } {
  let s = { ...state };
  if (s.lockedUntil !== null && now >= s.lockedUntil) {
    s = { ...s, lockedUntil: null, failuresLocal: 0, windowStart: null };
  }
  if (s.windowStart !== null && now - s.windowStart >= LOCKOUT_WINDOW_MS) {
    s = { ...s, failuresLocal: 0, windowStart: null };
  }
  if (correct) {
    return { state: { ...s, failuresLocal: 0, windowStart: null }, outcome: 'accepted' };
  }
  s = { ...s, failuresLocal: s.failuresLocal + 1, failuresGlobal: s.failuresGlobal + 1, windowStart: s.windowStart ?? now };
  if (s.failuresGlobal >= limits.global) {
    s = { ...s, locked: true };
  } else if (s.failuresLocal >= limits.local) {
    s = { ...s, lockedUntil: now + TEMPORARY_LOCK_MS, failuresLocal: 0, windowStart: null };
  }
  return { state: s, outcome: 'rejected' };
}
