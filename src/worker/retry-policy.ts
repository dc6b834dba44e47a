/** Retry timing of a message whose attempt failed transiently. */
export interface RetryPolicy {
  /** Delay after the first failed attempt; doubled after each further one. */
  baseMs: number;
  /** The delay never exceeds this. */
  maxMs: number;
}

/** Jitter spreads retries of a burst of failures (±20 %), so they do not hit the relay together. */
const JITTER = 0.2;

/**
 * The delay before the next attempt after `attempts` attempts: base · 2^(attempts−1), capped at
 * the maximum, times a random factor in [0.8, 1.2). `random` returns a number in [0, 1).
 */
export function retryDelay(attempts: number, p: RetryPolicy, random: () => number): number {
  const exp = Math.min(Math.max(attempts, 1) - 1, 30);
  const delay = Math.min(p.baseMs * 2 ** exp, p.maxMs);
  return Math.round(delay * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * What follows a transient failure: another attempt at `retryAt`, or expiry when that would
 * fall after the message's lifetime (it is kept, marked expired, never deleted).
 */
export function afterTransientFailure(attempts: number, now: number, expiresAt: number, p: RetryPolicy, random: () => number): { retryAt: number } | { expired: true } {
  const retryAt = now + retryDelay(attempts, p, random);
  return retryAt >= expiresAt ? { expired: true } : { retryAt };
}

/** What an expired message says: how many attempts over how long, and the last error. */
export function gaveUpNote(attempts: number, createdAt: number, now: number, lastError: string): string {
  const days = ((now - createdAt) / 86_400_000).toFixed(1);
  return `gave up after ${attempts} attempt(s) over ${days} day(s); last error: ${lastError}`;
}
