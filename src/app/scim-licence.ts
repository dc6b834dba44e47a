import { AppError } from '../core/errors.ts';
import { defaultMaxDisable } from '../core/directory-settings.ts';
import type { ScimConfigTable, UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { enableUsers } from './enable-users.ts';
import { disableUsers } from './disable-user.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * The dial-in licence of SCIM users: with `--licence-group NAME`, being an active member of the
 * SCIM group of that display name; with `--licence all-active`, being active. Applied in the
 * transaction of the SCIM write that changed it, through the same enable / disable use-cases as
 * the CLI and the directory sync (so the welcome and *turned off* mails follow the tenant switch).
 */
export type LicenceRule = 'none' | 'group' | 'all-active';

/** The guard's window: disables SCIM caused within it are counted together. */
export const GUARD_WINDOW_MS = 60 * 60 * 1000;
/** Small tenants may still lose this many licences an hour under the default guard. */
export const GUARD_FLOOR = 10;

const CHUNK = 500;

export async function readScimConfig(trx: Trx, tenantId: string): Promise<ScimConfigTable> {
  return (await trx.selectFrom('scim_config').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst()) ?? { tenant_id: tenantId, licence: 'none', licence_group: null, max_disable: null, updated_at: 0 };
}

export interface ScimConfigView {
  Licence: LicenceRule;
  LicenceGroup: string | null;
  MaxDisablePerHour: number | null;
}

export const configView = (c: ScimConfigTable): ScimConfigView => ({ Licence: c.licence as LicenceRule, LicenceGroup: c.licence_group, MaxDisablePerHour: c.max_disable });

/** `dialin scim configure`: sets the rule and applies it at once to every SCIM user (with the guard). */
export async function configureScim(s: TenantScope, o: { licenceGroup?: string | null; licence?: string | null; maxDisable?: number | null }): Promise<ScimConfigView & { Enabled: number; Disabled: number }> {
  if (o.licenceGroup && o.licence) throw new AppError('CONFLICTING_PARAMETERS', 'Give --licence-group NAME or --licence all-active|none, not both.', { field: 'licence' });
  const result = await s.db.kysely.transaction().execute(async (trx) => {
    const prev = await readScimConfig(trx, s.tenant.id);
    let licence = prev.licence as LicenceRule;
    let group = prev.licence_group;
    if (o.licenceGroup !== undefined && o.licenceGroup !== null) {
      const name = o.licenceGroup.trim();
      if (name === '' || name.length > 256 || /[\u0000-\u001f\u007f]/.test(name)) throw new AppError('INVALID_ARGUMENT', '--licence-group must be a group display name of 1 to 256 characters.', { field: 'licence-group' });
      licence = 'group';
      group = name;
    } else if (o.licence !== undefined && o.licence !== null) {
      const v = o.licence.trim().toLowerCase();
      if (v !== 'all-active' && v !== 'none') throw new AppError('INVALID_ARGUMENT', '--licence must be all-active or none.', { field: 'licence' });
      licence = v;
      group = null;
    }
    let maxDisable = prev.max_disable;
    if (o.maxDisable !== undefined) {
      if (o.maxDisable !== null && (!Number.isInteger(o.maxDisable) || o.maxDisable < 0)) throw new AppError('INVALID_ARGUMENT', '--max-disable must be a whole number, 0 or more.', { field: 'max-disable' });
      maxDisable = o.maxDisable;
    }
    const row: ScimConfigTable = { tenant_id: s.tenant.id, licence, licence_group: group, max_disable: maxDisable, updated_at: s.now() };
    await trx.insertInto('scim_config').values(row).onConflict((oc) => oc.column('tenant_id').doUpdateSet({ licence, licence_group: group, max_disable: maxDisable, updated_at: row.updated_at })).execute();
    await audit(trx, s, 'scim.configure', {}, { licence, licenceGroup: group, maxDisable });
    const ids = (await trx.selectFrom('users').select('id').where('tenant_id', '=', s.tenant.id).where('source', '=', 'scim').execute()).map((r) => r.id);
    const applied = await applyScimLicence(trx, s, ids);
    return { ...configView(row), Enabled: applied.enabled, Disabled: applied.disabled };
  });
  if (result.Enabled || result.Disabled) s.onMailQueued?.();
  return result;
}

/** The users (of those given) whose licence the rule says differs from their dial-in state. */
async function licenceChanges(trx: Trx, s: TenantScope, c: ScimConfigTable, userIds: readonly string[]): Promise<{ enable: UsersTable[]; disable: UsersTable[] }> {
  const enable: UsersTable[] = [];
  const disable: UsersTable[] = [];
  const groupIds = c.licence === 'group' && c.licence_group ? (await trx.selectFrom('scim_groups').select('id').where('tenant_id', '=', s.tenant.id).where('display_name_key', '=', c.licence_group.toLowerCase()).execute()).map((g) => g.id) : [];
  const ids = [...new Set(userIds)];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const users = await trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('id', 'in', part).execute();
    const members = new Set<string>();
    if (groupIds.length) for (const m of await trx.selectFrom('scim_group_members').select('user_id').where('group_id', 'in', groupIds).where('user_id', 'in', part).execute()) members.add(m.user_id);
    for (const u of users) {
      const licensed = u.source === 'scim' && u.scim_active === 1 && (c.licence === 'all-active' || members.has(u.id));
      const enabled = u.provider === 'Microsoft' && u.dialin_enabled === 1;
      if (licensed && !enabled && u.provider !== 'ThirdParty') enable.push(u);
      // A user SCIM let go of (DELETE) is passed with source no longer 'scim': dial-in goes too.
      if (!licensed && enabled) disable.push(u);
    }
  }
  return { enable, disable };
}

