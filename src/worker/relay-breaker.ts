/**
 * A circuit breaker for the deployment's relay. While the relay cannot be reached (connection
 * refused, no greeting, no such host), sending message after message only spends their attempts
 * and fills the log: after `threshold` unreachable failures in a row the breaker opens, the worker
 * stops claiming mail, and every `coolOff` (doubling from `baseMs` to `maxMs`) it checks the relay
 * with a connection that carries no message. The first check that succeeds, or any message the
 * relay accepts, closes it. Pure state: the caller passes the time.
 */
export class RelayBreaker {
  #failures = 0;
  #openUntil: number | null = null;
  #coolOffMs: number;
  /** Checks that failed since it last opened (for the log). */
  checks = 0;

  constructor(private readonly o: { threshold: number; baseMs: number; maxMs: number }) {
    this.#coolOffMs = o.baseMs;
  }

  get isOpen(): boolean {
    return this.#openUntil !== null;
  }

  /** When the next check of an open breaker is due (null when closed). */
  get checkAt(): number | null {
    return this.#openUntil;
  }

  /** A message failed because the relay could not be reached; true when this opened the breaker. */
  unreachable(now: number): boolean {
    this.#failures++;
    if (this.#openUntil !== null || this.#failures < this.o.threshold) return false;
    this.#openUntil = now + this.#coolOffMs;
    this.checks = 0;
    return true;
  }

  /** A check of an open breaker failed: wait twice as long before the next one. */
  checkFailed(now: number): void {
    if (this.#openUntil === null) return;
    this.checks++;
    this.#coolOffMs = Math.min(this.o.maxMs, this.#coolOffMs * 2);
    this.#openUntil = now + this.#coolOffMs;
  }

  /** The relay answered (a check passed, or a message was accepted); true when this closed the breaker. */
  reached(): boolean {
    const wasOpen = this.#openUntil !== null;
    this.#failures = 0;
    this.#openUntil = null;
    this.#coolOffMs = this.o.baseMs;
    return wasOpen;
  }
}
