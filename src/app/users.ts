import { AppError } from '../core/errors.ts';
import { checkDisplayName, identityText, parseIdentity, toSipUri, type IdentityQuery } from '../core/identity.ts';
import { normalizeEmail, printable } from '../core/email-address.ts';
import { toUserLanguage } from '../core/languages.ts';
import { normalizeDn } from '../core/ldap-dn.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { containsText, escapeLike, likeEscaped } from '../adapters/db/like.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';

export interface NewUser {
  UserUri: string;
  DisplayName: string;
  EmailAddress?: string | null;
  Language?: string | null;
  Phone?: string | null;
  Extension?: string | null;
}

/** Validates a directory entry and returns the row to insert; throws naming the bad field. */
export function newUserRow(s: TenantScope, u: NewUser, now: number): UsersTable {
  const sip = toSipUri(u.UserUri, 'UserUri');
  const email = u.EmailAddress ? normalizeEmail(u.EmailAddress, 'EmailAddress') : normalizeEmail(sip.slice(4), 'EmailAddress');
  const phone = u.Phone ? String(u.Phone).trim() : null;
  if (phone && !/^\+?[0-9 ().-]{3,32}$/.test(phone)) throw new AppError('INVALID_ARGUMENT', `Phone "${printable(phone)}" is not a phone number.`, { field: 'Phone' });
  const extension = u.Extension ? String(u.Extension).trim() : null;
  if (extension && !/^[0-9]{1,10}$/.test(extension)) throw new AppError('INVALID_ARGUMENT', `Extension "${printable(extension)}" must be 1 to 10 digits.`, { field: 'Extension' });
  return {
    id: s.newId(),
    tenant_id: s.tenant.id,
    sip,
    display_name: checkDisplayName(u.DisplayName),
    email,
    language: toUserLanguage(u.Language ?? ''),
    phone,
    extension,
    provider: 'None',
    dialin_enabled: 0,
    bridge_id: null,
    conference_id: null,
    service_number: null,
    toll_free_number: null,
    allow_pstn_only: 0,
    pin_hash: null,
    pin_key_version: s.keys.current,
    pin_set_at: null,
    pin_policy: null,
    pin_fail_local: 0,
    pin_window_start: null,
    pin_fail_global: 0,
    pin_locked_until: null,
    pin_locked: 0,
    created_at: now,
    updated_at: now,
  };
}

export async function addUser(s: TenantScope, u: NewUser): Promise<UsersTable> {
  const row = newUserRow(s, u, s.now());
  return s.db.kysely.transaction().execute(async (trx) => {
    const inserted = await trx.insertInto('users').values(row).onConflict((oc) => oc.columns(['tenant_id', 'sip']).doNothing()).returning('id').executeTakeFirst();
    if (!inserted) throw new AppError('USER_EXISTS', `A user ${row.sip} already exists.`, { field: 'UserUri' });
    await insertAuditRows(trx, [auditRow(s, 'user.add', { userId: row.id, label: row.sip }, { displayName: row.display_name, language: row.language })]);
    return row;
  });
}

/**
 * Finds exactly one user for an identity, or throws USER_NOT_FOUND / IDENTITY_AMBIGUOUS. `typed`
 * is what the admin wrote, so an error quotes it rather than the parsed query.
 */
export async function findUser(trx: Trx, tenantId: string, input: string | IdentityQuery, typed?: string): Promise<UsersTable> {
  const q = typeof input === 'string' ? parseIdentity(input) : input;
  const label = typed ?? (typeof input === 'string' ? input : identityText(input));
  let rows: UsersTable[];
  const base = trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
  switch (q.by) {
    case 'id':
      rows = await base.where('id', '=', q.id).execute();
      break;
    case 'sip':
      rows = await base.where('sip', '=', q.sip).execute();
      break;
    case 'logon': {
      const all = await base.where(likeEscaped('sip', `sip:${escapeLike(q.logon)}@%`)).execute();
      const inDomain = all.filter((r) => r.sip.split('@')[1]!.startsWith(`${q.domain}.`) || r.sip.split('@')[1] === q.domain);
      rows = inDomain.length > 0 ? inDomain : all;
      break;
    }
    case 'displayName':
      rows = await base.where((eb) => eb(eb.fn('lower', ['display_name']), '=', q.displayName.toLowerCase())).limit(2).execute();
      break;
    case 'dn':
      rows = await findByDn(trx, tenantId, q.dn);
      break;
  }
  if (rows.length === 0) throw new AppError('USER_NOT_FOUND', `No user matches the identity "${printable(label)}".`, { field: 'Identity' });
  if (rows.length > 1) throw new AppError('IDENTITY_AMBIGUOUS', `More than one user matches "${printable(label)}"; use the SIP address instead.`, { field: 'Identity' });
  return rows[0]!;
}

