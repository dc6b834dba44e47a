import { AppError, isAppError } from '../errors.ts';
import { toSipUri, checkDisplayName } from '../identity.ts';
import { normalizeEmail } from '../email-address.ts';
import { toUserLanguage } from '../languages.ts';
import { checkText } from '../text.ts';
import { ENTERPRISE_SCHEMA, USER_ATTRIBUTES, USER_SCHEMA, ENTERPRISE_ATTRIBUTES, type AttributeDef } from './schemas.ts';

/**
 * A SCIM User as dialin keeps it: the attributes the identity provider sent (the document, kept as
 * JSON), and the person they make — SIP address from `userName`, mail, display name, language and
 * phone — that the user's columns hold. Pure: the use-cases read and write the rows.
 */
export type ScimDoc = Record<string, unknown>;

export interface ScimPerson {
  sip: string;
  email: string;
  displayName: string;
  language: string;
  phone: string | null;
  externalId: string | null;
  active: boolean;
}

const MAX_STRING = 2048;
const MAX_VALUES = 100;

function bad(detail: string, field: string): AppError {
  return new AppError('SCIM_INVALID_VALUE', detail, { field });
}

function asBoolean(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  // Entra ID sends "True" / "False" as strings in PATCH values.
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw bad(`${field} must be true or false.`, field);
}

/** Checks one attribute value against its definition; returns it with booleans made booleans. */
function checkValue(def: AttributeDef, v: unknown, field: string): unknown {
  if (v === null) return undefined;
  if (def.multiValued) {
    const list = Array.isArray(v) ? v : [v];
    if (list.length > MAX_VALUES) throw new AppError('SCIM_TOO_MANY', `${field} has more than ${MAX_VALUES} values.`, { field });
    return list.map((x, i) => checkValue({ ...def, multiValued: false }, x, `${field}[${i}]`));
  }
  switch (def.type) {
    case 'boolean':
      return asBoolean(v, field);
    case 'complex': {
      // Entra ID's older requests send the manager as its id alone.
      if (def.name === 'manager' && typeof v === 'string') return v === '' ? undefined : { value: checkText(v, field) };
      if (typeof v !== 'object' || Array.isArray(v)) throw bad(`${field} must be an object.`, field);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const sub = def.subAttributes!.find((a) => a.name.toLowerCase() === k.toLowerCase());
        if (!sub) throw new AppError('SCIM_INVALID_PATH', `${field}.${k} is not an attribute of the User schema.`, { field: `${field}.${k}` });
        const checked = checkValue(sub, x, `${field}.${sub.name}`);
        if (checked !== undefined) out[sub.name] = checked;
      }
      return out;
    }
    default:
      if (typeof v !== 'string') throw bad(`${field} must be a string.`, field);
      if (v.length > MAX_STRING) throw bad(`${field} is longer than ${MAX_STRING} characters.`, field);
      return checkText(v, field);
  }
}

/**
 * The document to keep from a User body (POST, PUT, or the result of a PATCH): known attributes
 * only (anything else is SCIM_INVALID_PATH), `id`, `meta`, `schemas`, `groups` and `password` not
 * kept, `active` a boolean, the enterprise extension under its URN.
 */
export function cleanUserDoc(body: unknown): ScimDoc {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('SCIM_INVALID_SYNTAX', 'The body must be a SCIM User object.', { field: 'body' });
  const b = body as Record<string, unknown>;
  const schemas = b.schemas;
  if (schemas !== undefined) {
    if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) throw new AppError('SCIM_INVALID_SYNTAX', 'schemas must be a list of schema URNs.', { field: 'schemas' });
    const unknown = (schemas as string[]).find((s) => ![USER_SCHEMA, ENTERPRISE_SCHEMA].includes(s));
    if (unknown) throw new AppError('SCIM_INVALID_SYNTAX', `The schema ${unknown.slice(0, 200)} is not one dialin serves for Users.`, { field: 'schemas' });
  }
  const doc: ScimDoc = {};
  for (const [k, v] of Object.entries(b)) {
    const lower = k.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta' || lower === 'groups' || lower === 'password') continue;
    if (lower === ENTERPRISE_SCHEMA.toLowerCase()) {
      const ext = checkValue({ name: ENTERPRISE_SCHEMA, type: 'complex', subAttributes: [...ENTERPRISE_ATTRIBUTES] }, v, 'enterprise');
      if (ext && Object.keys(ext).length) doc[ENTERPRISE_SCHEMA] = ext;
      continue;
    }
    const def = USER_ATTRIBUTES.find((a) => a.name.toLowerCase() === lower);
    if (!def) throw new AppError('SCIM_INVALID_PATH', `${k.slice(0, 200)} is not an attribute of the User schema.`, { field: k.slice(0, 200) });
    const checked = checkValue(def, v, def.name);
    if (checked !== undefined) doc[def.name] = checked;
  }
  return doc;
}

