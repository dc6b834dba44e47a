import type { Logger } from 'pino';
import { isAppError } from '../core/errors.ts';
import type { AppContext } from '../app/context.ts';
import { scopeOf } from '../app/tenants.ts';
import { syncDirectory } from '../app/directory-sync.ts';

/**
 * The directory syncs of `dialin serve` and `dialin worker`: every tick, each connection (of any
 * tenant) whose last run is older than its --interval is synced, one after the other. Several
 * processes may run this at once: the lease row of each connection lets one of them sync it.
 */
export interface DirectoryScheduler {
  stop(): Promise<void>;
  /** Runs one round now (tests). */
  tick(): Promise<void>;
}

export function startDirectoryScheduler(opts: { ctx: AppContext; log: Logger; tickMs?: number }): DirectoryScheduler {
  const ctx: AppContext = { ...opts.ctx, actor: 'directory-sync' };
  const tickMs = opts.tickMs ?? 30_000;
  let stopped = false;
  let running: Promise<void> | null = null;

  const round = async () => {
    const now = ctx.now();
    const conns = await ctx.db.kysely.selectFrom('directory_connections').innerJoin('tenants', 'tenants.id', 'directory_connections.tenant_id').selectAll('directory_connections').select(['tenants.name as tenant_name', 'tenants.domain as tenant_domain', 'tenants.created_at as tenant_created_at']).orderBy('directory_connections.id').execute();
    for (const c of conns) {
      if (stopped) return;
      const last = await ctx.db.kysely.selectFrom('directory_sync_runs').select('started_at').where('connection_id', '=', c.id).where('status', '!=', 'dry-run').orderBy('started_at', 'desc').limit(1).executeTakeFirst();
      if (last && Number(last.started_at) + Number(c.interval_ms) > now) continue;
      const s = scopeOf(ctx, { id: c.tenant_id, name: c.tenant_name, domain: c.tenant_domain, created_at: c.tenant_created_at });
      try {
        const r = await syncDirectory(s, c.name);
        const k = r.Counts;
        const line = `directory ${c.name}: ${r.Status} (${r.Mode}): create ${k.create}, adopt ${k.adopt}, update ${k.update}, enable ${k.enable}, disable ${k.disable}, skip ${k.skip}`;
        if (r.Status === 'held') opts.log.warn({ tenant: c.tenant_name, connection: c.name, disable: k.disable, limit: r.DisableLimit }, `${line}: HELD, more disables than the limit of ${r.DisableLimit}; run \`dialin directory sync ${c.name} --allow-mass-disable\` after checking`);
        else opts.log.info({ tenant: c.tenant_name, connection: c.name }, line);
      } catch (e) {
        if (isAppError(e) && e.code === 'DIRECTORY_SYNC_BUSY') continue; // another process has it
        opts.log.warn({ tenant: c.tenant_name, connection: c.name, code: isAppError(e) ? e.code : 'INTERNAL_ERROR' }, `directory ${c.name}: sync failed, nothing applied; tried again at the next interval: ${(e as Error).message}`);
      }
    }
  };
  const tick = async () => {
    if (running) return running;
    running = round()
      .catch((e) => opts.log.error({ err: (e as Error).message }, 'Directory sync round failed (is the database reachable?); trying again at the next tick.'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();
  // The first round soon after start, not a whole tick later.
  const first = setTimeout(() => void tick(), Math.min(tickMs, 2_000));
  first.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      await running;
    },
  };
}
