import { AppError } from '../core/errors.ts';
import { checkMapping, checkName, parseIssuer, roleFromClaims, ssoActor, type SsoRole } from '../core/sso-settings.ts';
import { normalizeEmail } from '../core/email-address.ts';
import { checkText } from '../core/text.ts';
import type { SsoIdentitiesTable, SsoProvidersTable, TenantsTable } from '../adapters/db/schema.ts';
import { tokenDigest } from '../adapters/crypto/secrets.ts';
import { authorizationRequest, completeAuthorization, discover, endSessionUrl, forgetDiscovery } from '../adapters/oidc/oidc-client.ts';
import { audit } from './audit.ts';
import { endSessionsOf, SESSION_LIMITS } from './sessions.ts';
import { scopeOf } from './tenants.ts';
import type { AppContext, TenantScope } from './context.ts';

/**
 * Single sign-on to the admin center with the organisation's OpenID Provider (issue 16 item 1).
 * One provider per tenant; the role comes from the group claim at every sign-in, so a person
 * taken out of the groups is refused at the next one. An SSO session lasts no longer than the
 * admin idle timeout (30 minutes) in all, after which the browser goes through the IdP again and
 * the groups are checked again: that bounds how long a removed person keeps access.
 */

/** The whole life of an SSO session (see above): the groups are re-checked at least this often. */
export const SSO_SESSION_MS = SESSION_LIMITS.admin.idleMs;
/** How long an authorization request may take at the IdP. */
const LOGIN_REQUEST_MS = 10 * 60_000;

export interface NewSsoProvider {
  issuer: string;
  clientId: string;
  /** In clear (read from --client-secret-file); sealed before it is stored. */
  clientSecret: string;
  groupsClaim?: string | null;
  adminGroup?: string | null;
  helpdeskGroup?: string | null;
  displayName?: string | null;
}

export interface SsoProviderView {
  Identity: string;
  Tenant: string;
  DisplayName: string;
  Issuer: string;
  ClientId: string;
  /** Always "(sealed)": the secret itself is never shown. */
  ClientSecret: string;
  GroupsClaim: string;
  AdminGroup: string | null;
  HelpdeskGroup: string | null;
  /** The redirect URI to register at the IdP. */
  RedirectUri: string;
  LocalPasswords: string;
  BreakGlassAccount: string | null;
  CreatedAt: string;
}

/** The callback every provider sends the browser back to (register it at the IdP). */
export function ssoRedirectUri(publicUrl: string): string {
  return `${new URL(publicUrl).origin}/admin/sso/callback`;
}

async function view(s: TenantScope, p: SsoProvidersTable, publicUrl: string): Promise<SsoProviderView> {
  const bg = p.break_glass_admin_id ? await s.db.kysely.selectFrom('admins').select('email').where('id', '=', p.break_glass_admin_id).executeTakeFirst() : undefined;
  return {
    Identity: p.id,
    Tenant: s.tenant.name,
    DisplayName: p.display_name,
    Issuer: p.issuer,
    ClientId: p.client_id,
    ClientSecret: '(sealed)',
    GroupsClaim: p.groups_claim,
    AdminGroup: p.admin_group,
    HelpdeskGroup: p.helpdesk_group,
    RedirectUri: ssoRedirectUri(publicUrl),
    LocalPasswords: p.local_passwords ? 'on' : 'off (break-glass account only)',
    BreakGlassAccount: bg?.email ?? null,
    CreatedAt: new Date(p.created_at).toISOString(),
  };
}

async function providerOf(s: TenantScope): Promise<SsoProvidersTable> {
  const p = await s.db.kysely.selectFrom('sso_providers').selectAll().where('tenant_id', '=', s.tenant.id).executeTakeFirst();
  if (!p) throw new AppError('SSO_NOT_FOUND', `The tenant ${s.tenant.name} has no single sign-on provider (\`dialin sso add\` adds one).`, { field: 'tenant' });
  return p;
}

