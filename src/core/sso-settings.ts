import { AppError } from './errors.ts';

/**
 * Single sign-on rules (OIDC, issue 16 item 1): what an issuer URL may be, and which admin-center
 * role a person's groups give. Pure: the adapter hands in the claims it validated.
 */

export type SsoRole = 'admin' | 'helpdesk';

export interface GroupMapping {
  groupsClaim: string;
  adminGroup: string | null;
  helpdeskGroup: string | null;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An issuer is https, or http on a loopback address (a test IdP); no query or fragment (OIDC Discovery §4). */
export function parseIssuer(input: string): URL {
  let u: URL;
  try {
    u = new URL(String(input ?? '').trim());
  } catch {
    throw new AppError('SSO_CONFIG_INVALID', `--issuer must be a URL such as https://login.contoso.com/realms/staff (got "${String(input ?? '').slice(0, 200)}").`, { field: 'issuer' });
  }
  if (u.search || u.hash || u.username || u.password) throw new AppError('SSO_CONFIG_INVALID', '--issuer must have no query, fragment or credentials.', { field: 'issuer' });
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) {
    throw new AppError('SSO_CONFIG_INVALID', '--issuer must be https:// (http:// only on a loopback address, for a test IdP).', { field: 'issuer' });
  }
  return u;
}

/** True for an http issuer (allowed only on loopback by parseIssuer). */
export function issuerIsInsecure(u: URL): boolean {
  return u.protocol === 'http:';
}

/** Claim names and group names: non-empty, printable, bounded. */
export function checkName(value: string | null | undefined, field: string, max = 256): string | null {
  if (value === null || value === undefined) return null;
  const v = String(value).trim();
  if (!v || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) throw new AppError('SSO_CONFIG_INVALID', `--${field} must be 1 to ${max} printable characters.`, { field });
  return v;
}

export function checkMapping(m: { groupsClaim?: string | null; adminGroup?: string | null; helpdeskGroup?: string | null }): GroupMapping {
  const mapping = {
    groupsClaim: checkName(m.groupsClaim ?? 'groups', 'groups-claim', 128)!,
    adminGroup: checkName(m.adminGroup, 'admin-group'),
    helpdeskGroup: checkName(m.helpdeskGroup, 'helpdesk-group'),
  };
  if (!mapping.adminGroup && !mapping.helpdeskGroup) throw new AppError('SSO_CONFIG_INVALID', 'Give --admin-group (and/or --helpdesk-group): without a group nobody could sign in.', { field: 'admin-group' });
  return mapping;
}

/** The groups a claim value lists: an array of strings, or one string (some IdPs send one group so). */
export function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const v = claims[claim];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((g): g is string => typeof g === 'string');
  return [];
}

/** The role the groups give: the admin group wins over the helpdesk group; no group, no role. */
export function roleFromClaims(claims: Record<string, unknown>, m: GroupMapping): SsoRole | null {
  const groups = new Set(groupsOf(claims, m.groupsClaim));
  if (m.adminGroup && groups.has(m.adminGroup)) return 'admin';
  if (m.helpdeskGroup && groups.has(m.helpdeskGroup)) return 'helpdesk';
  return null;
}

/** How an SSO identity is named in the audit log and the page header: its e-mail, else its subject. */
export function ssoActor(email: string | null, subject: string): string {
  return `sso:${email ?? subject}`;
}