/**
 * A user by the DN of their directory entry (Get-CsUser's Identity). The DN as stored is tried
 * first; then the same DN written with other case or spaces (no index: a typed DN is rare, piped
 * Get-CsUser objects bind by their SIP address).
 */
async function findByDn(trx: Trx, tenantId: string, dn: string): Promise<UsersTable[]> {
  const exact = await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('directory_dn', '=', dn.trim()).limit(2).execute();
  if (exact.length > 0) return exact;
  const want = normalizeDn(dn);
  const ids: string[] = [];
  for (const r of await trx.selectFrom('users').select(['id', 'directory_dn']).where('tenant_id', '=', tenantId).where('directory_dn', 'is not', null).execute()) {
    if (normalizeDn(r.directory_dn!) === want) ids.push(r.id);
    if (ids.length > 1) break;
  }
  return ids.length === 0 ? [] : await trx.selectFrom('users').selectAll().where('id', 'in', ids).execute();
}

export type Resolved = { input: string; user: UsersTable } | { input: string; error: AppError };

/** Resolves a batch of identities with one query for the SIP and id forms. */
export async function findUsers(trx: Trx, tenantId: string, inputs: string[]): Promise<Resolved[]> {
  const parsed = inputs.map((input) => {
    try {
      return { input, q: parseIdentity(input) };
    } catch (e) {
      return { input, error: e as AppError };
    }
  });
  const sips = parsed.flatMap((p) => (p.q?.by === 'sip' ? [p.q.sip] : []));
  const ids = parsed.flatMap((p) => (p.q?.by === 'id' ? [p.q.id] : []));
  const bySip = new Map<string, UsersTable>();
  const byId = new Map<string, UsersTable>();
  for (let i = 0; i < sips.length; i += 500) {
    for (const r of await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('sip', 'in', sips.slice(i, i + 500)).execute()) bySip.set(r.sip, r);
  }
  for (let i = 0; i < ids.length; i += 500) {
    for (const r of await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids.slice(i, i + 500)).execute()) byId.set(r.id, r);
  }
  const out: Resolved[] = [];
  for (const p of parsed) {
    if (!p.q) {
      out.push({ input: p.input, error: p.error! });
      continue;
    }
    const hit = p.q.by === 'sip' ? bySip.get(p.q.sip) : p.q.by === 'id' ? byId.get(p.q.id) : undefined;
    if (hit) out.push({ input: p.input, user: hit });
    else if (p.q.by === 'sip' || p.q.by === 'id') out.push({ input: p.input, error: new AppError('USER_NOT_FOUND', `No user matches the identity "${printable(p.input)}".`, { field: 'Identity' }) });
    else {
      try {
        out.push({ input: p.input, user: await findUser(trx, tenantId, p.q, p.input) });
      } catch (e) {
        out.push({ input: p.input, error: e as AppError });
      }
    }
  }
  return out;
}

export interface UserListing {
  Identity: string;
  SipAddress: string;
  DisplayName: string;
  EmailAddress: string;
  Language: string;
  Provider: string;
  DialInEnabled: boolean;
}

export function userListing(r: UsersTable): UserListing {
  return {
    Identity: r.id,
    SipAddress: r.sip,
    DisplayName: r.display_name,
    EmailAddress: r.email,
    Language: r.language,
    Provider: r.provider,
    DialInEnabled: r.dialin_enabled === 1,
  };
}

/** Pages through the directory, optionally filtered by a substring of the name, SIP address or e-mail. */
export async function listUsers(s: TenantScope, opts: { search?: string; limit: number; offset: number }): Promise<{ total: number; users: UsersTable[] }> {
  let q = s.db.kysely.selectFrom('users').where('tenant_id', '=', s.tenant.id);
  if (opts.search) {
    const text = opts.search;
    q = q.where((eb) => eb.or([containsText('display_name', text), containsText('sip', text), containsText('email', text)]));
  }
  const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const users = await q.selectAll().orderBy('sip').limit(opts.limit).offset(opts.offset).execute();
  return { total, users };
}