/** Adds the tenant's provider after fetching its discovery document (so a wrong issuer or client is found now, not at sign-in). */
export async function addSsoProvider(s: TenantScope, input: NewSsoProvider, publicUrl: string): Promise<SsoProviderView> {
  const issuer = parseIssuer(input.issuer).href.replace(/\/$/, '');
  const clientId = checkName(input.clientId, 'client-id', 512);
  if (!clientId) throw new AppError('SSO_CONFIG_INVALID', '--client-id is required.', { field: 'client-id' });
  if (!input.clientSecret) throw new AppError('SSO_CONFIG_INVALID', 'The client secret file is empty.', { field: 'client-secret-file' });
  const mapping = checkMapping(input);
  const displayName = input.displayName ? checkText(input.displayName.trim(), 'display-name') : s.tenant.name;
  const existing = await s.db.kysely.selectFrom('sso_providers').select('id').where('tenant_id', '=', s.tenant.id).executeTakeFirst();
  if (existing) throw new AppError('SSO_EXISTS', `The tenant ${s.tenant.name} already has a single sign-on provider; \`dialin sso remove\` it first.`, { field: 'tenant' });
  forgetDiscovery();
  await discover({ issuer, clientId, clientSecret: input.clientSecret });
  const row: SsoProvidersTable = {
    id: s.newId(),
    tenant_id: s.tenant.id,
    display_name: displayName,
    issuer,
    client_id: clientId,
    client_secret_sealed: s.keys.seal(input.clientSecret),
    key_version: s.keys.current,
    groups_claim: mapping.groupsClaim,
    admin_group: mapping.adminGroup,
    helpdesk_group: mapping.helpdeskGroup,
    local_passwords: 1,
    break_glass_admin_id: null,
    created_at: s.now(),
  };
  await s.db.kysely.transaction().execute(async (trx) => {
    const again = await trx.selectFrom('sso_providers').select('id').where('tenant_id', '=', s.tenant.id).executeTakeFirst();
    if (again) throw new AppError('SSO_EXISTS', `The tenant ${s.tenant.name} already has a single sign-on provider.`, { field: 'tenant' });
    await trx.insertInto('sso_providers').values(row).execute();
    await audit(trx, s, 'sso.add', { label: issuer }, { clientId, groupsClaim: mapping.groupsClaim, adminGroup: mapping.adminGroup, helpdeskGroup: mapping.helpdeskGroup, clientSecret: 'sealed' });
  });
  return view(s, row, publicUrl);
}

export async function listSsoProviders(s: TenantScope, publicUrl: string): Promise<SsoProviderView[]> {
  const rows = await s.db.kysely.selectFrom('sso_providers').selectAll().where('tenant_id', '=', s.tenant.id).execute();
  return Promise.all(rows.map((r) => view(s, r, publicUrl)));
}

export async function showSsoProvider(s: TenantScope, publicUrl: string): Promise<SsoProviderView> {
  return view(s, await providerOf(s), publicUrl);
}

/** Removes the provider: its people's sessions end now; local password sign-in is on again. */
export async function removeSsoProvider(s: TenantScope): Promise<{ issuer: string; endedSessions: number }> {
  const p = await providerOf(s);
  let ended = 0;
  await s.db.kysely.transaction().execute(async (trx) => {
    const ids = (await trx.selectFrom('sso_identities').select('id').where('provider_id', '=', p.id).execute()).map((r) => r.id);
    for (const id of ids) {
      const r = await trx.deleteFrom('web_sessions').where('kind', '=', 'admin').where('subject_id', '=', id).executeTakeFirst();
      ended += Number(r.numDeletedRows ?? 0);
    }
    await trx.deleteFrom('sso_identities').where('provider_id', '=', p.id).execute();
    await trx.deleteFrom('sso_logins').where('provider_id', '=', p.id).execute();
    await trx.deleteFrom('sso_providers').where('id', '=', p.id).execute();
    await audit(trx, s, 'sso.remove', { label: p.issuer }, { endedSessions: ended });
  });
  forgetDiscovery();
  return { issuer: p.issuer, endedSessions: ended };
}

/**
 * Turns local password sign-in off (only `breakGlass`, an admin-role account of the tenant, keeps
 * its password) or on again. Sessions opened with a password by others end when it goes off.
 */
