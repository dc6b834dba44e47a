import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { createContext } from './context.ts';
import { buildHttpApp } from '../adapters/http/server.ts';
import { createMetrics } from '../adapters/http/metrics.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../worker/delivery-worker.ts';
import type { BounceReceivers } from './bounces.ts';
import { startDirectoryScheduler } from './directory-scheduler.ts';
import { startKeyKeeper } from './key-keeper.ts';
import { deliverabilityWarnings } from '../app/deliverability.ts';

export interface RunningServer {
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Graceful stop: no new requests, in-flight ones finish, then the worker, then the database. */
  close(): Promise<void>;
}

/** A pino logger that never writes secrets, even if one ends up in a logged object. */
export function createLogger(config: Readonly<Config>): Logger {
  return pino({
    level: config.logLevel,
    redact: { paths: ['*.password', '*.pin', '*.Pin', '*.token', '*.authorization', '*.cookie', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });
}

/**
 * `dialin serve`: config → context (database migrated, keys) → delivery worker (unless
 * `worker: false`) → HTTP app → listen on PORT/HOST. A change that queues mail wakes the worker.
 */
export async function serve(config: Readonly<Config>, opts: { worker: boolean; port?: number; host?: string; log?: Logger }): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config);
  let worker: DeliveryWorker | null = null;
  const ctx = await createContext(config, { actor: 'web', onMailQueued: () => worker?.wake() });
  let bounces: BounceReceivers | null = null;
  try {
    for (const w of await deliverabilityWarnings(ctx, config)) log.warn({ check: w.check }, `${w.detail}: ${w.fix}`);
    if (opts.worker) worker = await startDeliveryWorker({ ctx, config, log: log.child({ component: 'worker' }) });
    // Loaded only when configured: smtp-server, mailparser and imapflow are not needed otherwise.
    if (config.bounces.listen || config.bounces.imapUrl) bounces = await (await import('./bounces.ts')).startBounceReceivers({ ctx, config, log: log.child({ component: 'bounces' }) });
  } catch (e) {
    await worker?.stop();
    await ctx.db.close();
    throw e;
  }
  // Directory connections are synced every --interval, by whichever process holds the connection's lease.
  const directories = startDirectoryScheduler({ ctx, log: log.child({ component: 'directory' }) });
  const keyKeeper = startKeyKeeper({ ctx, role: 'serve', log: log.child({ component: 'keys' }), heartbeatMs: config.keyHeartbeatMs, keySource: config });
  const metrics = createMetrics(ctx, worker ? () => worker!.stats() : undefined, bounces ? () => bounces!.counts() : undefined);
  const app = await buildHttpApp({ ctx, config, log, metrics });
  const stop = async () => {
    await app.close();
    await directories.stop();
    await keyKeeper.stop();
    await bounces?.close();
    await worker?.stop();
    await ctx.db.close();
  };
  try {
    await app.listen({ port: opts.port ?? config.port, host: opts.host ?? config.host });
  } catch (e) {
    await stop();
    throw e;
  }
  const address = app.server.address();
  const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  log.info({ url, publicUrl: config.publicUrl, database: ctx.db.location, worker: !!worker }, `dialin serve listening on ${url}${worker ? ', delivering mail' : ' (no mail delivery: run `dialin worker`)'}`);
  return {
    url,
    async close() {
      await stop();
      log.info('dialin serve stopped');
    },
  };
}
