import { sql } from 'kysely';
import type { AppContext, TenantScope } from './context.ts';
import { scopeOf } from './tenants.ts';

/** The four lines of the delivery charts, and which outbox statuses each one counts. */
export const DELIVERY_SERIES = ['sent', 'failed', 'bounced', 'queued'] as const;
export type DeliverySeries = (typeof DELIVERY_SERIES)[number];
const SERIES_OF: Readonly<Record<string, DeliverySeries>> = { sent: 'sent', delayed: 'sent', complained: 'sent', failed: 'failed', expired: 'failed', bounced: 'bounced', queued: 'queued', sending: 'queued' };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface Bucket {
  /** Start of the hour or day, epoch ms (UTC). */
  start: number;
  counts: Record<DeliverySeries, number>;
}

export interface Dashboard {
  now: number;
  /** The last 24 hours, one bucket an hour, oldest first. */
  hours: Bucket[];
  /** The last 30 days, one bucket a day, oldest first. */
  days: Bucket[];
  /** When the days before today and the enabled users were counted (they may come from the cache); today's mail is counted now. */
  daysAsOf: number;
  /** Users with dial-in on at the end of each of the last 30 days (today last). */
  enabled: { start: number; count: number }[];
  pinLockedNow: number;
  pinLockouts30d: number;
  directories: { name: string; lastRunAt: number | null; status: string | null; error: string | null; intervalMs: number }[];
}

/** The outbox statuses the charts count (superseded and the like are left out). */
const COUNTED = Object.keys(SERIES_OF);

/**
 * Mail created in each of `n` periods of `size` ms from `first`, by where it is now (sent, failed,
 * bounced, queued). One statement of small counts, one per period and status, each a range of the
 * (tenant, status, created_at) index (0022): counting a range walks index entries only, where a
 * GROUP BY over the bucket sorted every row of the month (three times slower at a million).
 */
async function delivery(s: TenantScope, size: number, first: number, n: number): Promise<Bucket[]> {
  const periods = sql.join(Array.from({ length: n }, (_, i) => sql`(${sql.lit(i)}, ${sql.lit((first + i) * size)}, ${sql.lit((first + i + 1) * size)})`));
  const statuses = sql.join(COUNTED.map((st) => sql`(${sql.lit(st)})`));
  const { rows } = await sql<{ i: number; status: string; n: number | string }>`with p(i, lo, hi) as (values ${periods}), st(status) as (values ${statuses})
select p.i as i, st.status as status, (select count(*) from outbox o where o.tenant_id = ${s.tenant.id} and o.status = st.status and o.created_at >= p.lo and o.created_at < p.hi) as n
from p cross join st`.execute(s.db.kysely);
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: (first + i) * size, counts: { sent: 0, failed: 0, bounced: 0, queued: 0 } }));
  for (const r of rows) {
    const series = SERIES_OF[r.status];
    const b = out[Number(r.i)];
    if (series && b) b.counts[series] += Number(r.n);
  }
  return out;
}

/**
 * The slow half of the dashboard, kept per tenant: the days before today of the 30-day chart (at a
 * million outbox rows most of the work; they change only when an older mail changes status — a
 * retry, a late bounce, an expiry) and the enabled users (a count over every user). No request
 * pays for counting them again: past a minute the kept figures are served and counted afresh in
 * the background (stale-while-revalidate, one refresh per tenant at a time, a day per statement
 * with a yield between, so on SQLite — synchronous — other requests wait one day's count at
 * most); at midnight the day that ended is counted alone (one day's index range) and added. The
 * page says as of when. Only a tenant with nothing kept (before the warm-up that serve starts
 * with has counted it) waits, and all its requests share one count. Today's mail is always
 * counted fresh, from the hours. One cache per app.
 */
export interface DashboardCache {
  readonly ttlMs: number;
  readonly slow: Map<string, Slow>;
  /** The count under way for a tenant, if any. */
  readonly pending: Map<string, Promise<Slow>>;
  /** Set when the app closes: a background count stops at its next step. */
  closed: boolean;
  /** Where a background count's failure is told (the figures kept stay, the next request tries again). */
  onError?: (err: unknown) => void;
}

