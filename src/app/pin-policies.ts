import { AppError } from '../core/errors.ts';
import { applyPolicyPatch, DEFAULT_PIN_POLICY, policyIdentity, type PinPolicy } from '../core/pin-policy.ts';
import type { PinPoliciesTable, UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';

function toPolicy(r: PinPoliciesTable): PinPolicy {
  return {
    Identity: r.identity,
    Description: r.description,
    MinPasswordLength: r.min_password_length,
    PINHistoryCount: r.pin_history_count,
    PINLifetime: r.pin_lifetime,
    AllowCommonPatterns: r.allow_common_patterns === 1,
    MaximumLogonAttempts: r.maximum_logon_attempts,
  };
}

function toRow(tenantId: string, p: PinPolicy): PinPoliciesTable {
  return {
    tenant_id: tenantId,
    identity: p.Identity,
    description: p.Description,
    min_password_length: p.MinPasswordLength,
    pin_history_count: p.PINHistoryCount,
    pin_lifetime: p.PINLifetime,
    allow_common_patterns: p.AllowCommonPatterns ? 1 : 0,
    maximum_logon_attempts: p.MaximumLogonAttempts,
  };
}

const globalDefault = (): PinPolicy => ({ Identity: 'Global', ...DEFAULT_PIN_POLICY });

async function readPolicy(trx: Trx, tenantId: string, identity: string): Promise<PinPolicy | null> {
  const r = await trx.selectFrom('pin_policies').selectAll().where('tenant_id', '=', tenantId).where('identity', '=', identity).executeTakeFirst();
  if (r) return toPolicy(r);
  return identity === 'Global' ? globalDefault() : null;
}

/**
 * Every policy of the tenant in one read, for a batch of users: `policyOf(user)` then answers as
 * `policyForUser` would, without a query per user (a tenant has a handful of policies).
 */
export async function tenantPolicies(trx: Trx, tenantId: string): Promise<(user: Pick<UsersTable, 'pin_policy'>) => PinPolicy> {
  const rows = await trx.selectFrom('pin_policies').selectAll().where('tenant_id', '=', tenantId).execute();
  const byIdentity = new Map(rows.map((r) => [r.identity, toPolicy(r)]));
  const global = byIdentity.get('Global') ?? globalDefault();
  return (user) => (user.pin_policy ? byIdentity.get(user.pin_policy) : undefined) ?? global;
}

/** The policy that governs a user's PIN: the one granted to the user, else the global one. */
export async function policyForUser(trx: Trx, tenantId: string, user: Pick<UsersTable, 'pin_policy'>): Promise<PinPolicy> {
  // One statement of one shape whatever the user has (granted policy or not, stored or not), so
  // the bridge's PIN check runs the same queries for a real conference ID as for a decoy.
  const rows = await trx.selectFrom('pin_policies').selectAll().where('tenant_id', '=', tenantId).where('identity', 'in', [user.pin_policy ?? 'Global', 'Global']).execute();
  const granted = user.pin_policy ? rows.find((r) => r.identity === user.pin_policy) : undefined;
  const global = rows.find((r) => r.identity === 'Global');
  return granted ? toPolicy(granted) : global ? toPolicy(global) : globalDefault();
}

export async function getPinPolicies(s: TenantScope, opts: { identity?: string | null; filter?: string | null }): Promise<PinPolicy[]> {
  const trx = s.db.kysely;
  if (opts.identity) {
    const id = policyIdentity(opts.identity);
    const p = await readPolicy(trx, s.tenant.id, id);
    if (!p) throw new AppError('PIN_POLICY_NOT_FOUND', `No PIN policy has the identity "${id}".`, { field: 'Identity' });
    return [p];
  }
  const rows = (await trx.selectFrom('pin_policies').selectAll().where('tenant_id', '=', s.tenant.id).orderBy('identity').execute()).map(toPolicy);
  const all = rows.some((p) => p.Identity === 'Global') ? rows : [globalDefault(), ...rows];
  if (!opts.filter) return all;
  const re = new RegExp(`^${opts.filter.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return all.filter((p) => re.test(p.Identity));
}

export async function newPinPolicy(s: TenantScope, identity: string, patch: Partial<PinPolicy>): Promise<PinPolicy> {
  const id = policyIdentity(identity);
  if (id === 'Global') throw new AppError('PIN_POLICY_EXISTS', 'The global PIN policy always exists; change it with Set-CsPinPolicy.', { field: 'Identity' });
  const policy = applyPolicyPatch({ Identity: id, ...DEFAULT_PIN_POLICY }, patch);
  return s.db.kysely.transaction().execute(async (trx) => {
    if (await readPolicy(trx, s.tenant.id, id)) throw new AppError('PIN_POLICY_EXISTS', `A PIN policy "${id}" already exists.`, { field: 'Identity' });
    await trx.insertInto('pin_policies').values(toRow(s.tenant.id, policy)).execute();
    await audit(trx, s, 'pinpolicy.new', { label: id }, { ...policy });
    return policy;
  });
}

export async function setPinPolicy(s: TenantScope, identity: string | null, patch: Partial<PinPolicy>): Promise<PinPolicy> {
  const id = policyIdentity(identity);
  return s.db.kysely.transaction().execute(async (trx) => {
    const current = await readPolicy(trx, s.tenant.id, id);
    if (!current) throw new AppError('PIN_POLICY_NOT_FOUND', `No PIN policy has the identity "${id}"; create it with New-CsPinPolicy.`, { field: 'Identity' });
    const next = applyPolicyPatch(current, patch);
    await trx.insertInto('pin_policies').values(toRow(s.tenant.id, next)).onConflict((oc) => oc.columns(['tenant_id', 'identity']).doUpdateSet(toRow(s.tenant.id, next))).execute();
    await audit(trx, s, 'pinpolicy.set', { label: id }, { ...patch });
    return next;
  });
}

/** Removes a policy; removing the global one restores its defaults. Users granted it fall back to global. */
export async function removePinPolicy(s: TenantScope, identity: string): Promise<void> {
  const id = policyIdentity(identity);
  await s.db.kysely.transaction().execute(async (trx) => {
    if (!(await readPolicy(trx, s.tenant.id, id))) throw new AppError('PIN_POLICY_NOT_FOUND', `No PIN policy has the identity "${id}".`, { field: 'Identity' });
    await trx.deleteFrom('pin_policies').where('tenant_id', '=', s.tenant.id).where('identity', '=', id).execute();
    if (id !== 'Global') await trx.updateTable('users').set({ pin_policy: null }).where('tenant_id', '=', s.tenant.id).where('pin_policy', '=', id).execute();
    await audit(trx, s, 'pinpolicy.remove', { label: id });
  });
}

/** Grants a per-user (tag) policy to a user; a null name returns the user to the global policy. */
export async function grantPinPolicy(trx: Trx, s: TenantScope, user: UsersTable, policyName: string | null): Promise<void> {
  let id: string | null = null;
  if (policyName) {
    id = policyIdentity(policyName);
    if (!id.startsWith('tag:')) throw new AppError('PIN_POLICY_INVALID', 'Only per-user (tag:) policies can be granted to users.', { field: 'PolicyName' });
    if (!(await readPolicy(trx, s.tenant.id, id))) throw new AppError('PIN_POLICY_NOT_FOUND', `No PIN policy has the identity "${id}".`, { field: 'PolicyName' });
  }
  await trx.updateTable('users').set({ pin_policy: id, updated_at: s.now() }).where('id', '=', user.id).execute();
  await audit(trx, s, 'pinpolicy.grant', { userId: user.id, label: user.sip }, { policy: id ?? 'Global' });
}
