import crypto from 'node:crypto';
import type { TenantScope } from '../../src/app/context.ts';

/** A clock a test moves by hand. */
export interface Clock {
  t: number;
  advance(ms: number): void;
}

export const DAY_MS = 86_400_000;

export function clock(start = Date.UTC(2025, 0, 6, 9, 0, 0)): Clock {
  return {
    t: start,
    advance(ms: number) {
      this.t += ms;
    },
  };
}

/** The same tenant scope with a clock of the test's own, so "30 days later" takes no time. */
export function withClock(s: TenantScope, c: Clock): TenantScope {
  return { ...s, now: () => c.t };
}

/**
 * A scope whose randomness first replays `digits` (one digit per draw, the first drawn as
 * 1 + randomInt(9) as conference IDs do when `firstNonZero`), then falls back to the CSPRNG.
 * Lets a test make the generator propose a given conference ID or PIN.
 */
export function withReplayedDigits(s: TenantScope, digits: string, opts: { firstNonZero?: boolean } = {}): TenantScope {
  const queue = [...digits].map(Number);
  let first = !!opts.firstNonZero;
  return {
    ...s,
    randomInt: (n: number) => {
      const next = queue.shift();
      if (next === undefined) return crypto.randomInt(n);
      const v = first ? next - 1 : next;
      first = false;
      if (v < 0 || v >= n) throw new Error(`replayed digit ${next} is out of range for randomInt(${n})`);
      return v;
    },
  };
}
