import { sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import { defaultFilter, effectiveMapping, parseMappingOverrides, type DirectoryKind, type Mapping, type MappingField } from '../core/directory-mapping.ts';
import { checkConnectionName, checkDn, checkKind, checkMaxDisable, parseDirectoryUrl, parseInterval } from '../core/directory-settings.ts';
import type { DirectoryConnectionsTable } from '../adapters/db/schema.ts';
import type { DirectoryTarget } from '../adapters/ldap/directory-client.ts';
import { X509Certificate } from 'node:crypto';
import { audit } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * Directory connections of a tenant (several allowed): added with their settings checked, the
 * bind password sealed under the master key at once; listed and shown without it; removed
 * (the users stay, no longer linked).
 */

export interface NewDirectoryConnection {
  name: string;
  url: string;
  base: string;
  bindDn?: string | null;
  /** The bind password in clear (read from --password-file); sealed before it is stored. */
  password?: string | null;
  kind?: string | null;
  licenceGroup?: string | null;
  filter?: string | null;
  caFile?: string | null;
  /** The CA certificate(s) as PEM text (the admin center and the API); kept with the connection. */
  caPem?: string | null;
  interval?: string | null;
  maxDisable?: string | null;
  map?: string[];
  insecurePlaintext?: boolean;
}

export interface DirectoryConnectionView {
  Name: string;
  Kind: string;
  Url: string;
  Transport: string;
  BaseDn: string;
  BindDn: string | null;
  /** "(sealed)" or "(none)": the password itself is never shown. */
  Password: string;
  LicenceGroup: string | null;
  Filter: string;
  CaFile: string | null;
  /** The subject of the first CA certificate kept as PEM, or null. */
  CaCertificate: string | null;
  Interval: string;
  MaxDisable: string;
  Mapping: Record<string, string>;
  LastFullSync: string | null;
}

const DEFAULT_INTERVAL_MS = 5 * 60_000;

function formatInterval(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

export function connectionMapping(c: DirectoryConnectionsTable): Mapping {
  return effectiveMapping(c.kind as DirectoryKind, JSON.parse(c.mapping) as Partial<Record<MappingField, string[]>>);
}

export function connectionFilter(c: DirectoryConnectionsTable): string {
  return c.filter ?? defaultFilter(c.kind as DirectoryKind);
}

/** The first certificate's subject, on one line (checked as PEM when stored). */
function pemSubject(pem: string): string {
  try {
    return new X509Certificate(pem).subject.replace(/\n/g, ', ');
  } catch {
    return '(unreadable PEM)';
  }
}

export function connectionView(c: DirectoryConnectionsTable): DirectoryConnectionView {
  const m = connectionMapping(c);
  return {
    Name: c.name,
    Kind: c.kind,
    Url: c.url,
    Transport: c.url.startsWith('ldaps:') ? 'TLS (ldaps)' : c.insecure_plaintext ? 'PLAINTEXT (--insecure-plaintext)' : 'StartTLS',
    BaseDn: c.base_dn,
    BindDn: c.bind_dn,
    Password: c.bind_password_sealed ? '(sealed)' : '(none)',
    LicenceGroup: c.licence_group,
    Filter: connectionFilter(c),
    CaFile: c.ca_file,
    CaCertificate: c.ca_pem ? pemSubject(c.ca_pem) : null,
    Interval: formatInterval(c.interval_ms),
    MaxDisable: c.max_disable === null ? 'min(500, 10 % of licensed users)' : String(c.max_disable),
    Mapping: Object.fromEntries(Object.entries(m).filter(([, v]) => v.length).map(([k, v]) => [k, v.join('|')])),
    LastFullSync: c.last_full_at ? new Date(c.last_full_at).toISOString() : null,
  };
}

/** What the LDAP adapter needs to connect, the password opened from its seal. */
export function targetOf(s: TenantScope, c: DirectoryConnectionsTable): DirectoryTarget {
  return {
    kind: c.kind as DirectoryKind,
    url: c.url,
    baseDn: c.base_dn,
    bindDn: c.bind_dn,
    password: c.bind_password_sealed ? s.keys.open(c.bind_password_sealed) : null,
    caFile: c.ca_file,
    caPem: c.ca_pem ?? null,
    insecurePlaintext: c.insecure_plaintext === 1,
  };
}

/** The settings as stored, checked the same way for the CLI, the API and the admin center. */
type CheckedSettings = Pick<DirectoryConnectionsTable, 'name' | 'kind' | 'url' | 'base_dn' | 'bind_dn' | 'licence_group' | 'filter' | 'ca_file' | 'ca_pem' | 'insecure_plaintext' | 'interval_ms' | 'max_disable' | 'mapping'>;

async function checkSettings(o: NewDirectoryConnection): Promise<CheckedSettings> {
  const name = checkConnectionName(o.name);
  const url = parseDirectoryUrl(o.url);
  // ldap:// is always upgraded with StartTLS; only --insecure-plaintext skips it.
  if (o.insecurePlaintext && url.secure) throw new AppError('CONFLICTING_PARAMETERS', '--insecure-plaintext applies to ldap:// URLs only; ldaps:// is always TLS.', { field: 'insecure-plaintext' });
  const base = checkDn(o.base, 'base');
  const bindDn = o.bindDn ? checkDn(o.bindDn, 'bind-dn') : null;
  const kind = checkKind(o.kind);
  const licenceGroup = o.licenceGroup ? checkDn(o.licenceGroup, 'licence-group') : null;
  // ldapts is loaded only here: Get-CsUser reads connections' mappings without it (a fast CLI call).
  const client = o.filter || o.caPem ? await import('../adapters/ldap/directory-client.ts') : null;
  const filter = o.filter ? client!.checkFilter(o.filter.trim()) : null;
  if (o.caPem && o.caFile) throw new AppError('CONFLICTING_PARAMETERS', 'Give the CA certificate either as a file on the server (--ca-file) or as PEM, not both.', { field: 'ca-pem' });
  const caPem = o.caPem ? client!.checkCaPem(o.caPem) : null;
  return {
    name,
    kind,
    url: url.url,
    base_dn: base,
    bind_dn: bindDn,
    licence_group: licenceGroup,
    filter,
    ca_file: o.caFile ?? null,
    ca_pem: caPem,
    insecure_plaintext: o.insecurePlaintext ? 1 : 0,
    interval_ms: o.interval ? parseInterval(o.interval) : DEFAULT_INTERVAL_MS,
    max_disable: o.maxDisable !== undefined && o.maxDisable !== null && o.maxDisable !== '' ? checkMaxDisable(o.maxDisable) : null,
    mapping: JSON.stringify(parseMappingOverrides(o.map ?? [])),
  };
}

function checkPasswordPair(bindDn: string | null, password: boolean): void {
  if (bindDn && !password) throw new AppError('MISSING_ARGUMENT', '--bind-dn needs --password-file (a file holding the bind password).', { field: 'password-file' });
  if (!bindDn && password) throw new AppError('MISSING_ARGUMENT', '--password-file needs --bind-dn.', { field: 'bind-dn' });
}

/** What the audit row says of the settings: never the password, only whether one is kept. */
function auditedSettings(r: CheckedSettings & { bind_password_sealed: string | null }) {
  return { kind: r.kind, url: r.url, base: r.base_dn, bindDn: r.bind_dn, password: r.bind_password_sealed ? 'sealed' : 'none', licenceGroup: r.licence_group, filter: r.filter, ca: r.ca_pem ? 'pem' : r.ca_file ? 'file' : 'none', plaintext: r.insecure_plaintext === 1 };
}

export async function addDirectoryConnection(s: TenantScope, o: NewDirectoryConnection): Promise<DirectoryConnectionView> {
  const checked = await checkSettings(o);
  checkPasswordPair(checked.bind_dn, !!o.password);
  const now = s.now();
  const row: DirectoryConnectionsTable = {
    id: s.newId(),
    tenant_id: s.tenant.id,
    ...checked,
    bind_password_sealed: o.password ? s.keys.seal(o.password) : null,
    key_version: s.keys.current,
    sync_mark: null,
    sync_source: null,
    last_full_at: null,
    created_at: now,
    updated_at: now,
  };
  return s.db.kysely.transaction().execute(async (trx) => {
    if (await findConnectionRow(trx, s, checked.name, false)) throw new AppError('DIRECTORY_EXISTS', `The tenant already has a directory connection named ${checked.name}.`, { field: 'name' });
    await trx.insertInto('directory_connections').values(row).execute();
    await audit(trx, s, 'directory.add', { label: checked.name }, auditedSettings(row));
    return connectionView(row);
  });
}

/**
 * Replaces the settings of a connection (its name stays: the page and the audit trail know it by
 * it). No password given keeps the sealed one while the bind DN stays the same. A change of what
 * is read (server, base, kind, filter, licence group, mapping) forgets the watermarks, so the
 * next pass is a full one against the new settings.
 */
export async function editDirectoryConnection(s: TenantScope, name: string, o: Omit<NewDirectoryConnection, 'name'>): Promise<DirectoryConnectionView> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const c = (await findConnectionRow(trx, s, name))!;
    const checked = await checkSettings({ ...o, name: c.name });
    const keep = !o.password && checked.bind_dn !== null && checked.bind_dn === c.bind_dn && c.bind_password_sealed !== null;
    checkPasswordPair(checked.bind_dn, keep || !!o.password);
    const sealed = o.password ? s.keys.seal(o.password) : keep ? c.bind_password_sealed : null;
    const source = (r: Pick<DirectoryConnectionsTable, 'url' | 'base_dn' | 'kind' | 'filter' | 'licence_group' | 'mapping'>) => JSON.stringify([r.url, r.base_dn, r.kind, r.filter, r.licence_group, r.mapping]);
    const reread = source(checked) !== source(c);
    const patch = {
      ...checked,
      bind_password_sealed: sealed,
      key_version: o.password ? s.keys.current : c.key_version,
      ...(reread ? { sync_mark: null, sync_source: null, group_mark: null, last_full_at: null } : {}),
      updated_at: s.now(),
    };
    await trx.updateTable('directory_connections').set(patch).where('id', '=', c.id).execute();
    await audit(trx, s, 'directory.edit', { label: c.name }, { ...auditedSettings(patch), passwordChanged: !!o.password, fullPassNext: reread });
    return connectionView({ ...c, ...patch });
  });
}

