import { sql } from 'kysely';
import type { TenantScope } from './context.ts';

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
  /** Users with dial-in on at the end of each of the last 30 days (today last). */
  enabled: { start: number; count: number }[];
  pinLockedNow: number;
  pinLockouts30d: number;
  directories: { name: string; lastRunAt: number | null; status: string | null; error: string | null; intervalMs: number }[];
}

/**
 * Mail created in each hour of the last 24 h and each day of the last 30, by where it is now
 * (sent, failed, bounced, queued); counted by the database from one index (0022), never the rows
 * brought over. The bucket is integer division of the time, the same on both dialects.
 */
async function delivery(s: TenantScope, size: number, n: number, now: number): Promise<Bucket[]> {
  const last = Math.floor(now / size);
  const first = last - n + 1;
  const bucket = sql<number>`outbox.created_at / ${sql.lit(size)}`;
  const rows = await s.db.kysely
    .selectFrom('outbox')
    .select([bucket.as('b'), 'status', (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', s.tenant.id)
    .where('created_at', '>=', first * size)
    .groupBy([bucket, 'status'])
    .execute();
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: (first + i) * size, counts: { sent: 0, failed: 0, bounced: 0, queued: 0 } }));
  for (const r of rows) {
    const i = Number(r.b) - first;
    const series = SERIES_OF[r.status];
    if (series && i >= 0 && i < n) out[i]!.counts[series] += Number(r.n);
  }
  return out;
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
export async function dashboard(s: TenantScope): Promise<Dashboard> {
  const now = s.now();
  const k = s.db.kysely;
  const [hours, days, enabled, locked, lockouts, connections] = await Promise.all([
    delivery(s, HOUR_MS, 24, now),
    delivery(s, DAY_MS, 30, now),
    enabledOverTime(s, now),
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
  return { now, hours, days, enabled, pinLockedNow: Number(locked.n), pinLockouts30d: Number(lockouts.n), directories };
}
