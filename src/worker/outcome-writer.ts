import type { OutboxStore, Outcome } from './outbox-store.ts';

/** A wake-up call that is not lost when nobody is waiting yet. */
export class Signal {
  #pending = false;
  #waiter: (() => void) | null = null;

  notify(): void {
    if (this.#waiter) this.#waiter();
    else this.#pending = true;
  }

  /** Resolves at the next notify (or at once if one came since the last wait), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiter = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#waiter = done;
    });
  }
}

/**
 * Records outcomes with group commit: the first outcome is written at once, and whatever arrives
 * while that commit runs goes into the next one. Under light load each message gets its own
 * commit right after its 250; under heavy load one commit covers the messages of a few
 * milliseconds, which bounds duplicates after a crash to what was in flight or awaiting commit.
 * Outcomes are kept and written again if the database is unavailable.
 */
export class OutcomeWriter {
  #queue: { outcome: Outcome; committed: () => void }[] = [];
  #running: Promise<void> | null = null;

  constructor(
    private readonly store: OutboxStore,
    private readonly onCommitted: (outcomes: Outcome[], stale: number) => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Queues an outcome; resolves once it is committed. */
  record(outcome: Outcome): Promise<void> {
    return new Promise((committed) => {
      this.#queue.push({ outcome, committed });
      this.#running ??= this.#drain().finally(() => (this.#running = null));
    });
  }

  /** Resolves once everything pushed so far is committed (or `timeoutMs` passed). */
  async flush(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.#running || this.#queue.length) && Date.now() < end) {
      await Promise.race([this.#running ?? Promise.resolve(), new Promise((r) => setTimeout(r, Math.max(1, end - Date.now())))]);
    }
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0);
      try {
        const outcomes = batch.map((b) => b.outcome);
        const stale = await this.store.record(outcomes);
        this.onCommitted(outcomes, stale);
        for (const b of batch) b.committed();
      } catch (e) {
        this.onError(e);
        this.#queue.unshift(...batch);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
