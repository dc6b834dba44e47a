import { testEnv, type TestEnv } from '../../support/dialects.ts';
import { bridgeWithNumbers } from '../../support/fixtures.ts';
import type { Dialect } from '../../../src/adapters/db/database.ts';
import { startDeliveryWorker, type DeliveryWorker, type WorkerLog } from '../../../src/worker/delivery-worker.ts';
import { SmtpSink, type SinkOptions } from './smtp-sink.ts';

/** Retry, lease and poll settings compressed so delivery tests take seconds. */
export const FAST_DELIVERY: Record<string, string> = {
  DIALIN_RETRY_BASE_MS: '200',
  DIALIN_RETRY_MAX_MS: '1000',
  DIALIN_LEASE_MS: '10000',
  DIALIN_MAIL_POLL_MS: '25',
  DIALIN_SMTP_CONNECTIONS: '4',
  DIALIN_MAIL_FROM: '"Dial-in Conferencing" <noreply@dialin.contoso.com>',
};

/** A logger that keeps every line as the JSON pino would write, for leak checks. */
export function captureLog(): WorkerLog & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push(JSON.stringify({ level, ...obj, msg }));
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface MailEnv {
  t: TestEnv;
  sink: SmtpSink;
  log: ReturnType<typeof captureLog>;
  /** Starts a delivery worker in this process (stopped by `cleanup`). */
  startWorker(): Promise<DeliveryWorker>;
  cleanup(): Promise<void>;
}

/**
 * A database of the dialect with a bridge ("Conference Bridge": toll +14255550100 by default,
 * +14255550101, toll-free +18005550199), a test relay, and the environment pointing at it.
 */
export async function mailEnv(dialect: Dialect, opts: { sink?: SinkOptions; env?: (sink: SmtpSink) => Record<string, string> } = {}): Promise<MailEnv> {
  const sink = await SmtpSink.start(opts.sink);
  const t = await testEnv(dialect, { ...FAST_DELIVERY, DIALIN_SMTP_URL: sink.url, ...(opts.env?.(sink) ?? {}) });
  await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550199']);
  const log = captureLog();
  const workers: DeliveryWorker[] = [];
  return {
    t,
    sink,
    log,
    async startWorker() {
      const w = await startDeliveryWorker({ ctx: t.ctx, config: t.config, log });
      workers.push(w);
      return w;
    },
    async cleanup() {
      for (const w of workers) await w.stop();
      await sink.stop();
      await t.cleanup();
    },
  };
}

/** Waits until `check` holds (polling), or fails with `what`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until `count` reaches `target`, however long that takes, as long as it keeps moving: it
 * fails only when the count has not grown for `stallMs` (something stopped, rather than a loaded
 * machine going slowly).
 */
export async function untilCount(count: () => Promise<number> | number, target: number, what: string, stallMs = 60_000): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n > last) {
      last = n;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) throw new Error(`timed out waiting for ${what}: stuck at ${n} of ${target} for ${stallMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
