import type { OutboxStore } from './outbox-store.ts';

/**
 * Renews the leases of the rows a deliverer holds, every third of the lease, so a worker that is
 * alive but slow (a loaded machine, a relay that takes its time) keeps its messages and only one
 * that is really gone (killed, frozen, cut off from the database) loses them. Each renewal is fenced
 * by owner: it extends only rows still `sending` under the claim that took them, never a row
 * another worker has taken over. A row is renewed from `hold` until `release` (its outcome is
 * committed, or its attempt crashed and it is left to run out).
 */
export class LeaseKeeper {
  /** Held rows by claim owner. */
  readonly #held = new Map<string, Set<string>>();
  readonly #timer: NodeJS.Timeout;
  #renewing: Promise<void> | null = null;

  constructor(
    private readonly store: OutboxStore,
    private readonly leaseMs: number,
    private readonly now: () => number,
    private readonly onError: (e: unknown) => void,
  ) {
    this.#timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(leaseMs / 3)));
    this.#timer.unref();
  }

  hold(id: string, owner: string): void {
    let ids = this.#held.get(owner);
    if (!ids) this.#held.set(owner, (ids = new Set()));
    ids.add(id);
  }

  release(id: string, owner: string): void {
    const ids = this.#held.get(owner);
    if (!ids) return;
    ids.delete(id);
    if (!ids.size) this.#held.delete(owner);
  }

  /** Extends every held lease to a full lease from now (one renewal at a time; a late one is skipped). */
  renew(): Promise<void> {
    this.#renewing ??= (async () => {
      try {
        const until = this.now() + this.leaseMs;
        for (const [owner, ids] of [...this.#held]) await this.store.renewLeases(owner, [...ids], until);
      } catch (e) {
        // The database did not answer: the next beat tries again, within the lease.
        this.onError(e);
      }
    })().finally(() => (this.#renewing = null));
    return this.#renewing;
  }

  /** Stops renewing (the deliverer stopped); what is still held runs out or is recorded by its owner. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#held.clear();
    await this.#renewing;
  }
}
