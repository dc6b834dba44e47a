import fs from 'node:fs';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { Client, FilterParser, InvalidCredentialsError, NoSuchObjectError, ResultCodeError, type Entry } from 'ldapts';
import { AppError, isAppError } from '../../core/errors.ts';
import { printable } from '../../core/email-address.ts';
import { isUnder, normalizeDn } from '../../core/ldap-dn.ts';
import type { DirectoryEntry, DirectoryKind } from '../../core/directory-mapping.ts';
import { parseDirectoryUrl } from '../../core/directory-settings.ts';

/**
 * The LDAP side of a directory connection (ldapts): a verified TLS session (ldaps://, or
 * ldap:// upgraded with StartTLS unless plaintext was asked for), a simple bind, paged searches
 * and the licence group's members with nested groups resolved. Every failure becomes an
 * AppError naming the setting at fault (url, ca-file, password, base, filter, licence-group).
 */

export interface DirectoryTarget {
  kind: DirectoryKind;
  url: string;
  baseDn: string;
  bindDn: string | null;
  password: string | null;
  caFile: string | null;
  /** CA certificate(s) as PEM, kept with the connection; preferred to caFile. */
  caPem?: string | null;
  insecurePlaintext: boolean;
  /** Milliseconds for connecting and for each operation (default 30 s). */
  timeoutMs?: number;
}

const PAGE_SIZE = 500;
const AD_IN_CHAIN = '1.2.840.113556.1.4.1941';
const AD_BIT_AND = '1.2.840.113556.1.4.803';

/** Which domain controller answered and how far its changes go (AD's uSNChanged polling). */
export interface DcState {
  /** The DC's NTDS Settings object (rootDSE dsServiceName): the same DC must answer every pass. */
  dsServiceName: string;
  /** That object's invocationId: it changes when the DC's database is restored. */
  invocationId: string;
  /** The rootDSE's highestCommittedUSN, read before the pass: the next pass asks for what is above it. */
  highestCommittedUsn: string;
}
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/i;

/** Throws DIRECTORY_CONFIG_INVALID when the filter is not RFC 4515 syntax. */
export function checkFilter(filter: string): string {
  try {
    FilterParser.parseString(filter);
  } catch (e) {
    throw new AppError('DIRECTORY_CONFIG_INVALID', `--filter "${printable(filter)}" is not an LDAP filter: ${(e as Error).message}.`, { field: 'filter' });
  }
  return filter;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
const MAX_PEM = 64 * 1024;

/**
 * CA certificate(s) pasted or uploaded as PEM: one or more CERTIFICATE blocks, each one an X.509
 * certificate Node can read. Returns the blocks alone (text around them dropped), or throws
 * DIRECTORY_CONFIG_INVALID naming the field.
 */
export function checkCaPem(input: string): string {
  const bad = (why: string) => new AppError('DIRECTORY_CONFIG_INVALID', `The CA certificate ${why}; paste or upload the PEM text (-----BEGIN CERTIFICATE----- …).`, { field: 'ca-pem' });
  if (input.length > MAX_PEM) throw bad(`is longer than ${MAX_PEM / 1024} KiB`);
  const blocks = input.replace(/\r\n/g, '\n').match(PEM_BLOCK) ?? [];
  if (!blocks.length) throw bad('holds no PEM certificate');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw bad('is not a readable X.509 certificate');
    }
  }
  return `${blocks.join('\n')}\n`;
}

/** An open, bound session; close it when done. */
export class DirectorySession {
  private constructor(
    private readonly client: Client,
    private readonly target: DirectoryTarget,
  ) {}

