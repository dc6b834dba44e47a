import { AppError } from '../core/errors.ts';
import type { ApiTokensTable, TenantsTable } from '../adapters/db/schema.ts';
import { newToken, tokenDigest } from '../adapters/crypto/secrets.ts';
import { audit } from './audit.ts';
import type { AppContext, TenantScope } from './context.ts';

/** admin: everything in its tenant; helpdesk: look up users, reset PIN / conference ID, send conference info; bridge: the PIN check only; scim: /scim/v2 only (an identity provider). */
export const TOKEN_ROLES = ['admin', 'helpdesk', 'bridge', 'scim'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** API tokens start with this, so a leaked one is easy to recognise in a log or a repository. */
export const TOKEN_PREFIX = 'dlt_';

/** Last-use time is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

export interface ApiTokenView {
  Identity: string;
  Name: string;
  Role: string;
  CreatedBy: string;
  CreatedAt: string;
  LastUsedAt: string | null;
  RevokedAt: string | null;
}

function view(r: ApiTokensTable): ApiTokenView {
  return {
    Identity: r.id,
    Name: r.name,
    Role: r.role,
    CreatedBy: r.created_by,
    CreatedAt: new Date(r.created_at).toISOString(),
    LastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
    RevokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  };
}

export function toTokenRole(v: string | null | undefined): TokenRole {
  const r = TOKEN_ROLES.find((x) => x === String(v ?? '').toLowerCase());
  if (!r) throw new AppError('INVALID_ARGUMENT', `Role must be one of ${TOKEN_ROLES.join(', ')}.`, { field: 'Role' });
  return r;
}

/** Creates a token: the secret is returned once and only its SHA-256 digest is kept. */
export async function createApiToken(s: TenantScope, input: { role: TokenRole; name: string | null }): Promise<{ token: string; view: ApiTokenView }> {
  const name = (input.name ?? `${input.role} token`).trim();
  if (name === '' || name.length > 128 || /[\u0000-\u001f\u007f]/.test(name)) throw new AppError('INVALID_ARGUMENT', 'Name must be 1 to 128 characters with no control characters.', { field: 'Name' });
  const token = newToken(TOKEN_PREFIX);
  const row: ApiTokensTable = { id: s.newId(), tenant_id: s.tenant.id, name, role: input.role, token_hash: tokenDigest(token), created_by: s.actor, created_at: s.now(), last_used_at: null, revoked_at: null };
  await s.db.kysely.transaction().execute(async (trx) => {
    await trx.insertInto('api_tokens').values(row).execute();
    await audit(trx, s, 'token.create', { label: name }, { id: row.id, role: row.role });
  });
  return { token, view: view(row) };
}

export async function listApiTokens(s: TenantScope): Promise<ApiTokenView[]> {
  return (await s.db.kysely.selectFrom('api_tokens').selectAll().where('tenant_id', '=', s.tenant.id).orderBy('created_at').execute()).map(view);
}

/** Revokes a token of the tenant; it stops working at the next request. */
export async function revokeApiToken(s: TenantScope, id: string): Promise<ApiTokenView> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('api_tokens').selectAll().where('tenant_id', '=', s.tenant.id).where('id', '=', String(id).trim().toLowerCase()).executeTakeFirst();
    if (!row) throw new AppError('TOKEN_NOT_FOUND', `No API token of this tenant has the id ${id}; list them with \`dialin token list\`.`, { field: 'Identity' });
    if (row.revoked_at) return view(row);
    const now = s.now();
    await trx.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', row.id).execute();
    await audit(trx, s, 'token.revoke', { label: row.name }, { id: row.id });
    return view({ ...row, revoked_at: now });
  });
}

/** The live token and its tenant for a bearer value, or null (unknown, malformed or revoked). */
export async function authenticateApiToken(ctx: AppContext, bearer: string): Promise<{ token: ApiTokensTable; tenant: TenantsTable } | null> {
  if (!bearer.startsWith(TOKEN_PREFIX) || bearer.length > 100) return null;
  const row = await ctx.db.kysely.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenDigest(bearer)).executeTakeFirst();
  if (!row || row.revoked_at !== null) return null;
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', row.tenant_id).executeTakeFirstOrThrow();
  const now = ctx.now();
  if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
    await ctx.db.kysely.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return { token: row, tenant };
}