export async function setLocalPasswords(s: TenantScope, on: boolean, breakGlassEmail: string | null): Promise<{ LocalPasswords: string; BreakGlassAccount: string | null; EndedSessions: number }> {
  const p = await providerOf(s);
  if (on) {
    await s.db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable('sso_providers').set({ local_passwords: 1, break_glass_admin_id: null }).where('id', '=', p.id).execute();
      await audit(trx, s, 'sso.local-passwords', {}, { localPasswords: 'on' });
    });
    return { LocalPasswords: 'on', BreakGlassAccount: null, EndedSessions: 0 };
  }
  if (!breakGlassEmail) throw new AppError('MISSING_ARGUMENT', 'Name the break-glass account that keeps its password: --break-glass EMAIL (an admin account of the tenant).', { field: 'break-glass' });
  const email = normalizeEmail(breakGlassEmail, 'break-glass').toLowerCase();
  return s.db.kysely.transaction().execute(async (trx) => {
    const admin = await trx.selectFrom('admins').selectAll().where('tenant_id', '=', s.tenant.id).where('email', '=', email).executeTakeFirst();
    if (!admin) throw new AppError('ADMIN_NOT_FOUND', `No administrator account ${email} in this tenant (create it with \`dialin admin add\`).`, { field: 'break-glass' });
    if (admin.role !== 'admin') throw new AppError('SSO_CONFIG_INVALID', `The break-glass account must have the admin role (${email} is ${admin.role}).`, { field: 'break-glass' });
    await trx.updateTable('sso_providers').set({ local_passwords: 0, break_glass_admin_id: admin.id }).where('id', '=', p.id).execute();
    const others = (await trx.selectFrom('admins').select('id').where('tenant_id', '=', s.tenant.id).where('id', '<>', admin.id).execute()).map((r) => r.id);
    let ended = 0;
    for (const id of others) {
      const r = await trx.deleteFrom('web_sessions').where('kind', '=', 'admin').where('subject_id', '=', id).executeTakeFirst();
      ended += Number(r.numDeletedRows ?? 0);
    }
    await audit(trx, s, 'sso.local-passwords', { label: email }, { localPasswords: 'off', breakGlass: email, endedSessions: ended });
    return { LocalPasswords: 'off', BreakGlassAccount: email, EndedSessions: ended };
  });
}

/** Whether an admin account may sign in with its password (its tenant's provider may have turned that off). */
export async function passwordSignInAllowed(ctx: AppContext, tenantId: string, adminId: string): Promise<boolean> {
  const p = await ctx.db.kysely.selectFrom('sso_providers').select(['local_passwords', 'break_glass_admin_id']).where('tenant_id', '=', tenantId).executeTakeFirst();
  return !p || p.local_passwords === 1 || p.break_glass_admin_id === adminId;
}

/** The providers the sign-in page offers, by display name. */
export async function signInChoices(ctx: AppContext): Promise<{ id: string; displayName: string }[]> {
  const rows = await ctx.db.kysely.selectFrom('sso_providers').select(['id', 'display_name']).orderBy('display_name').execute();
  return rows.map((r) => ({ id: r.id, displayName: r.display_name }));
}

