import os from 'node:os';
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { AppContext } from '../app/context.ts';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { holdersLacking, keyHolder, resealAll, resealBatch } from '../app/key-ring.ts';
import { threadBoot } from '../adapters/thread-boot.ts';
import type { KeySource } from '../adapters/crypto/keys.ts';
import type { ResealThreadInput, ResealThreadResult } from './reseal-thread.ts';

const THREAD_BOOT = threadBoot(import.meta.url, 'reseal-thread');

/**
 * The key ring side of `dialin serve` and `dialin worker`: every heartbeat the key file is looked
 * at again (a rotation by `dialin key rotate` is picked up without a restart), this process's ring
 * fingerprint is written to `key_holders` (for `dialin doctor`), and secrets sealed under an older
 * version are re-sealed under the current one, batch by batch, once every live process holds it.
 * Several processes may re-seal at once: each row is updated only if it is still as read.
 */
export interface KeyKeeper {
  stop(): Promise<void>;
  /** One heartbeat and re-seal round now (tests). */
  tick(): Promise<void>;
}

export function startKeyKeeper(opts: {
  ctx: AppContext;
  role: string;
  log: Logger;
  heartbeatMs: number;
  batch?: number;
  /** Where this process's key ring comes from: on SQLite, the re-seal thread loads the same ring. */
  keySource?: KeySource;
}): KeyKeeper {
  const { ctx, log } = opts;
  let thread: Worker | null = null;
  /** Re-seals what is left in a thread, to the end (or until stop); resolves how many. */
  const resealInThread = async (input: ResealThreadInput): Promise<number> => {
    const w = new Worker(THREAD_BOOT, { eval: true, workerData: input });
    thread = w;
    try {
      const [result] = (await once(w, 'message')) as [ResealThreadResult];
      if ('error' in result) throw new Error(`the re-seal thread stopped after ${result.resealed} secret(s): ${result.error}`);
      return result.resealed;
    } finally {
      thread = null;
      await w.terminate();
    }
  };
  const holder = keyHolder(ctx.db, ctx.keys, { id: `${os.hostname()}/${process.pid}/${crypto.randomBytes(4).toString('hex')}`, role: opts.role, host: os.hostname(), pid: process.pid, now: ctx.now });
  let stopped = false;
  let running: Promise<void> | null = null;
  let current = ctx.keys.current;
  const round = async () => {
    await holder.beat();
    if (ctx.keys.current !== current) {
      log.info({ current: ctx.keys.current, previous: current }, `key ring changed: new hashes and seals use key version ${ctx.keys.current}`);
      current = ctx.keys.current;
    }
    const lacking = await holdersLacking(ctx.db, ctx.keys.current, ctx.now());
    if (lacking.length) return; // one of them could not open a secret re-sealed now
    // On SQLite a batch holds the event loop while it runs: a first batch of one row tells whether
    // anything waits, and the rest is re-sealed by a thread of its own (reseal-thread.ts).
    let total = 0;
    if (ctx.db.dialect === 'sqlite' && opts.keySource) {
      const first = await resealBatch(ctx.db, ctx.keys, { table: 0, after: '' }, 1);
      if (!first.done) {
        const { dataDir, pinKey, pinKeysFile } = opts.keySource;
        total = first.resealed + (await resealInThread({ keySource: { dataDir, pinKey, pinKeysFile }, version: ctx.keys.current, batch: opts.batch }));
      }
    } else {
      total = await resealAll(ctx.db, ctx.keys, { batch: opts.batch, stop: () => stopped, onBatch: () => new Promise((resolve) => setImmediate(resolve)) });
    }
    if (total) log.info({ resealed: total, version: ctx.keys.current }, `re-sealed ${total} secret(s) under key version ${ctx.keys.current}`);
  };
  const tick = async () => {
    if (running) return running;
    running = round()
      .catch((e) => log.warn({ code: (e as { code?: string }).code ?? 'INTERNAL_ERROR' }, `key ring heartbeat failed; tried again at the next one: ${(e as Error).message}`))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), opts.heartbeatMs);
  timer.unref();
  void tick();
  return {
    tick,
    async stop() {
      stopped = true;
      thread?.postMessage('stop');
      clearInterval(timer);
      await running;
      await holder.stop().catch(() => undefined);
    },
  };
}
