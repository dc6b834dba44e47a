import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppContext } from '../../app/context.ts';
import { OUTBOX_STATUSES } from '../../app/mail-queue.ts';
import type { ReturnCounts } from '../../app/bounces.ts';

/** The Prometheus metrics `dialin serve` exposes at /metrics (one registry per app, so tests can build several). */
export interface Metrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** One bridge PIN check: leader, refused (unknown ID, wrong PIN, locked) or rate_limited (refused before any lookup). */
  pinCheck(outcome: 'leader' | 'refused' | 'rate_limited'): void;
  pinLockout(level: 'temporary' | 'permanent'): void;
}

/** Delivery counts of an in-process worker since it started (the worker's own `stats()`). */
export type DeliveryCounts = () => { sent: number; failed: number; expired: number; retried: number };

/** Metrics of `dialin serve`; `delivery` is the in-process worker's counts when it runs one. */
export function createMetrics(ctx: AppContext, delivery?: DeliveryCounts, returns?: () => ReturnCounts): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dialin_process_' });
  const requests = new Counter({ name: 'dialin_http_requests_total', help: 'HTTP requests by method, route and status.', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'dialin_http_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const pinChecks = new Counter({ name: 'dialin_pin_checks_total', help: 'Bridge PIN checks by outcome.', labelNames: ['outcome'], registers: [registry] });
  const lockouts = new Counter({ name: 'dialin_pin_lockouts_total', help: 'PIN lockouts caused by failed checks, by level.', labelNames: ['level'], registers: [registry] });
  if (delivery) {
    new Counter({
      name: 'dialin_mails_total',
      help: "Mails delivered by this process's worker since it started: sent (the relay accepted), failed (refused for good), expired (lifetime over), retried (a temporary failure).",
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const d = delivery();
        this.reset();
        for (const o of ['sent', 'failed', 'expired', 'retried'] as const) this.inc({ outcome: o }, d[o]);
      },
    });
  }
  if (returns) {
    new Counter({
      name: 'dialin_mail_returns_total',
      help: 'Returns received by this process (bounce listener, bounce mailbox) since it started, by what they were: bounced (5.x.x), delayed (4.x.x), complained (ARF), ignored (auto-replies, success notices), unrecognized, unmatched (no message of ours: dropped).',
      labelNames: ['status'],
      registers: [registry],
      collect() {
        const r = returns();
        this.reset();
        for (const [k, v] of Object.entries(r)) this.inc({ status: k }, v);
      },
    });
  }
  new Gauge({
    name: 'dialin_outbox_messages',
    help: 'Outbox messages by status (all tenants), read from the database at each scrape.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await ctx.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute();
      const counts = new Map(rows.map((r) => [r.status, Number(r.n)]));
      for (const s of OUTBOX_STATUSES) this.set({ status: s }, counts.get(s) ?? 0);
    },
  });
  for (const o of ['leader', 'refused', 'rate_limited']) pinChecks.inc({ outcome: o }, 0);
  for (const l of ['temporary', 'permanent']) lockouts.inc({ level: l }, 0);
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ route }, seconds);
    },
    pinCheck: (outcome) => pinChecks.inc({ outcome }),
    pinLockout: (level) => lockouts.inc({ level }),
  };
}
