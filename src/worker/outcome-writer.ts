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

/** The most an outcome waits for others to share its commit. */
const COMMIT_DELAY_MS = 3;

/**
 * Records outcomes with group commit: an outcome waits at most a few milliseconds for others (or
 * until `groupSize` have gathered), and they are committed together. Under light load each
 * message gets its own commit right after its 250; under load one commit covers many. A message
 * stays in flight until its commit, so duplicates after a crash stay bounded by the in-flight
 * window. Outcomes are kept and written again if the database is unavailable.
 */
export class OutcomeWriter {
  #queue: { outcome: Outcome; committed: () => void }[] = [];
  #running: Promise<void> | null = null;
  /** Ends the current wait for more outcomes early (the group is full). */
  #full: (() => void) | null = null;

  constructor(
    private readonly store: OutboxStore,
    private readonly onCommitted: (outcomes: Outcome[], stale: number) => void,
    private readonly onError: (e: unknown) => void,
    /** A commit starts at once when this many outcomes wait. */
    private readonly groupSize = 32,
  ) {}

  /** Queues an outcome; resolves once it is committed. */
  record(outcome: Outcome): Promise<void> {
    return new Promise((committed) => {
      this.#queue.push({ outcome, committed });
      if (this.#queue.length >= this.groupSize) this.#full?.();
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
      // Let more outcomes join (replies that already arrived, those of the next milliseconds):
      // a commit can cost an fsync, and SQLite blocks the event loop while it runs.
      if (this.#queue.length < this.groupSize) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, COMMIT_DELAY_MS);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.#full = done;
        });
        this.#full = null;
      }
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
