/** What a probe saw: every answer's status and how long it took. */
export interface ProbeReport {
  count: number;
  /** Answers by HTTP status; 0 = no answer (connection refused or reset, or the 30 s timeout). */
  statuses: Record<number, number>;
  maxMs: number;
  p95Ms: number;
}

/** A request the probe repeats: resolves with the HTTP status (0 when there was no answer). */
export type ProbeRequest = () => Promise<number>;

/** A JSON request with a bearer token; its status, or 0 when no answer came within 30 s. */
export function request(url: string, token: string, body?: unknown): ProbeRequest {
  return async () => {
    try {
      const r = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      await r.arrayBuffer();
      return r.status;
    } catch {
      return 0;
    }
  };
}

/**
 * Sends `req` one after another, pausing `gapMs` between answers, until stopped: the latency of
 * each answer shows whether the server kept answering while something else (the relay, the
 * database) was failing.
 */
export function startProbe(req: ProbeRequest, gapMs: number): { stop(): Promise<ProbeReport> } {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const status = await req();
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        count: sorted.length,
        statuses,
        maxMs: Math.round(sorted.at(-1) ?? 0),
        p95Ms: Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0),
      };
    },
  };
}