type Valued = { value?: unknown; type?: unknown; primary?: unknown };

/** The work value, else the primary one, else the first. */
function pick(list: unknown): string | null {
  if (!Array.isArray(list)) return null;
  const vs = list.filter((x): x is Valued => typeof x === 'object' && x !== null && typeof (x as Valued).value === 'string' && (x as Valued).value !== '');
  const hit = vs.find((x) => String(x.type).toLowerCase() === 'work') ?? vs.find((x) => x.primary === true) ?? vs[0];
  return hit ? String(hit.value) : null;
}

function field(e: unknown, scimField: string): never {
  if (isAppError(e)) throw bad(`${e.message.replace(/^[A-Za-z]+ /, `${scimField} `)}`, scimField);
  throw e;
}

/** The person a User document makes; the userName must be an address (the SIP address). */
export function personOf(doc: ScimDoc): ScimPerson {
  const userName = doc.userName;
  if (typeof userName !== 'string' || userName.trim() === '') throw bad('userName is required: the user\'s SIP address, e.g. bob@contoso.com.', 'userName');
  let sip: string;
  try {
    sip = toSipUri(userName, 'userName');
  } catch {
    throw bad(`userName "${userName.slice(0, 200)}" is not an address such as bob@contoso.com (dialin uses it as the SIP address).`, 'userName');
  }
  let email: string;
  const mail = pick(doc.emails);
  try {
    email = normalizeEmail(mail ?? sip.slice(4), 'emails');
  } catch (e) {
    field(e, 'emails');
  }
  const name = (doc.name ?? {}) as Record<string, unknown>;
  const given = [name.givenName, name.familyName].filter((x) => typeof x === 'string' && x.trim() !== '').join(' ');
  const shown = [doc.displayName, name.formatted, given].find((x) => typeof x === 'string' && x.trim() !== '') as string | undefined;
  let displayName: string;
  try {
    displayName = checkDisplayName(shown ?? sip.slice(4).split('@')[0]!, 'displayName');
  } catch (e) {
    field(e, 'displayName');
  }
  let language = '';
  if (typeof doc.preferredLanguage === 'string' && doc.preferredLanguage.trim() !== '') {
    try {
      language = toUserLanguage(doc.preferredLanguage, 'preferredLanguage');
    } catch (e) {
      field(e, 'preferredLanguage');
    }
  }
  const phone = pick(doc.phoneNumbers);
  if (phone !== null && !/^\+?[0-9 ().-]{3,32}$/.test(phone)) throw bad(`phoneNumbers "${phone.slice(0, 64)}" is not a phone number.`, 'phoneNumbers');
  const externalId = typeof doc.externalId === 'string' && doc.externalId !== '' ? doc.externalId : null;
  const active = doc.active === undefined ? true : doc.active === true;
  return { sip, email, displayName, language, phone, externalId, active };
}

export interface ResourceMeta {
  id: string;
  created: number;
  lastModified: number;
  version: number;
  location: string;
}

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The User resource answered: the kept document, `id`, `active`, the schemas it uses, and `meta`. */
export function userResource(doc: ScimDoc, m: ResourceMeta, groups: { value: string; display: string }[] = []): Record<string, unknown> {
  const schemas = doc[ENTERPRISE_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [USER_SCHEMA];
  return {
    schemas,
    id: m.id,
    ...doc,
    active: doc.active === undefined ? true : doc.active,
    ...(groups.length ? { groups: groups.map((g) => ({ ...g, $ref: m.location.replace(/\/Users\/[^/]+$/, `/Groups/${g.value}`) })) } : {}),
    meta: { resourceType: 'User', created: new Date(m.created).toISOString(), lastModified: new Date(m.lastModified).toISOString(), location: m.location, version: etagOf(m.version) },
  };
}