  static async open(target: DirectoryTarget): Promise<DirectorySession> {
    const u = parseDirectoryUrl(target.url);
    let ca: Buffer | string | undefined = target.caPem ?? undefined;
    if (!ca && target.caFile) {
      try {
        ca = fs.readFileSync(target.caFile);
      } catch {
        throw new AppError('DIRECTORY_CONFIG_INVALID', `Cannot read the CA file ${target.caFile}.`, { field: 'ca-file' });
      }
    }
    const timeout = target.timeoutMs ?? 30_000;
    const tlsOptions = { ...(ca ? { ca: [ca] } : {}), rejectUnauthorized: true, minVersion: 'TLSv1.2' as const, ...(net.isIP(u.host) ? {} : { servername: u.host }) };
    const client = new Client({ url: u.url, timeout, connectTimeout: timeout, ...(u.secure ? { tlsOptions } : {}) });
    const session = new DirectorySession(client, target);
    try {
      // An address, not a name: the certificate must list it (without `host`, StartTLS would check "localhost").
      if (!u.secure && !target.insecurePlaintext) await client.startTLS(net.isIP(u.host) ? { ...tlsOptions, host: u.host } : tlsOptions);
      if (target.bindDn) await client.bind(target.bindDn, target.password ?? '');
    } catch (e) {
      await session.close();
      throw session.translate(e, 'bind');
    }
    return session;
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => {});
  }

  /** Turns a failure into an error naming what to fix. */
  translate(e: unknown, during: 'bind' | 'search' | 'group', field = 'base'): AppError {
    if (isAppError(e)) return e;
    const err = e as Error & { code?: string | number };
    const t = this.target;
    if (e instanceof InvalidCredentialsError) return new AppError('DIRECTORY_BIND_FAILED', `${t.url} refused the bind as ${t.bindDn ?? '(anonymous)'}: wrong --bind-dn or --password-file.`, { field: 'password', cause: e });
    if (e instanceof NoSuchObjectError) {
      return during === 'group'
        ? new AppError('DIRECTORY_SEARCH_FAILED', `The licence group ${field} does not exist in ${t.url}.`, { field: 'licence-group', cause: e })
        : new AppError('DIRECTORY_SEARCH_FAILED', `The base DN ${t.baseDn} does not exist in ${t.url}.`, { field: 'base', cause: e });
    }
    if (e instanceof ResultCodeError) {
      if (during === 'bind') return new AppError('DIRECTORY_BIND_FAILED', `${t.url} refused the bind as ${t.bindDn ?? '(anonymous)'}: ${err.message} (LDAP result ${err.code}).`, { field: 'bind-dn', cause: e });
      return new AppError('DIRECTORY_SEARCH_FAILED', `${t.url} refused the search under ${t.baseDn}: ${err.message} (LDAP result ${err.code}).`, { field: during === 'group' ? 'licence-group' : 'filter', cause: e });
    }
    if (typeof err.code === 'string' && TLS_CODES.test(err.code)) {
      return new AppError('DIRECTORY_UNAVAILABLE', `The certificate of ${t.url} is not trusted (${err.code}: ${err.message}); give the CA that signed it with --ca-file.`, { field: 'ca-file', cause: e });
    }
    if (/filter/i.test(err.message ?? '')) return new AppError('DIRECTORY_CONFIG_INVALID', `--filter: ${err.message}.`, { field: 'filter', cause: e });
    return new AppError('DIRECTORY_UNAVAILABLE', `${t.url} cannot be reached or stopped answering during the ${during}: ${err.message ?? String(e)}.`, { field: 'url', cause: e });
  }

  /**
   * Every entry under the base that matches the filter, page by page (no size limit), handed to
   * `onEntry`. A failure on any page rejects: a partial result is never used.
   */
  async search(filter: string, attributes: string[], onEntry: (e: DirectoryEntry) => void): Promise<void> {
    checkFilter(filter);
    const binary = this.target.kind === 'ad' ? ['objectGUID'] : [];
    try {
      for await (const page of this.client.searchPaginated(this.target.baseDn, { scope: 'sub', filter, attributes, explicitBufferAttributes: binary, paged: { pageSize: PAGE_SIZE } })) {
        for (const e of page.searchEntries) onEntry(toEntry(e));
      }
    } catch (e) {
      throw this.translate(e, 'search');
    }
  }

  /** The DNs of the entries the filter selects whose attributes hold one of the values. */
  async dnsWith(filter: string, attributes: readonly string[], values: readonly string[]): Promise<string[]> {
    const any = attributes.flatMap((a) => values.map((v) => `(${a}=${escapeValue(v)})`)).join('');
    const out: string[] = [];
    await this.search(`(&${filter.startsWith('(') ? filter : `(${filter})`}(|${any}))`, ['1.1'], (e) => out.push(e.dn));
    return out;
  }

  /** AD: the rootDSE's highestCommittedUSN and the answering DC's identity, read before a pass. */
  async dcState(): Promise<DcState> {
    try {
      const found = (await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN', 'dsServiceName'] })).searchEntries[0];
      const root = found ? toEntry(found).attrs : {};
      const dsServiceName = root.dsservicename?.[0];
      const highestCommittedUsn = root.highestcommittedusn?.[0];
      if (!dsServiceName || !highestCommittedUsn || !/^[0-9]+$/.test(highestCommittedUsn)) {
        throw new AppError('DIRECTORY_SEARCH_FAILED', `${this.target.url} is not an Active Directory domain controller (its rootDSE has no highestCommittedUSN or dsServiceName); use --kind openldap.`, { field: 'kind' });
      }
      const ntds = (await this.client.search(dsServiceName, { scope: 'base', filter: '(objectClass=*)', attributes: ['invocationId'], explicitBufferAttributes: ['invocationId'] })).searchEntries[0];
      const invocationId = ntds ? toEntry(ntds).attrs.invocationid?.[0] : undefined;
      if (!invocationId) throw new AppError('DIRECTORY_SEARCH_FAILED', `${this.target.url} does not show the invocationId of ${dsServiceName}; the sync account needs read access to it.`, { field: 'bind-dn' });
      return { dsServiceName, invocationId, highestCommittedUsn };
    } catch (e) {
      throw this.translate(e, 'search');
    }
  }

  /** How many entries the filter selects. */
  async count(filter: string): Promise<number> {
    let n = 0;
    await this.search(filter, ['1.1'], () => n++);
    return n;
  }

  /**
   * The normalised DNs of the licence group's members, nested groups included: AD answers with
   * its in-chain matching rule, leaving out groups and disabled accounts (userAccountControl bit 0x2, so an
   * incremental pass that does not read an unchanged disabled person never licenses them); on OpenLDAP member lists are followed (groupOfNames `member`,
   * groupOfUniqueNames `uniqueMember`), each group once, so a cycle ends.
   */
  async licenceMembers(groupDn: string): Promise<Set<string>> {
    if (this.target.kind === 'ad') {
      const out = new Set<string>();
      await this.search(`(&(memberOf:${AD_IN_CHAIN}:=${escapeValue(groupDn)})(!(objectClass=group))(!(userAccountControl:${AD_BIT_AND}:=2)))`, ['1.1'], (e) => out.add(normalizeDn(e.dn)));
      await this.readGroup(groupDn, true); // a missing group is an error, not an empty licence list
      return out;
    }
    // The groups under the base in one paged search; others (the licence group outside the base, …) one by one.
    const groups = new Map<string, string[]>();
    try {
      for await (const page of this.client.searchPaginated(this.target.baseDn, { scope: 'sub', filter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))', attributes: ['member', 'uniqueMember'], paged: { pageSize: PAGE_SIZE } })) {
        for (const e of page.searchEntries) groups.set(normalizeDn(e.dn), membersOf(toEntry(e)));
      }
    } catch (e) {
      throw this.translate(e, 'search');
    }
    const members = new Set<string>();
    const visited = new Set<string>();
    const queue = [normalizeDn(groupDn)];
    let first = true;
    // An index, not shift(): shift is linear, and a licence group may have 100,000 members.
    for (let head = 0; head < queue.length; head++) {
      const dn = queue[head]!;
      if (visited.has(dn)) continue;
      visited.add(dn);
      let list = groups.get(dn);
      if (!list && (first || !isUnder(dn, this.target.baseDn))) list = (await this.readGroup(dn, first)) ?? undefined;
      first = false;
      if (list) for (const m of list) queue.push(normalizeDn(m));
      else members.add(dn);
    }
    return members;
  }

  /**
   * A fingerprint of the groups a membership can come from: every group under the base and the
   * licence group itself, each DN with its change stamp (AD: uSNChanged; OpenLDAP: entryCSN), sorted.
   * Member lists are not read, so this is cheap. The same fingerprint at
   * the next pass means no group was added, removed or changed; null when the server shows no stamp.
   */
  async groupsFingerprint(groupDn: string): Promise<string | null> {
    // A stamp that changes with every write (modifyTimestamp has one-second steps: two changes in one second would look like one).
    const stamps = this.target.kind === 'ad' ? ['uSNChanged'] : ['entryCSN'];
    const filter = this.target.kind === 'ad' ? '(objectClass=group)' : '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
    const lines: string[] = [];
    let unstamped = false;
    const note = (e: DirectoryEntry) => {
      const stamp = stamps.map((a) => e.attrs[a.toLowerCase()]?.[0]).find(Boolean);
      if (!stamp) unstamped = true;
      lines.push(`${normalizeDn(e.dn)}\t${stamp ?? ''}`);
    };
    await this.search(filter, stamps, note);
    if (!isUnder(normalizeDn(groupDn), this.target.baseDn)) {
      try {
        const e = (await this.client.search(groupDn, { scope: 'base', filter: '(objectClass=*)', attributes: stamps })).searchEntries[0];
        if (e) note(toEntry(e));
      } catch (e) {
        throw this.translate(e, 'group', groupDn);
      }
    }
    if (unstamped) return null;
    return lines.sort().join('\n');
  }

  /** A group's member DNs, or null when the entry is not a group (or is missing and `required` is false). */
  private async readGroup(dn: string, required: boolean): Promise<string[] | null> {
    try {
      const r = await this.client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['objectClass', 'member', 'uniqueMember'] });
      const e = r.searchEntries[0];
      if (!e) return null;
      const entry = toEntry(e);
      const classes = (entry.attrs.objectclass ?? []).map((c) => c.toLowerCase());
      return classes.some((c) => c === 'groupofnames' || c === 'groupofuniquenames' || c === 'group') ? membersOf(entry) : null;
    } catch (e) {
      if (e instanceof NoSuchObjectError && !required) return null;
      throw this.translate(e, 'group', dn);
    }
  }
}

