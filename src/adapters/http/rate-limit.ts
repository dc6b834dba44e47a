/**
 * In-memory fixed-window counters: `take(key)` counts one attempt and says whether the key is
 * still within its limit for the current window. Used in front of the PIN check (per token, per
 * conference ID), sign-in and sign-in link requests, so abusive rates are refused before any
 * database lookup or hashing. Per process: with several API nodes each enforces its own share.
 */
export class WindowLimiter {
  readonly #counts = new Map<string, { start: number; n: number }>();
  #lastSweep = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): boolean {
    const now = this.now();
    let e = this.#counts.get(key);
    if (!e || now - e.start >= this.windowMs) {
      this.#sweep(now);
      e = { start: now, n: 0 };
      this.#counts.set(key, e);
    }
    e.n++;
    return e.n <= this.limit;
  }

  /** Drops finished windows, at most once per window, so the map holds only recent keys. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.windowMs) return;
    this.#lastSweep = now;
    for (const [k, e] of this.#counts) if (now - e.start >= this.windowMs) this.#counts.delete(k);
  }
}