export async function findConnectionRow(trx: Trx, s: TenantScope, name: string, required = true): Promise<DirectoryConnectionsTable | undefined> {
  const r = await trx
    .selectFrom('directory_connections')
    .selectAll()
    .where('tenant_id', '=', s.tenant.id)
    .where(sql<string>`lower(name)`, '=', String(name ?? '').trim().toLowerCase())
    .executeTakeFirst();
  if (!r && required) throw new AppError('DIRECTORY_NOT_FOUND', `No directory connection named ${String(name).trim()}; \`dialin directory list\` shows them.`, { field: 'name' });
  return r;
}

export async function listDirectoryConnections(s: TenantScope): Promise<DirectoryConnectionView[]> {
  const rows = await s.db.kysely.selectFrom('directory_connections').selectAll().where('tenant_id', '=', s.tenant.id).orderBy('name').execute();
  return rows.map(connectionView);
}

export async function showDirectoryConnection(s: TenantScope, name: string): Promise<DirectoryConnectionView> {
  return connectionView((await findConnectionRow(s.db.kysely, s, name))!);
}

/** Removes the connection; its users stay (no longer linked), their dial-in state unchanged. */
export async function removeDirectoryConnection(s: TenantScope, name: string): Promise<{ name: string; unlinkedUsers: number }> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const c = (await findConnectionRow(trx, s, name))!;
    const r = await trx.updateTable('users').set({ directory_id: null, directory_key: null }).where('tenant_id', '=', s.tenant.id).where('directory_id', '=', c.id).executeTakeFirst();
    await trx.deleteFrom('directory_sync_leases').where('connection_id', '=', c.id).execute();
    await trx.deleteFrom('directory_connections').where('id', '=', c.id).execute();
    const unlinkedUsers = Number(r.numUpdatedRows);
    await audit(trx, s, 'directory.remove', { label: c.name }, { unlinkedUsers });
    return { name: c.name, unlinkedUsers };
  });
}

/** A connection's settings as its edit form shows them: never the password, only whether one is kept. */
export async function directoryConnectionSettings(s: TenantScope, name: string): Promise<Omit<NewDirectoryConnection, 'password'> & { hasPassword: boolean }> {
  const c = (await findConnectionRow(s.db.kysely, s, name))!;
  const overrides = JSON.parse(c.mapping) as Record<string, string[]>;
  return {
    name: c.name,
    url: c.url,
    base: c.base_dn,
    bindDn: c.bind_dn,
    hasPassword: c.bind_password_sealed !== null,
    kind: c.kind,
    licenceGroup: c.licence_group,
    filter: c.filter,
    caFile: c.ca_file,
    caPem: c.ca_pem ?? null,
    interval: formatInterval(c.interval_ms),
    maxDisable: c.max_disable === null ? null : String(c.max_disable),
    map: Object.entries(overrides).map(([f, a]) => `${f}=${a.join('|')}`),
    insecurePlaintext: c.insecure_plaintext === 1,
  };
}