export interface Slow {
  today: number;
  at: number;
  days: Bucket[];
  enabled: { start: number; count: number }[];
}

export function dashboardCache(ttlMs = 60_000): DashboardCache {
  return { ttlMs, slow: new Map(), pending: new Map(), closed: false };
}

/** How many missed days are counted on the spot at a day change before a whole recount is due instead. */
const MAX_DAYS_FILLED = 7;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

class Closed extends Error {}

/** Counts the slow half now; in the background a day per statement, yielding between. */
async function countSlow(s: TenantScope, cache: DashboardCache | null, background: boolean): Promise<Slow> {
  const now = s.now();
  const today = Math.floor(now / DAY_MS);
  if (!background) {
    const [days, enabled] = await Promise.all([delivery(s, DAY_MS, today - 29, 29), enabledOverTime(s, now)]);
    return { today, at: now, days, enabled };
  }
  const days: Bucket[] = [];
  for (let d = today - 29; d < today; d++) {
    await breathe();
    if (cache?.closed) throw new Closed();
    days.push(...(await delivery(s, DAY_MS, d, 1)));
  }
  await breathe();
  if (cache?.closed) throw new Closed();
  return { today, at: now, days, enabled: await enabledOverTime(s, now) };
}

/** Starts (or joins) the count of a tenant's slow half; its result is kept. */
export function refreshDashboard(s: TenantScope, cache: DashboardCache, background = true): Promise<Slow> {
  const running = cache.pending.get(s.tenant.id);
  if (running) return running;
  const p = (async () => {
    // In the background the answer that found the figures stale goes out first.
    if (background) await breathe();
    const fresh = await countSlow(s, cache, background);
    const kept = cache.slow.get(s.tenant.id);
    if (!cache.closed && (!kept || kept.at <= fresh.at)) cache.slow.set(s.tenant.id, fresh);
    return fresh;
  })().finally(() => cache.pending.delete(s.tenant.id));
  cache.pending.set(s.tenant.id, p);
  return p;
}

/** Counts every tenant's slow half in the background, one after the other (serve's start), so the first requests find it. */
export async function warmDashboards(ctx: AppContext, cache: DashboardCache): Promise<void> {
  await breathe();
  if (cache.closed) return;
  for (const tenant of await ctx.db.kysely.selectFrom('tenants').selectAll().orderBy('created_at').execute()) {
    if (cache.closed) return;
    await refreshDashboard(scopeOf(ctx, tenant), cache).catch((err: unknown) => {
      if (!(err instanceof Closed)) cache.onError?.(err);
    });
  }
}

/** Kept figures of an earlier day moved to today's window: the days that ended since are counted (one day each). */
async function shifted(s: TenantScope, kept: Slow, today: number): Promise<Slow> {
  const first = today - 29;
  const days = kept.days.filter((b) => b.start >= first * DAY_MS);
  if (today > kept.today) days.push(...(await delivery(s, DAY_MS, kept.today, today - kept.today)));
  const enabled = kept.enabled.filter((p) => p.start >= first * DAY_MS);
  const last = kept.enabled[kept.enabled.length - 1]?.count ?? 0;
  for (let d = kept.today + 1; d <= today; d++) enabled.push({ start: d * DAY_MS, count: last });
  return { today, at: kept.at, days, enabled };
}

async function slowHalf(s: TenantScope, today: number, now: number, cache: DashboardCache | null): Promise<Slow> {
  if (!cache) return countSlow(s, null, false);
  const kept = cache.slow.get(s.tenant.id);
  // A clock that went back, or figures too many days old: nothing usable is kept.
  if (!kept || now < kept.at || today < kept.today || today - kept.today > MAX_DAYS_FILLED) {
    const running = cache.pending.get(s.tenant.id);
    return running ? running.catch(() => refreshDashboard(s, cache, false)) : refreshDashboard(s, cache, false);
  }
  if (kept.today === today && now - kept.at < cache.ttlMs) return kept;
  void refreshDashboard(s, cache).catch((err: unknown) => {
    if (!(err instanceof Closed)) cache.onError?.(err);
  });
  if (kept.today === today) return kept;
  const moved = await shifted(s, kept, today);
  // Kept as it is (still stale): the refresh under way replaces it.
  if (!cache.slow.get(s.tenant.id) || cache.slow.get(s.tenant.id) === kept) cache.slow.set(s.tenant.id, moved);
  return moved;
}

