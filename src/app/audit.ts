import type { AuditTable } from '../adapters/db/schema.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * One audit record: who did what to whom, and when. `details` must never hold a secret; the
 * callers pass only names of changed fields and non-secret values.
 */
export function auditRow(
  s: TenantScope,
  action: string,
  target: { userId?: string | null; label?: string | null },
  details: Record<string, unknown> = {},
): AuditTable {
  return {
    id: s.newId(),
    tenant_id: s.tenant.id,
    at: s.now(),
    actor: s.actor,
    action,
    target_user_id: target.userId ?? null,
    target: target.label ?? null,
    details: JSON.stringify(details),
  };
}

export async function audit(trx: Trx, s: TenantScope, action: string, target: { userId?: string | null; label?: string | null }, details: Record<string, unknown> = {}): Promise<void> {
  await trx.insertInto('audit').values(auditRow(s, action, target, details)).execute();
}

export async function insertAuditRows(trx: Trx, rows: AuditTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('audit').values(rows.slice(i, i + 500)).execute();
}

export interface AuditEntry {
  At: string;
  Actor: string;
  Action: string;
  Target: string | null;
  Details: Record<string, unknown>;
}

export async function listAudit(s: TenantScope, opts: { limit: number; userId?: string }): Promise<AuditEntry[]> {
  let q = s.db.kysely.selectFrom('audit').selectAll().where('tenant_id', '=', s.tenant.id);
  if (opts.userId) q = q.where('target_user_id', '=', opts.userId);
  const rows = await q.orderBy('at', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({ At: new Date(r.at).toISOString(), Actor: r.actor, Action: r.action, Target: r.target, Details: JSON.parse(r.details) }));
}
