import { AppError, isAppError } from './errors.ts';
import { checkDisplayName, toSipUri } from './identity.ts';
import { normalizeEmail, printable } from './email-address.ts';
import { toUserLanguage } from './languages.ts';
import { normalizeDn } from './ldap-dn.ts';
import { codePointName, textProblem } from './text.ts';

/**
 * How a directory entry becomes a dialin user: which attributes give the key, the SIP address,
 * the mail, the name, the language and the phone, per kind of directory (Active Directory or
 * OpenLDAP / inetOrgPerson), each overridable with `--map field=attribute[|attribute…]`.
 */

export type DirectoryKind = 'ad' | 'openldap';
export const DIRECTORY_KINDS: readonly DirectoryKind[] = ['openldap', 'ad'];

/** An entry as the adapter hands it over: attribute names lower-cased, values as strings. */
export interface DirectoryEntry {
  dn: string;
  attrs: Readonly<Record<string, readonly string[]>>;
}

/** The fields of the mapping; each is a list of attributes tried in order. */
export const MAPPING_FIELDS = ['key', 'sip', 'email', 'displayName', 'language', 'phone', 'logon', 'title', 'department', 'company', 'office', 'accountControl', 'modified'] as const;
export type MappingField = (typeof MAPPING_FIELDS)[number];
export type Mapping = Readonly<Record<MappingField, readonly string[]>>;

const OPENLDAP: Mapping = {
  key: ['entryUUID'],
  // inetOrgPerson has no SIP attribute: the SIP address is sip: + the mail address.
  sip: ['mail'],
  email: ['mail'],
  displayName: ['displayName', 'cn'],
  language: ['preferredLanguage'],
  phone: ['telephoneNumber'],
  logon: ['uid'],
  title: ['title'],
  department: ['ou', 'departmentNumber'],
  company: ['o'],
  office: ['roomNumber'],
  accountControl: [],
  modified: ['modifyTimestamp'],
};

const AD: Mapping = {
  key: ['objectGUID'],
  sip: ['msRTCSIP-PrimaryUserAddress', 'userPrincipalName'],
  email: ['mail'],
  displayName: ['displayName', 'cn'],
  language: ['preferredLanguage'],
  phone: ['telephoneNumber', 'msRTCSIP-Line'],
  logon: ['sAMAccountName'],
  title: ['title'],
  department: ['department'],
  company: ['company'],
  office: ['physicalDeliveryOfficeName'],
  accountControl: ['userAccountControl'],
  modified: ['uSNChanged'],
};

export function defaultMapping(kind: DirectoryKind): Mapping {
  return kind === 'ad' ? AD : OPENLDAP;
}

/** The filter that selects people when no --filter is given. */
export function defaultFilter(kind: DirectoryKind): string {
  return kind === 'ad' ? '(&(objectCategory=person)(objectClass=user))' : '(objectClass=inetOrgPerson)';
}

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]{0,63}$|^[0-9]+(\.[0-9]+)+$/;

/** Parses `--map field=attr[|attr…]` options into overrides; throws naming the bad one. */
export function parseMappingOverrides(specs: readonly string[]): Partial<Record<MappingField, string[]>> {
  const out: Partial<Record<MappingField, string[]>> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(spec.trim());
    const field = m ? MAPPING_FIELDS.find((f) => f.toLowerCase() === m[1]!.toLowerCase()) : undefined;
    if (!m || !field) {
      throw new AppError('DIRECTORY_CONFIG_INVALID', `--map "${printable(spec)}" must be field=attribute with a field among ${MAPPING_FIELDS.join(', ')}.`, { field: 'map' });
    }
    const attrs = m[2]!.split('|').map((a) => a.trim());
    if (!attrs.every((a) => ATTRIBUTE.test(a))) throw new AppError('DIRECTORY_CONFIG_INVALID', `--map ${field}: "${printable(m[2]!)}" is not an LDAP attribute name (or names separated by |).`, { field: 'map' });
    out[field] = attrs;
  }
  return out;
}

export function effectiveMapping(kind: DirectoryKind, overrides: Partial<Record<MappingField, readonly string[]>>): Mapping {
  return { ...defaultMapping(kind), ...overrides };
}

/** Every attribute a sync asks the directory for. */
export function requestedAttributes(m: Mapping): string[] {
  return [...new Set(MAPPING_FIELDS.flatMap((f) => m[f]))];
}

/** A person as dialin keeps them. */
export interface DirectoryPerson {
  key: string;
  dn: string;
  /** The DN normalised for comparisons with group members. */
  ndn: string;
  sip: string;
  email: string;
  displayName: string;
  language: string;
  phone: string | null;
  /** AD's userAccountControl bit 0x2. */
  disabled: boolean;
  /** modifyTimestamp (OpenLDAP) or uSNChanged (AD), for the next incremental pass. */
  modified: string | null;
  /** The other mapped attributes (logon, title, department, company, office), for listings. */
  attrs: Record<string, string>;
}

