import { AppError } from '../core/errors.ts';
import type { AppContext, TenantScope } from './context.ts';
import type { TenantsTable } from '../adapters/db/schema.ts';

export const DEFAULT_TENANT = 'default';

/** Finds a tenant by name or id; `null` means the default tenant, created on first use. */
export async function resolveTenant(ctx: AppContext, nameOrId: string | null | undefined): Promise<TenantsTable> {
  const key = (nameOrId ?? '').trim();
  if (key === '' || key.toLowerCase() === DEFAULT_TENANT) return ensureDefaultTenant(ctx);
  const row = await ctx.db.kysely
    .selectFrom('tenants')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', key.toLowerCase()), eb('name', '=', key)]))
    .executeTakeFirst();
  if (!row) throw new AppError('TENANT_NOT_FOUND', `No tenant is named or has the id "${key}"; list them with \`dialin tenant list\`.`, { field: 'Tenant' });
  return row;
}

export async function ensureDefaultTenant(ctx: AppContext): Promise<TenantsTable> {
  const found = await ctx.db.kysely.selectFrom('tenants').selectAll().where('name', '=', DEFAULT_TENANT).executeTakeFirst();
  if (found) return found;
  const row: TenantsTable = { id: ctx.newId(), name: DEFAULT_TENANT, domain: null, created_at: ctx.now() };
  await ctx.db.kysely.insertInto('tenants').values(row).onConflict((oc) => oc.column('name').doNothing()).execute();
  return (await ctx.db.kysely.selectFrom('tenants').selectAll().where('name', '=', DEFAULT_TENANT).executeTakeFirstOrThrow());
}

export async function addTenant(ctx: AppContext, name: string, domain: string | null): Promise<TenantsTable> {
  const n = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(n)) {
    throw new AppError('INVALID_ARGUMENT', 'Tenant name must be 1-63 letters, digits, dots, dashes or underscores.', { field: 'Name' });
  }
  if (domain !== null && !/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/i.test(domain)) {
    throw new AppError('INVALID_ARGUMENT', `Domain "${domain}" is not a domain name such as contoso.com.`, { field: 'Domain' });
  }
  return ctx.db.kysely.transaction().execute(async (trx) => {
    const exists = await trx.selectFrom('tenants').select('id').where('name', '=', n).executeTakeFirst();
    if (exists) throw new AppError('TENANT_EXISTS', `A tenant named "${n}" already exists.`, { field: 'Name' });
    const row: TenantsTable = { id: ctx.newId(), name: n, domain: domain?.toLowerCase() ?? null, created_at: ctx.now() };
    await trx.insertInto('tenants').values(row).execute();
    await trx
      .insertInto('audit')
      .values({ id: ctx.newId(), tenant_id: row.id, at: ctx.now(), actor: ctx.actor, action: 'tenant.add', target_user_id: null, target: n, details: JSON.stringify({ domain: row.domain }) })
      .execute();
    return row;
  });
}

export async function listTenants(ctx: AppContext): Promise<TenantsTable[]> {
  await ensureDefaultTenant(ctx);
  return ctx.db.kysely.selectFrom('tenants').selectAll().orderBy('created_at').execute();
}

export function scopeOf(ctx: AppContext, tenant: TenantsTable): TenantScope {
  return { ...ctx, tenant };
}