async function providerById(ctx: AppContext, id: string): Promise<{ p: SsoProvidersTable; tenant: TenantsTable }> {
  const p = await ctx.db.kysely.selectFrom('sso_providers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p) throw new AppError('SSO_NOT_FOUND', 'This single sign-on provider is not configured (any more).', { field: 'provider' });
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', p.tenant_id).executeTakeFirstOrThrow();
  return { p, tenant };
}

const settingsOf = (ctx: AppContext, p: SsoProvidersTable) => ({ issuer: p.issuer, clientId: p.client_id, clientSecret: ctx.keys.open(p.client_secret_sealed) });

/**
 * Starts a sign-in: the state (returned, for the browser's cookie) is stored only as a digest,
 * with the nonce and PKCE verifier, for ten minutes and one use.
 */
export async function startSsoSignIn(ctx: AppContext, providerId: string, next: string, redirectUri: string): Promise<{ url: string; state: string }> {
  const { p } = await providerById(ctx, providerId);
  const config = await discover(settingsOf(ctx, p));
  const req = await authorizationRequest(config, redirectUri, p.groups_claim);
  const now = ctx.now();
  await ctx.db.kysely.deleteFrom('sso_logins').where('expires_at', '<', now).execute();
  await ctx.db.kysely.insertInto('sso_logins').values({ state_hash: tokenDigest(req.state), provider_id: p.id, nonce: req.nonce, code_verifier: req.codeVerifier, next, expires_at: now + LOGIN_REQUEST_MS }).execute();
  return { url: req.url.href, state: req.state };
}

export interface SsoSignedIn {
  identity: SsoIdentitiesTable;
  tenant: TenantsTable;
  role: SsoRole;
  next: string;
}

/**
 * Completes a sign-in from the IdP's redirect: the state must be the browser's own (cookie) and
 * still pending; the code is exchanged and the ID token validated; the role is taken from the
 * groups now. Refused with no role: the identity's sessions end and the refusal is audited.
 */
export async function completeSsoSignIn(ctx: AppContext, cookieState: string | undefined, callbackUrl: URL): Promise<SsoSignedIn> {
  const state = callbackUrl.searchParams.get('state') ?? '';
  if (!cookieState || !state || cookieState !== state) throw new AppError('SSO_SIGN_IN_FAILED', 'This sign-in answer does not belong to this browser (state mismatch); start again.');
  const pending = await ctx.db.kysely.deleteFrom('sso_logins').where('state_hash', '=', tokenDigest(state)).returningAll().executeTakeFirst();
  if (!pending || pending.expires_at < ctx.now()) throw new AppError('SSO_SIGN_IN_FAILED', 'This sign-in was already used or took longer than ten minutes; start again.');
  const { p, tenant } = await providerById(ctx, pending.provider_id);
  const s = (actor: string) => scopeOf({ ...ctx, actor }, tenant);
  const idpError = callbackUrl.searchParams.get('error');
  let signedIn;
  try {
    if (idpError) throw new AppError('SSO_SIGN_IN_FAILED', `The identity provider answered ${idpError.slice(0, 100)}: ${String(callbackUrl.searchParams.get('error_description') ?? '').slice(0, 200)}`);
    const config = await discover(settingsOf(ctx, p));
    signedIn = await completeAuthorization(config, callbackUrl, { state, nonce: pending.nonce, codeVerifier: pending.code_verifier }, p.groups_claim);
  } catch (e) {
    const err = e as AppError;
    await audit(ctx.db.kysely, s('sso:unknown'), 'admin.sso-refused', { label: p.issuer }, { reason: err.code ?? 'error', message: String(err.message).slice(0, 300) });
    throw e;
  }
  const email = typeof signedIn.claims.email === 'string' && signedIn.claims.email.length <= 320 ? signedIn.claims.email.toLowerCase() : null;
  const name = typeof signedIn.claims.name === 'string' ? signedIn.claims.name.slice(0, 200) : null;
  const role = roleFromClaims(signedIn.claims, { groupsClaim: p.groups_claim, adminGroup: p.admin_group, helpdeskGroup: p.helpdesk_group });
  const actor = ssoActor(email, signedIn.subject);
  const now = ctx.now();
  const identity = await ctx.db.kysely.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('sso_identities').selectAll().where('provider_id', '=', p.id).where('subject', '=', signedIn.subject).executeTakeFirst();
    const row: SsoIdentitiesTable = found
      ? { ...found, email, name, role, last_login_at: role ? now : found.last_login_at }
      : { id: ctx.newId(), provider_id: p.id, tenant_id: tenant.id, subject: signedIn.subject, email, name, role, last_login_at: role ? now : null, created_at: now };
    if (found) await trx.updateTable('sso_identities').set({ email, name, role, last_login_at: row.last_login_at }).where('id', '=', found.id).execute();
    else await trx.insertInto('sso_identities').values(row).execute();
    if (!role) {
      await endSessionsOf(trx, 'admin', row.id);
      await audit(trx, s(actor), 'admin.sso-refused', { label: email ?? signedIn.subject }, { reason: 'SSO_NO_ROLE', groupsClaim: p.groups_claim });
    } else {
      await audit(trx, s(actor), 'admin.sso-login', { label: email ?? signedIn.subject }, { role, issuer: p.issuer });
    }
    return row;
  });
  if (!role) throw new AppError('SSO_NO_ROLE', `You signed in as ${email ?? signedIn.subject}, but you are in neither of the groups that open the admin center of ${p.display_name}. Ask an administrator to add you to the right group.`);
  return { identity, tenant, role, next: pending.next };
}

/** The SSO identity behind a session, with its tenant; null once removed or refused at its last sign-in. */
export async function findSsoIdentity(ctx: AppContext, id: string): Promise<{ identity: SsoIdentitiesTable; tenant: TenantsTable } | null> {
  const identity = await ctx.db.kysely.selectFrom('sso_identities').selectAll().where('id', '=', id).executeTakeFirst();
  if (!identity || !identity.role) return null;
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', identity.tenant_id).executeTakeFirstOrThrow();
  return { identity, tenant };
}

/** Where sign-out sends the browser to end the IdP's session, when the provider offers end_session. */
export async function ssoSignOutUrl(ctx: AppContext, identityId: string, postLogoutRedirectUri: string): Promise<string | null> {
  const identity = await ctx.db.kysely.selectFrom('sso_identities').select('provider_id').where('id', '=', identityId).executeTakeFirst();
  if (!identity) return null;
  const p = await ctx.db.kysely.selectFrom('sso_providers').selectAll().where('id', '=', identity.provider_id).executeTakeFirst();
  if (!p) return null;
  try {
    return endSessionUrl(await discover(settingsOf(ctx, p)), postLogoutRedirectUri)?.href ?? null;
  } catch {
    return null; // the IdP is unreachable: the local session is ended anyway
  }
}