export interface SkippedEntry {
  key: string | null;
  dn: string;
  sip: string | null;
  reason: string;
}

export type MappedEntry = { person: DirectoryPerson } | { skipped: SkippedEntry };

const first = (e: DirectoryEntry, attrs: readonly string[]): string | null => {
  for (const a of attrs) {
    const v = e.attrs[a.toLowerCase()]?.find((x) => x.trim() !== '');
    if (v !== undefined) return v.trim();
  }
  return null;
};

const PHONE = /^\+?[0-9 ().-]{3,32}$/;

/** Maps one entry, or says why it is skipped (no key, no mail, a malformed SIP address…). */
export function mapEntry(e: DirectoryEntry, m: Mapping): MappedEntry {
  const key = first(e, m.key);
  const rawSip = first(e, m.sip);
  const skip = (reason: string, sip: string | null = null): MappedEntry => ({ skipped: { key, dn: e.dn, sip, reason } });
  if (!key) return skip(`no ${m.key.join('/')} (the key)`);
  const rawMail = first(e, m.email);
  if (!rawMail) return skip(`no ${m.email.join('/')} (the mail address)`);
  if (!rawSip) return skip(`no ${m.sip.join('/')} (the SIP address)`);
  // What people will read (and the CLI prints) must show as what it is: the check of every other edge.
  for (const f of ['sip', 'email', 'displayName', 'language', 'phone', 'logon', 'title', 'department', 'company', 'office'] as const) {
    const v = first(e, m[f]);
    const p = v === null ? null : textProblem(v);
    if (p) return skip(`${m[f].join('/')} has ${p.what} (${codePointName(p.codePoint)}) at character ${p.position}`);
  }
  let sip: string;
  let email: string;
  let displayName: string;
  try {
    sip = toSipUri(rawSip, m.sip[0]);
  } catch {
    return skip(`${m.sip.join('/')} "${printable(rawSip)}" is not a SIP address`);
  }
  try {
    email = normalizeEmail(rawMail, m.email[0]);
  } catch (err) {
    if (!isAppError(err)) throw err;
    return skip(err.message, sip);
  }
  try {
    displayName = checkDisplayName(first(e, m.displayName) ?? '', m.displayName[0]);
  } catch (err) {
    if (!isAppError(err)) throw err;
    return skip(err.message, sip);
  }
  let language = '';
  try {
    language = toUserLanguage(first(e, m.language) ?? '');
  } catch {
    // A language dialin cannot read is left out: the tenant's default applies, as for a CSV without one.
  }
  const rawPhone = first(e, m.phone)?.replace(/^tel:/i, '') ?? null;
  const phone = rawPhone && PHONE.test(rawPhone) ? rawPhone : null;
  const uac = Number(first(e, m.accountControl) ?? '0');
  const attrs: Record<string, string> = {};
  for (const f of ['logon', 'title', 'department', 'company', 'office'] as const) {
    const v = first(e, m[f]);
    if (v !== null) attrs[f] = v;
  }
  return {
    person: {
      key,
      dn: e.dn,
      ndn: normalizeDn(e.dn),
      sip,
      email,
      displayName,
      language,
      phone,
      disabled: Number.isFinite(uac) && (uac & 0x2) !== 0,
      modified: first(e, m.modified),
      attrs,
    },
  };
}

/**
 * The attributes a user is matched on by `Get-CsUser -LdapFilter`: what the sync kept, under the
 * attribute names of the user's connection mapping (as the directory spells them: `title`, `ou`,
 * `physicalDeliveryOfficeName`…; a user not from a directory gets Active Directory's, Skype for
 * Business's directory) and under the names Get-CsUser prints (Title, Department, Office…).
 */
export function attributeBag(m: Mapping, values: Readonly<Partial<Record<MappingField, string | null>>>, shown: Readonly<Record<string, unknown>>, dn: string | null): Map<string, string[]> {
  const bag = new Map<string, string[]>();
  const add = (name: string, v: string | null | undefined) => {
    if (v === null || v === undefined || v === '') return;
    const k = name.toLowerCase();
    const list = bag.get(k) ?? [];
    if (!list.includes(v)) list.push(v);
    bag.set(k, list);
  };
  for (const f of MAPPING_FIELDS) {
    const v = values[f];
    for (const a of m[f]) add(a, f === 'sip' && !/^msrtcsip-/i.test(a) ? v?.replace(/^sip:/i, '') : v);
  }
  for (const [k, v] of Object.entries(shown)) if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') add(k, String(v));
  add('distinguishedName', dn);
  return bag;
}