/** Enabled users day by day: today's count, walked back through the audit log's enables and disables of each day. */
async function enabledOverTime(s: TenantScope, now: number): Promise<{ start: number; count: number }[]> {
  const today = Math.floor(now / DAY_MS);
  const first = today - 29;
  const current = Number(
    (await s.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', s.tenant.id).where('dialin_enabled', '=', 1).where('provider', '=', 'Microsoft').executeTakeFirstOrThrow()).n,
  );
  const bucket = sql<number>`audit.at / ${sql.lit(DAY_MS)}`;
  const changes = await s.db.kysely
    .selectFrom('audit')
    .select([bucket.as('b'), 'action', (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', s.tenant.id)
    .where('at', '>=', (first + 1) * DAY_MS)
    .where('action', 'in', ['user.enable', 'user.disable'])
    .groupBy([bucket, 'action'])
    .execute();
  const net = new Map<number, number>();
  for (const c of changes) net.set(Number(c.b), (net.get(Number(c.b)) ?? 0) + (c.action === 'user.enable' ? 1 : -1) * Number(c.n));
  const out: { start: number; count: number }[] = [];
  let count = current;
  for (let d = today; d >= first; d--) {
    out.push({ start: d * DAY_MS, count: Math.max(0, count) });
    count -= net.get(d) ?? 0;
  }
  return out.reverse();
}

/** What the admin center's home shows at a glance: delivery, enabled users, PIN lockouts, directory syncs. */
export async function dashboard(s: TenantScope, cache: DashboardCache | null = null): Promise<Dashboard> {
  const now = s.now();
  const k = s.db.kysely;
  const today = Math.floor(now / DAY_MS);
  const [hours, slow, locked, lockouts, connections] = await Promise.all([
    delivery(s, HOUR_MS, Math.floor(now / HOUR_MS) - 23, 24),
    slowHalf(s, today, now, cache),
    k.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', s.tenant.id).where((eb) => eb.or([eb('pin_locked', '=', 1), eb('pin_locked_until', '>', now)])).executeTakeFirstOrThrow(),
    k.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', s.tenant.id).where('at', '>=', now - 30 * DAY_MS).where('action', '=', 'pin.lockout').executeTakeFirstOrThrow(),
    k.selectFrom('directory_connections').select(['id', 'name', 'interval_ms']).where('tenant_id', '=', s.tenant.id).orderBy('name').execute(),
  ]);
  const directories = await Promise.all(
    connections.map(async (c) => {
      const run = await k.selectFrom('directory_sync_runs').select(['started_at', 'status', 'error_code', 'error']).where('connection_id', '=', c.id).orderBy('started_at', 'desc').limit(1).executeTakeFirst();
      return { name: c.name, lastRunAt: run ? Number(run.started_at) : null, status: run?.status ?? null, error: run?.error_code ? `${run.error_code}: ${run.error ?? ''}` : null, intervalMs: Number(c.interval_ms) };
    }),
  );
  // The last 24 hours hold all of today: today's bar is the sum of its hours.
  const todayBar: Bucket = { start: today * DAY_MS, counts: { sent: 0, failed: 0, bounced: 0, queued: 0 } };
  for (const h of hours) if (h.start >= todayBar.start) for (const k of DELIVERY_SERIES) todayBar.counts[k] += h.counts[k];
  return { now, hours, days: [...slow.days, todayBar], daysAsOf: slow.at, enabled: slow.enabled, pinLockedNow: Number(locked.n), pinLockouts30d: Number(lockouts.n), directories };
}
