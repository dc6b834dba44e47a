import { applySettingsPatch, DEFAULT_TENANT_SETTINGS, type TenantSettings } from '../core/tenant-settings.ts';
import { audit } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';

/** The tenant's settings: stored overrides on top of the defaults. */
export async function readSettings(trx: Trx, tenantId: string): Promise<TenantSettings> {
  const row = await trx.selectFrom('tenant_settings').select('settings').where('tenant_id', '=', tenantId).executeTakeFirst();
  return { ...DEFAULT_TENANT_SETTINGS, ...(row ? (JSON.parse(row.settings) as Partial<TenantSettings>) : {}) };
}

export async function getTenantSettings(s: TenantScope): Promise<TenantSettings & { Identity: string }> {
  return { Identity: 'Global', ...(await readSettings(s.db.kysely, s.tenant.id)) };
}

export async function setTenantSettings(s: TenantScope, patch: Partial<TenantSettings>): Promise<TenantSettings & { Identity: string }> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const current = await readSettings(trx, s.tenant.id);
    const next = applySettingsPatch(current, patch);
    const overrides: Partial<TenantSettings> = {};
    for (const k of Object.keys(next) as (keyof TenantSettings)[]) {
      if (next[k] !== DEFAULT_TENANT_SETTINGS[k]) (overrides as Record<string, unknown>)[k] = next[k];
    }
    await trx
      .insertInto('tenant_settings')
      .values({ tenant_id: s.tenant.id, settings: JSON.stringify(overrides), updated_at: s.now() })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ settings: JSON.stringify(overrides), updated_at: s.now() }))
      .execute();
    const changed = (Object.keys(next) as (keyof TenantSettings)[]).filter((k) => next[k] !== current[k]);
    await audit(trx, s, 'tenant.settings.set', { label: 'Global' }, Object.fromEntries(changed.map((k) => [k, next[k]])));
    return { Identity: 'Global', ...next };
  });
}

export async function removeTenantSettings(s: TenantScope): Promise<TenantSettings & { Identity: string }> {
  return s.db.kysely.transaction().execute(async (trx) => {
    await trx.deleteFrom('tenant_settings').where('tenant_id', '=', s.tenant.id).execute();
    await audit(trx, s, 'tenant.settings.reset', { label: 'Global' });
    return { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS };
  });
}
