/** The logger calls the outage log makes (pino's, or a test's). */
export interface WarnLog {
  warn(obj: object, msg: string): void;
}

/**
 * Logs answers of 503 (the database is unreachable) as a few lines rather than one error with a
 * stack per request: the first at once, then at most one every `everyMs` with how many were
 * answered meanwhile. During an outage every request fails the same way; a flood of identical
 * stacks would hide everything else and fill the disk.
 */
export class OutageLog {
  #lastAt = -Infinity;
  #since = 0;

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** One request answered 503 because of `code` (and the cause's message, never a stack). */
  note(log: WarnLog, code: string, cause: string | null): void {
    this.#since++;
    const at = this.now();
    if (at - this.#lastAt < this.everyMs) return;
    const first = this.#since === 1;
    log.warn({ code, cause, answered503: this.#since }, first ? 'A request was answered 503: the database cannot be reached. Requests are refused until it is back.' : `${this.#since} requests were answered 503 since the last line: the database still cannot be reached.`);
    this.#lastAt = at;
    this.#since = 0;
  }
}
