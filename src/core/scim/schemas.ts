/**
 * SCIM 2.0 (RFC 7643) as dialin speaks it: the schema URNs, and the attributes of the User (core
 * and enterprise extension) and Group resources — what `/Schemas` publishes, what a filter or a
 * PATCH path may name, and which comparisons are case-exact.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export interface AttributeDef {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime';
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned?: 'always' | 'default' | 'never';
  uniqueness?: 'none' | 'server';
  subAttributes?: AttributeDef[];
  description?: string;
}

const str = (name: string, extra: Partial<AttributeDef> = {}): AttributeDef => ({ name, type: 'string', ...extra });
const multi = (name: string, subs: AttributeDef[], description?: string): AttributeDef => ({ name, type: 'complex', multiValued: true, subAttributes: subs, description });
const typedValue = [str('value'), str('display'), str('type'), { name: 'primary', type: 'boolean' } as AttributeDef];

export const USER_ATTRIBUTES: readonly AttributeDef[] = [
  str('userName', { required: true, uniqueness: 'server', description: 'The SIP address (user@domain); compared case-insensitively.' }),
  { name: 'name', type: 'complex', subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => str(n)) },
  str('displayName'),
  str('nickName'),
  { name: 'profileUrl', type: 'reference' },
  str('title'),
  str('userType'),
  str('preferredLanguage', { description: 'The language of the mails dialin sends (en, fr, fr-CA…).' }),
  str('locale'),
  str('timezone'),
  { name: 'active', type: 'boolean', description: 'false turns dial-in off when the licence follows active users.' },
  str('password', { mutability: 'writeOnly', returned: 'never', description: 'Accepted and never stored.' }),
  multi('emails', typedValue),
  multi('phoneNumbers', typedValue, 'The work (else primary, else first) number is the user\'s phone.'),
  multi('ims', typedValue),
  multi('photos', typedValue),
  multi('addresses', ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((n) => str(n)).concat([{ name: 'primary', type: 'boolean' }])),
  multi('groups', [str('value', { mutability: 'readOnly' }), { name: '$ref', type: 'reference', mutability: 'readOnly' }, str('display', { mutability: 'readOnly' }), str('type', { mutability: 'readOnly' })]),
  multi('entitlements', typedValue),
  multi('roles', typedValue),
  multi('x509Certificates', typedValue),
  str('externalId', { caseExact: true }),
];

export const ENTERPRISE_ATTRIBUTES: readonly AttributeDef[] = [
  str('employeeNumber'),
  str('costCenter'),
  str('organization'),
  str('division'),
  str('department'),
  { name: 'manager', type: 'complex', subAttributes: [str('value'), { name: '$ref', type: 'reference' }, str('displayName', { mutability: 'readOnly' })] },
];

export const GROUP_ATTRIBUTES: readonly AttributeDef[] = [
  str('displayName', { required: true, description: 'With `dialin scim configure --licence-group NAME`, members of the group of that name have dial-in.' }),
  multi('members', [str('value', { mutability: 'immutable' }), { name: '$ref', type: 'reference', mutability: 'immutable' }, str('display'), str('type', { mutability: 'immutable' })]),
  str('externalId', { caseExact: true }),
];

/** Attributes every resource has (RFC 7643 §3.1). */
const COMMON: readonly AttributeDef[] = [str('id', { caseExact: true, mutability: 'readOnly' }), { name: 'meta', type: 'complex', mutability: 'readOnly', subAttributes: [str('resourceType'), { name: 'created', type: 'dateTime' }, { name: 'lastModified', type: 'dateTime' }, { name: 'location', type: 'reference' }, str('version')] }, str('schemas')];

export type ResourceKind = 'User' | 'Group';

function find(list: readonly AttributeDef[], name: string): AttributeDef | undefined {
  const n = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === n);
}

/**
 * The attribute a path names (`emails`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value`),
 * or null when the resource has no such attribute. Returns the definition of the last part.
 */
export function attributeAt(kind: ResourceKind, path: string): AttributeDef | null {
  let list: readonly AttributeDef[] = kind === 'User' ? [...USER_ATTRIBUTES, ...COMMON] : [...GROUP_ATTRIBUTES, ...COMMON];
  let rest = path;
  if (kind === 'User' && rest.toLowerCase().startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}:`)) {
    list = ENTERPRISE_ATTRIBUTES;
    rest = rest.slice(ENTERPRISE_SCHEMA.length + 1);
  } else if (kind === 'User' && rest.toLowerCase().startsWith(`${USER_SCHEMA.toLowerCase()}:`)) {
    rest = rest.slice(USER_SCHEMA.length + 1);
  } else if (kind === 'Group' && rest.toLowerCase().startsWith(`${GROUP_SCHEMA.toLowerCase()}:`)) {
    rest = rest.slice(GROUP_SCHEMA.length + 1);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) return null;
  const top = find(list, parts[0]!);
  if (!top) return null;
  if (parts.length === 1) return top;
  return top.subAttributes ? (find(top.subAttributes, parts[1]!) ?? null) : null;
}

/** The enterprise extension named as a whole (an operation without a sub-path on it). */
export function isEnterpriseUrn(path: string): boolean {
  return path.toLowerCase() === ENTERPRISE_SCHEMA.toLowerCase();
}

/** String comparisons of a filter ignore case, except on case-exact attributes (id, externalId). */
export function isCaseExact(kind: ResourceKind, path: string): boolean {
  return attributeAt(kind, path)?.caseExact === true;
}

function schemaView(id: string, name: string, description: string, attributes: readonly AttributeDef[], base: string) {
  const full = (a: AttributeDef): Record<string, unknown> => ({
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description ?? a.name,
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(full) } : {}),
  });
  return { schemas: [SCHEMA_SCHEMA], id, name, description, attributes: attributes.map(full), meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` } };
}

/** `GET /Schemas`: the three schemas dialin serves. */
export function schemaResources(base: string) {
  return [
    schemaView(USER_SCHEMA, 'User', 'User Account', USER_ATTRIBUTES, base),
    schemaView(ENTERPRISE_SCHEMA, 'EnterpriseUser', 'Enterprise User', ENTERPRISE_ATTRIBUTES, base),
    schemaView(GROUP_SCHEMA, 'Group', 'Group', GROUP_ATTRIBUTES, base),
  ];
}

export function resourceTypes(base: string) {
  return [
    { schemas: [RESOURCE_TYPE_SCHEMA], id: 'User', name: 'User', endpoint: '/Users', description: 'User Account', schema: USER_SCHEMA, schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` } },
    { schemas: [RESOURCE_TYPE_SCHEMA], id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group', schema: GROUP_SCHEMA, schemaExtensions: [], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` } },
  ];
}

/** Paging and PATCH limits, published in ServiceProviderConfig. */
export const MAX_RESULTS = 1000;
export const MAX_OPERATIONS = 1000;
/** Members a single group PATCH may carry (Entra sends at most a few hundred; the bench sends 10,000). */
export const MAX_MEMBER_VALUES = 20_000;

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://github.com/dialin/dialin#provision-from-entra-id-or-okta',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'An API token from `dialin token create --role scim`.', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}
