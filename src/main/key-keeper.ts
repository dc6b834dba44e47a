import os from 'node:os';
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { AppContext } from '../app/context.ts';
import { holdersLacking, keyHolder, resealBatch, type ResealCursor } from '../app/key-ring.ts';

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

export function startKeyKeeper(opts: { ctx: AppContext; role: string; log: Logger; heartbeatMs: number; batch?: number }): KeyKeeper {
  const { ctx, log } = opts;
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
    let cursor: ResealCursor = { table: 0, after: '' };
    let total = 0;
    while (!stopped) {
      const r = await resealBatch(ctx.db, ctx.keys, cursor, opts.batch);
      if (r.done) break;
      total += r.resealed;
      cursor = r.cursor;
      await new Promise((resolve) => setImmediate(resolve));
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
      clearInterval(timer);
      await running;
      await holder.stop().catch(() => undefined);
    },
  };
}