function membersOf(e: DirectoryEntry): string[] {
  // uniqueMember values may end with #'bitstring' (RFC 4519).
  return [...(e.attrs.member ?? []), ...(e.attrs.uniquemember ?? []).map((v) => v.replace(/#'[01]*'B$/, ''))];
}

/** RFC 4515 escaping of an assertion value. */
function escapeValue(v: string): string {
  return v.replace(/[\\*()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** AD's objectGUID bytes in the usual textual form (the first three groups little-endian). */
function guidText(b: Buffer): string {
  if (b.length !== 16) return b.toString('hex');
  const h = (i: number[]) => i.map((x) => b[x]!.toString(16).padStart(2, '0')).join('');
  return `${h([3, 2, 1, 0])}-${h([5, 4])}-${h([7, 6])}-${h([8, 9])}-${h([10, 11, 12, 13, 14, 15])}`;
}

function toEntry(e: Entry): DirectoryEntry {
  const attrs: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(e)) {
    if (name === 'dn') continue;
    const values = Array.isArray(value) ? value : [value];
    attrs[name.toLowerCase()] = values.map((v) => (Buffer.isBuffer(v) ? (name.toLowerCase() === 'objectguid' || name.toLowerCase() === 'invocationid' ? guidText(v) : v.toString('utf8')) : String(v)));
  }
  return { dn: e.dn, attrs };
}