/**
 * Enables and disables the given users as the tenant's rule says, inside the caller's transaction.
 * Refuses (SCIM_MASS_DISABLE_HELD, so the whole SCIM write rolls back) when the disables of the
 * last hour plus these would pass the guard. `force` is for a user DELETE already decided.
 */
export async function applyScimLicence(trx: Trx, s: TenantScope, userIds: readonly string[]): Promise<{ enabled: number; disabled: number }> {
  const c = await readScimConfig(trx, s.tenant.id);
  if (c.licence === 'none' || userIds.length === 0) return { enabled: 0, disabled: 0 };
  const { enable, disable } = await licenceChanges(trx, s, c, userIds);
  if (disable.length) {
    const now = s.now();
    const recent = Number((await trx.selectFrom('scim_disables').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', s.tenant.id).where('at', '>', now - GUARD_WINDOW_MS).executeTakeFirstOrThrow()).n);
    const licensed = Number((await trx.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', s.tenant.id).where('source', '=', 'scim').where('provider', '=', 'Microsoft').where('dialin_enabled', '=', 1).executeTakeFirstOrThrow()).n);
    const limit = c.max_disable ?? Math.max(GUARD_FLOOR, defaultMaxDisable(licensed));
    if (recent + disable.length > limit) {
      throw new AppError('SCIM_MASS_DISABLE_HELD', `This change would turn dial-in off for ${disable.length} user(s), ${recent + disable.length} within an hour, more than the guard's ${limit}; nothing was changed. If it is intended, raise the limit with \`dialin scim configure --max-disable N\` and let the identity provider retry.`, { field: 'members', details: { disable: disable.length, recent, limit } });
    }
    for (let i = 0; i < disable.length; i += CHUNK) {
      const part = disable.slice(i, i + CHUNK);
      await disableUsers(s, {})(trx, part.map((u) => ({ input: u.sip, user: u })));
      await trx.insertInto('scim_disables').values(part.map((u) => ({ tenant_id: s.tenant.id, user_id: u.id, at: now }))).execute();
    }
  }
  const enabler = enableUsers(s, { bridge: {} });
  for (let i = 0; i < enable.length; i += CHUNK) {
    const results = await enabler(trx, enable.slice(i, i + CHUNK).map((u) => ({ input: u.sip, user: u })));
    const refused = results.find((r) => r.outcome === 'skipped');
    if (refused?.error) throw refused.error;
  }
  return { enabled: enable.length, disabled: disable.length };
}
