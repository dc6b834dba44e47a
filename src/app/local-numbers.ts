import { AppError } from '../core/errors.ts';
import type { AccessNumber } from '../core/local-numbers.ts';
import { newToken } from '../adapters/crypto/secrets.ts';
import type { AppContext, Trx } from './context.ts';

/** A bridge's token: 32 random bytes, base64url (43 characters). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh token for a bridge's "Find a local number" page. */
export const newLocalNumbersToken = (): string => newToken();

/** The public "Find a local number" page of a bridge: next to the settings page, /numbers/<token>. */
export function localNumbersUrl(settingsUrl: string, token: string | null | undefined): string {
  return token ? new URL(`numbers/${token}`, settingsUrl).href : '';
}

/** What the public page shows: the bridge's name and its numbers. Nothing of any user. */
export interface LocalNumbers {
  bridgeName: string;
  numbers: AccessNumber[];
}

/**
 * The numbers behind a "Find a local number" link. A malformed token and an unknown (or
 * regenerated) one get the same answer, so the page tells nothing about which tokens exist.
 */
export async function findLocalNumbers(ctx: AppContext, token: string): Promise<LocalNumbers> {
  const t = String(token ?? '');
  const bridge = TOKEN.test(t) ? await ctx.db.kysely.selectFrom('bridges').select(['id', 'tenant_id', 'name']).where('local_numbers_token', '=', t).executeTakeFirst() : undefined;
  if (!bridge) throw new AppError('LOCAL_NUMBERS_NOT_FOUND', 'This "Find a local number" link is unknown or no longer works; ask the person who sent it for a new one.', { field: 'token' });
  const rows = await ctx.db.kysely.selectFrom('service_numbers').selectAll().where('tenant_id', '=', bridge.tenant_id).where('bridge_id', '=', bridge.id).execute();
  return {
    bridgeName: bridge.name,
    numbers: rows.map((r) => ({ number: r.number, type: r.type === 'TollFree' ? 'TollFree' : 'Toll', city: r.city, primaryLanguage: r.primary_language, secondaryLanguages: JSON.parse(r.secondary_languages) as string[] })),
  };
}

/** Each tenant's bridges' tokens, and the default bridge's, for the links of the tenant's mail. */
export interface LocalNumberTokens {
  byBridge: ReadonlyMap<string, string>;
  default: string | null;
}

export async function loadLocalNumberTokens(trx: Trx, tenantIds: readonly string[]): Promise<Map<string, LocalNumberTokens>> {
  const out = new Map<string, { byBridge: Map<string, string>; default: string | null }>();
  for (const id of tenantIds) out.set(id, { byBridge: new Map(), default: null });
  if (!tenantIds.length) return out;
  const rows = await trx.selectFrom('bridges').select(['id', 'tenant_id', 'is_default', 'local_numbers_token', 'created_at']).where('tenant_id', 'in', [...tenantIds]).orderBy('created_at').execute();
  for (const r of rows) {
    const t = out.get(r.tenant_id)!;
    if (!r.local_numbers_token) continue;
    t.byBridge.set(r.id, r.local_numbers_token);
    if (r.is_default === 1) t.default = r.local_numbers_token;
    else t.default ??= r.local_numbers_token;
  }
  return out;
}

/** The token of the bridge a mail is about: the user's bridge, else the tenant's default bridge. */
export function tokenFor(tokens: LocalNumberTokens | undefined, bridgeId: string | null | undefined): string | null {
  if (!tokens) return null;
  return (bridgeId ? tokens.byBridge.get(bridgeId) : undefined) ?? tokens.default;
}
