import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { AppError } from '../../core/errors.ts';
import type { AppContext, TenantScope } from '../../app/context.ts';
import type { TenantsTable, WebSessionsTable } from '../db/schema.ts';
import { authenticateApiToken } from '../../app/api-tokens.ts';
import { findAdmin } from '../../app/admins.ts';
import { findSsoIdentity } from '../../app/sso.ts';
import { ssoActor } from '../../core/sso-settings.ts';
import { findSession, type SessionKind } from '../../app/sessions.ts';
import { tokenDigest } from '../crypto/secrets.ts';
import { scopeOf } from '../../app/tenants.ts';
import { checkCsrf, isUnsafe } from './csrf.ts';

/** `scim` tokens reach only /scim/v2 (routes/scim.ts): no Access below lists them. */
export type Role = 'admin' | 'helpdesk' | 'bridge' | 'scim';

/**
 * Who may call a route: `staff` = administrators and helpdesk (look up users, reset PIN or
 * conference ID, send conference info); `admin` = administrators only (settings, numbers,
 * templates, mail, audit…); `bridge` = the bridge's token only (the PIN check).
 */
export type Access = 'staff' | 'admin' | 'bridge';

const ALLOWED: Readonly<Record<Access, readonly Role[]>> = { staff: ['admin', 'helpdesk'], admin: ['admin'], bridge: ['bridge'] };

export function allows(access: Access, role: Role): boolean {
  return ALLOWED[access].includes(role);
}

/** The authenticated caller of a request: an API token or an administrator's browser session. */
export interface Principal {
  via: 'token' | 'session';
  role: Role;
  tenant: TenantsTable;
  /** As recorded in the audit log: `api:<token name>`, `web:<e-mail>` or `sso:<e-mail>`. */
  actor: string;
  /** The token id (rate limits) or the admin id. */
  id: string;
  email?: string;
  session?: WebSessionsTable;
  /** Signed in through the tenant's OpenID Provider (the id is the SSO identity's). */
  sso?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** The body is a file (the CSV import), checked by the route itself rather than by a JSON schema. */
    rawBody?: boolean;
  }
}

/** Cookie names: with TLS the `__Host-` prefix pins the cookie to this host and path / (ASVS 3.3.3). */
export function cookieName(kind: SessionKind, secure: boolean): string {
  return `${secure ? '__Host-' : ''}dialin-${kind}`;
}

/** Session cookies are HttpOnly, SameSite=Lax, Secure behind TLS, and live no longer than the session. */
export function cookieOptions(secure: boolean, maxAgeMs: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, maxAge: Math.floor(maxAgeMs / 1000) };
}

/** The admin-center session of a request (cookie), with its account, or null. */
export async function sessionPrincipal(ctx: AppContext, req: FastifyRequest, secure: boolean): Promise<Principal | null> {
  const session = await findSession(ctx, 'admin', req.cookies[cookieName('admin', secure)]);
  if (!session) return null;
  const found = await findAdmin(ctx, session.subject_id);
  if (!found) {
    const sso = await findSsoIdentity(ctx, session.subject_id);
    if (!sso) return null;
    const actor = ssoActor(sso.identity.email, sso.identity.subject);
    return { via: 'session', role: sso.identity.role as Role, tenant: sso.tenant, actor, id: sso.identity.id, email: sso.identity.email ?? sso.identity.subject, session, sso: true };
  }
  return { via: 'session', role: found.admin.role as Role, tenant: found.tenant, actor: `web:${found.admin.email}`, id: found.admin.id, email: found.admin.email, session };
}

/**
 * How long a checked API token is trusted without asking the database again. A bridge sends
 * thousands of PIN checks a second with one token; a revoked token stops working within this time.
 */
export const TOKEN_CACHE_MS = 5_000;

/** Checked tokens by the digest of their value (the value itself is not kept). */
export class TokenCache {
  readonly #entries = new Map<string, { principal: Principal; until: number }>();
  constructor(private readonly now: () => number) {}

  async principal(ctx: AppContext, bearer: string): Promise<Principal | null> {
    const key = tokenDigest(bearer);
    const now = this.now();
    const hit = this.#entries.get(key);
    if (hit && now < hit.until) return hit.principal;
    const found = await authenticateApiToken(ctx, bearer);
    if (!found) {
      this.#entries.delete(key);
      return null;
    }
    const principal: Principal = { via: 'token', role: found.token.role as Role, tenant: found.tenant, actor: `api:${found.token.name}`, id: found.token.id };
    if (this.#entries.size >= 10_000) this.#entries.clear();
    this.#entries.set(key, { principal, until: now + TOKEN_CACHE_MS });
    return principal;
  }
}

/** The caller of an API request: `Authorization: Bearer dlt_…`, else the admin-center session cookie. */
export async function apiPrincipal(ctx: AppContext, tokens: TokenCache, req: FastifyRequest, secure: boolean): Promise<Principal | null> {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const found = m ? await tokens.principal(ctx, m[1]!) : null;
    if (!found) throw new AppError('UNAUTHENTICATED', 'The API token is unknown, revoked or malformed.');
    return found;
  }
  return sessionPrincipal(ctx, req, secure);
}

/**
 * The gate of every /api/v1 route, before the body is read: authenticated, allowed by the
 * route's `access`, and for a browser session changing something, the anti-forgery checks.
 */
export function apiGuard(ctx: AppContext, opts: { secure: boolean; publicOrigin: string }) {
  const tokens = new TokenCache(ctx.now);
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const access = req.routeOptions.config.access;
    if (!access) return;
    const p = await apiPrincipal(ctx, tokens, req, opts.secure);
    if (!p) throw new AppError('UNAUTHENTICATED', 'Sign in, or send an API token as `Authorization: Bearer dlt_…`.');
    if (!allows(access, p.role)) throw new AppError('FORBIDDEN', `The ${p.role} role may not do this.`);
    if (p.via === 'session' && isUnsafe(req.method)) checkCsrf(req, opts.publicOrigin, p.session!.csrf_token);
    req.principal = p;
  };
}

/** The tenant scope a request acts in: the caller's own tenant, with the caller as the audit actor. */
export function scopeFor(ctx: AppContext, req: FastifyRequest): TenantScope {
  const p = req.principal;
  if (!p) throw new AppError('UNAUTHENTICATED', 'Sign in first.');
  return scopeOf({ ...ctx, actor: p.actor }, p.tenant);
}
