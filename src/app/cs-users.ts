import { AppError } from '../core/errors.ts';
import { attributeBag, defaultMapping, type Mapping } from '../core/directory-mapping.ts';
import { isUnder, looksLikeDn } from '../core/ldap-dn.ts';
import { ldapMatches, type LdapFilter } from '../core/ldap-filter.ts';
import { psFilterMatches, type PsFilter } from '../core/ps-filter.ts';
import { printable } from '../core/email-address.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { connectionMapping } from './directory-connections.ts';
import { findUser } from './users.ts';
import type { TenantScope } from './context.ts';

/**
 * Get-CsUser / Get-CsOnlineUser: the tenant's users with the properties Skype for Business shows
 * (Identity is the directory DN), selected by -Identity, -OU, -LdapFilter and -Filter. The users
 * table is read in keyset pages of PAGE rows by SIP address (its unique index), so 100,000 users
 * are never held as rows at once; only the matching users' shown objects are kept.
 */
export interface CsUser {
  Identity: string;
  DisplayName: string;
  SipAddress: string;
  UserPrincipalName: string;
  Enabled: boolean;
  LineURI: string | null;
  Title: string | null;
  Department: string | null;
  Office: string | null;
  Company: string | null;
  SamAccountName: string | null;
  WindowsEmailAddress: string;
  DistinguishedName: string | null;
  AudioConferencingProvider: string;
}

export interface CsUserQuery {
  identity?: string | null;
  ou?: string | null;
  ldapFilter?: LdapFilter | null;
  filter?: PsFilter | null;
  resultSize?: number | null;
}

const PAGE = 1000;
const COLUMNS = ['id', 'sip', 'display_name', 'email', 'language', 'phone', 'provider', 'dialin_enabled', 'directory_id', 'directory_dn', 'directory_attrs'] as const;
type Row = Pick<UsersTable, (typeof COLUMNS)[number]>;

/** tel: URI of the user's phone, as Skype's LineURI (digits and a leading +). */
function lineUri(phone: string | null): string | null {
  if (!phone) return null;
  const digits = phone.replace(/[^0-9+]/g, '');
  return digits ? `tel:${digits}` : null;
}

function parseAttrs(json: string | null | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function csUserView(r: Row): { view: CsUser; attrs: Record<string, string> } {
  const attrs = parseAttrs(r.directory_attrs);
  const view: CsUser = {
    Identity: r.directory_dn ?? r.sip,
    DisplayName: r.display_name,
    SipAddress: r.sip,
    UserPrincipalName: r.sip.replace(/^sip:/i, ''),
    Enabled: r.provider === 'Microsoft' && r.dialin_enabled === 1,
    LineURI: lineUri(r.phone),
    Title: attrs.title ?? null,
    Department: attrs.department ?? null,
    Office: attrs.office ?? null,
    Company: attrs.company ?? null,
    SamAccountName: attrs.logon ?? null,
    WindowsEmailAddress: r.email,
    DistinguishedName: r.directory_dn ?? null,
    AudioConferencingProvider: r.provider,
  };
  return { view, attrs };
}

export function checkResultSize(n: number | null | undefined): number | null {
  if (n === null || n === undefined) return null;
  if (!Number.isInteger(n) || n < 1) throw new AppError('INVALID_ARGUMENT', `-ResultSize must be a whole number of at least 1 (got ${n}).`, { field: 'ResultSize' });
  return n;
}

/**
 * The users that match, in SIP address order, at most `resultSize`. The query is checked at the
 * call (a bad -OU is refused before anything is read); the users come as they are iterated.
 */
export function csUsers(s: TenantScope, q: CsUserQuery): AsyncGenerator<CsUser> {
  const limit = checkResultSize(q.resultSize);
  if (q.ou !== null && q.ou !== undefined && !looksLikeDn(q.ou)) {
    throw new AppError('INVALID_ARGUMENT', `-OU "${printable(q.ou).slice(0, 80)}" is not a distinguished name such as "OU=Finance,DC=litwareinc,DC=com".`, { field: 'OU' });
  }
  return matchingUsers(s, q, limit);
}

async function* matchingUsers(s: TenantScope, q: CsUserQuery, limit: number | null): AsyncGenerator<CsUser> {
  const db = s.db.kysely;
  const mappings = new Map<string, Mapping>();
  for (const c of await db.selectFrom('directory_connections').selectAll().where('tenant_id', '=', s.tenant.id).execute()) mappings.set(c.id, connectionMapping(c));
  const matches = (r: Row): CsUser | null => {
    if (q.ou && !(r.directory_dn && isUnder(r.directory_dn, q.ou))) return null;
    const { view, attrs } = csUserView(r);
    if (q.ldapFilter) {
      const m = (r.directory_id && mappings.get(r.directory_id)) || defaultMapping('ad');
      const bag = attributeBag(m, { ...attrs, sip: r.sip, email: r.email, displayName: r.display_name, language: r.language, phone: r.phone }, view as unknown as Record<string, unknown>, r.directory_dn ?? null);
      if (!ldapMatches(q.ldapFilter, bag)) return null;
    }
    if (q.filter && !psFilterMatches(q.filter, view as unknown as Record<string, unknown>)) return null;
    return view;
  };
  if (q.identity) {
    const u = await findUser(db, s.tenant.id, q.identity);
    const v = matches(u);
    if (v) yield v;
    return;
  }
  let n = 0;
  let after: string | null = null;
  for (;;) {
    let sel = db.selectFrom('users').select([...COLUMNS]).where('tenant_id', '=', s.tenant.id);
    if (q.ou) sel = sel.where('directory_dn', 'is not', null);
    if (after !== null) sel = sel.where('sip', '>', after);
    const page: Row[] = await sel.orderBy('sip').limit(PAGE).execute();
    for (const r of page) {
      const v = matches(r);
      if (!v) continue;
      yield v;
      if (limit !== null && ++n >= limit) return;
    }
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.sip;
  }
}
