import crypto from 'node:crypto';
import { AppError, isAppError } from '../core/errors.ts';
import { mapEntry, requestedAttributes, type DirectoryPerson, type MappedEntry } from '../core/directory-mapping.ts';
import { planSync, usersToCompare, type PlanCounts, type PlanInput, type PlanUser, type SyncPlan } from '../core/directory-plan.ts';
import { normalizeDn } from '../core/ldap-dn.ts';
import type { DirectoryConnectionsTable, UsersTable } from '../adapters/db/schema.ts';
import { DirectorySession } from '../adapters/ldap/directory-client.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { connectionFilter, connectionMapping, findConnectionRow, targetOf } from './directory-connections.ts';
import { enableUsers } from './enable-users.ts';
import { disableUsers } from './disable-user.ts';
import { newUserRow } from './users.ts';
import type { ItemResult } from './bulk.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * `dialin directory test|sync|status`: reads the directory (all of it, or what changed since the
 * last pass), plans the changes purely (core/directory-plan.ts) and applies the plan in ONE
 * transaction through the same use-cases as Enable-/Disable-CsOnlineDialInConferencingUser, so
 * the welcome and turned-off mails and the tenant's AutomaticallySendEmailsToUsers switch behave
 * exactly as they do for the cmdlets (a chunk of users at a time, the mails in the same transaction). Nothing is applied when the directory fails at any point,
 * or when the disables exceed the guard without --allow-mass-disable. Each sync (except a dry
 * run) leaves one run row and one audit row.
 */

const FULL_EVERY_MS = 24 * 3_600_000;
const LEASE_MS = 30 * 60_000;
const MAX_SKIPPED_KEPT = 100;
/** Changes and skipped entries a report lists (the counts are complete). */
const MAX_LISTED = 100;
const CHUNK = 500;

export interface SyncOptions {
  dryRun?: boolean;
  full?: boolean;
  allowMassDisable?: boolean;
}

export interface SyncReport {
  Connection: string;
  Mode: 'full' | 'incremental';
  Status: 'applied' | 'dry-run' | 'held' | 'failed';
  Counts: PlanCounts;
  DisableLimit: number;
  /** What was (or would be) done, one line per user touched: the first 100 (the counts are complete, the audit trail has each one). */
  Changes: { Action: string; Licence: string | null; Sip: string | null; Dn: string; Changes: string[] }[];
  /** How many changes the list leaves out. */
  ChangesNotListed: number;
  /** The first 100 entries skipped, with why. */
  Skipped: { Dn: string; Sip: string | null; Reason: string }[];
  SkippedNotListed: number;
}

/** What one read of the directory gives the plan. */
interface DirectoryRead {
  entries: MappedEntry[];
  full: boolean;
  newest: string | null;
  source: string | null;
  /** sha-256 of the groups' fingerprint (groupsFingerprint), or null. */
  groupMark: string | null;
  session: DirectorySession;
}

/**
 * Reads the directory: every person the filter selects (or those changed since the last pass), mapped, and the
 * fingerprint of its groups. The session stays open for the licence group and `holders`; the caller closes it.
 */
async function readDirectory(s: TenantScope, c: DirectoryConnectionsTable, wantIncremental: boolean): Promise<DirectoryRead> {
  const session = await DirectorySession.open(targetOf(s, c));
  try {
    const mapping = connectionMapping(c);
    const base = connectionFilter(c);
    const within = (clause: string) => `(&${base.startsWith('(') ? base : `(${base})`}${clause})`;
    const entries: MappedEntry[] = [];
    const keep = compactor();
    let filter = base;
    let full = !wantIncremental;
    let newest: string | null = null;
    let source: string | null = null;
    // Read before the entries: a group changed while this pass runs gives another fingerprint next time. Not on AD:
    // deleting a member there takes it out of its groups without a new uSNChanged on them (Samba shows it), and the
    // deleted entry is not in the search, so AD's licence list is read on every pass.
    const fingerprint = c.licence_group && c.kind !== 'ad' ? await session.groupsFingerprint(c.licence_group) : null;
    const groupMark = fingerprint === null ? null : crypto.createHash('sha256').update(fingerprint).digest('hex');
    if (c.kind === 'ad') {
      // uSNChanged polling: the DC's highestCommittedUSN read BEFORE the search is the next mark (a change
      // made during the pass is read again next time, never missed); the mark only means something on the
      // same DC with the same database, so another DC or invocationId means a full pass.
      const dc = await session.dcState();
      source = JSON.stringify({ dsServiceName: dc.dsServiceName, invocationId: dc.invocationId });
      if (c.sync_source !== source || !c.sync_mark || !/^[0-9]+$/.test(c.sync_mark)) full = true;
      if (!full) filter = within(`(uSNChanged>=${(BigInt(c.sync_mark!) + 1n).toString()})`);
      newest = dc.highestCommittedUsn;
      await session.search(filter, requestedAttributes(mapping), (e) => entries.push(keep(mapEntry(e, mapping))));
    } else {
      const modified = mapping.modified[0];
      const csnMark = csnOf(c.sync_source);
      if (!full && c.sync_mark && modified) {
        // modifyTimestamp has one-second steps: `>=` alone reads again every entry of the mark's second (most
        // of a bulk load). The newest entryCSN (microseconds) seen then makes the mark exclusive — once that
        // second is old enough that no write stamped in it can still be committing (csnTrusted).
        const exclusive = csnMark && csnTrusted(csnMark, s.now()) ? `(entryCSN>=${csnMark})(!(entryCSN=${csnMark}))` : '';
        filter = within(`(${modified}>=${c.sync_mark})${exclusive}`);
      }
      // The newest change of any entry read, skipped ones included, so the next pass starts after it.
      const stamp = modified?.toLowerCase();
      let csn = csnMark;
      await session.search(filter, [...requestedAttributes(mapping), 'entryCSN'], (e) => {
        const m = stamp ? e.attrs[stamp]?.[0] : undefined;
        if (m && (!newest || m > newest)) newest = m;
        const x = e.attrs.entrycsn?.[0];
        if (x && CSN.test(x) && (!csn || x > csn)) csn = x;
        entries.push(keep(mapEntry(e, mapping)));
      });
      source = csn ? JSON.stringify({ entryCSN: csn }) : null;
    }
    return { entries, full, newest, source, groupMark, session };
  } catch (e) {
    await session.close();
    throw e;
  }
}

/**
 * A first sync holds every entry of the directory until the plan is applied: values most people share
 * (language, title, department, the stamps of one bulk load…) are kept once, and a normalised DN equal
 * to the DN is the same string. About a quarter less heap at 100,000 entries.
 */
function compactor(): (m: MappedEntry) => MappedEntry {
  const seen = new Map<string, string>();
  const one = (v: string): string => {
    const had = seen.get(v);
    if (had !== undefined) return had;
    if (seen.size < 20_000) seen.set(v, v);
    return v;
  };
  return (m) => {
    if (!('person' in m)) return m;
    const p = m.person;
    if (p.ndn === p.dn) p.ndn = p.dn;
    p.language = one(p.language);
    if (p.modified) p.modified = one(p.modified);
    for (const k of Object.keys(p.attrs)) p.attrs[k] = one(p.attrs[k]!);
    return m;
  };
}

/** OpenLDAP's entryCSN: `YYYYmmddHHMMSS.ffffffZ#counter#sid#mod`, ordered as text within one format. */
const CSN = /^[0-9]{14}\.[0-9]{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/i;
/** A write stamped this long before a pass has committed: its CSN order is then the commit order. */
const CSN_SETTLED_MS = 5_000;

function csnOf(source: string | null): string | null {
  if (!source) return null;
  try {
    const v = (JSON.parse(source) as { entryCSN?: unknown }).entryCSN;
    return typeof v === 'string' && CSN.test(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Whether the mark's CSN may bound the next read. Two writes can commit out of their CSN order while
 * they run; once the mark's second is CSN_SETTLED_MS old (by this clock: a directory whose clock runs
 * ahead only makes the pass read more), every write stamped up to it has committed.
 */
function csnTrusted(csn: string, now: number): boolean {
  const t = Date.UTC(+csn.slice(0, 4), +csn.slice(4, 6) - 1, +csn.slice(6, 8), +csn.slice(8, 10), +csn.slice(10, 12), +csn.slice(12, 14) + 1);
  return Number.isFinite(t) && now - t >= CSN_SETTLED_MS;
}

/** Who else in the directory has a new person's SIP address (an incremental pass did not read them all). */
async function sipHolders(c: DirectoryConnectionsTable, session: DirectorySession, sips: string[]): Promise<Map<string, string[]>> {
  const mapping = connectionMapping(c);
  const out = new Map<string, string[]>();
  for (const sip of sips) {
    const address = sip.replace(/^sip:/, '');
    out.set(sip, await session.dnsWith(connectionFilter(c), mapping.sip, [address, `sip:${address}`]));
  }
  return out;
}

const LINK_COLUMNS = ['id', 'sip', 'provider', 'dialin_enabled', 'directory_id', 'directory_key', 'directory_dn', 'directory_licensed'] as const;
const DETAIL_COLUMNS = ['email', 'display_name', 'language', 'phone', 'directory_attrs'] as const;

/** Every user of the tenant with the few columns the plan reads of all; details for those the entries name. */
async function allUsers(s: TenantScope, c: DirectoryConnectionsTable, entries: readonly MappedEntry[]): Promise<PlanUser[]> {
  const users = (await s.db.kysely.selectFrom('users').select(LINK_COLUMNS).where('tenant_id', '=', s.tenant.id).execute()) as PlanUser[];
  const byId = new Map(users.map((u) => [u.id, u]));
  const ids = usersToCompare(c.id, entries, users);
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const d of await s.db.kysely.selectFrom('users').select(['id', ...DETAIL_COLUMNS]).where('tenant_id', '=', s.tenant.id).where('id', 'in', ids.slice(i, i + CHUNK)).execute()) Object.assign(byId.get(d.id)!, d);
  }
  return users;
}

/** Only the users the entries name (same key or SIP address), with details: an incremental pass with no group changed. */
async function usersNamedBy(s: TenantScope, c: DirectoryConnectionsTable, entries: readonly MappedEntry[]): Promise<PlanUser[]> {
  const keys = entries.map((e) => ('person' in e ? e.person.key : e.skipped.key)).filter((k): k is string => !!k);
  const sips = entries.flatMap((e) => ('person' in e ? [e.person.sip] : []));
  const found = new Map<string, PlanUser>();
  const q = () => s.db.kysely.selectFrom('users').select([...LINK_COLUMNS, ...DETAIL_COLUMNS]).where('tenant_id', '=', s.tenant.id);
  for (let i = 0; i < keys.length; i += CHUNK) for (const u of await q().where('directory_id', '=', c.id).where('directory_key', 'in', keys.slice(i, i + CHUNK)).execute()) found.set(u.id, u as PlanUser);
  for (let i = 0; i < sips.length; i += CHUNK) for (const u of await q().where('sip', 'in', sips.slice(i, i + CHUNK)).execute()) found.set(u.id, u as PlanUser);
  return [...found.values()];
}

/**
 * The plan's input. The licence group (up to 100,000 members) is read on a full pass and whenever a group
 * changed (OpenLDAP; AD's is read every pass); when none did, an incremental pass reads only the users the
 * changed entries name and takes each entry's membership from what the last pass stored — it reads the group
 * anyway when an entry is new, renamed or has no stored membership.
 */
async function planInput(s: TenantScope, c: DirectoryConnectionsTable, dir: DirectoryRead): Promise<PlanInput> {
  const common = { connectionId: c.id, full: dir.full, entries: dir.entries, maxDisable: c.max_disable };
  if (!c.licence_group) return { ...common, licensed: null, users: await allUsers(s, c, dir.entries) };
  const groupsUnchanged = !dir.full && dir.groupMark !== null && dir.groupMark === (c.group_mark ?? null);
  if (!groupsUnchanged) return { ...common, licensed: await dir.session.licenceMembers(c.licence_group), users: await allUsers(s, c, dir.entries) };
  const users = await usersNamedBy(s, c, dir.entries);
  const linkedBy = new Map(users.filter((u) => u.directory_id === c.id && u.directory_key).map((u) => [u.directory_key!, u]));
  const dns = dir.entries.map((e) => ('person' in e ? { key: e.person.key, ndn: e.person.ndn, dn: e.person.dn } : { key: e.skipped.key, ndn: normalizeDn(e.skipped.dn), dn: e.skipped.dn }));
  let licensed: Set<string> | null = null;
  let licensedCount: number | undefined;
  if (dns.every((d) => d.key && linkedBy.get(d.key)?.directory_licensed != null && normalizeDn(linkedBy.get(d.key)!.directory_dn ?? '') === d.ndn)) {
    licensed = new Set(dns.filter((d) => linkedBy.get(d.key!)!.directory_licensed === 1).map((d) => d.ndn));
  }
  if (licensed) {
    // No membership changed: the group has as many members as at the last applied pass.
    const last = await s.db.kysely.selectFrom('directory_sync_runs').select('counts').where('connection_id', '=', c.id).where('status', '=', 'applied').orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    licensedCount = last ? (JSON.parse(last.counts) as PlanCounts).licensed : undefined;
    // The guard's base: the directory's licensed users (the plan read only some of them).
    return { ...common, licensed, users, groupsUnchanged, licensedCount, enabledBefore: licensedCount };
  }
  return { ...common, licensed: await dir.session.licenceMembers(c.licence_group), users, groupsUnchanged };
}

/** Takes the connection's lease when free or expired; false when another process holds it. */
async function takeLease(s: TenantScope, connectionId: string, owner: string): Promise<boolean> {
  const now = s.now();
  await s.db.kysely
    .insertInto('directory_sync_leases')
    .values({ connection_id: connectionId, owner, lease_until: now + LEASE_MS })
    .onConflict((oc) => oc.column('connection_id').doUpdateSet({ owner, lease_until: now + LEASE_MS }).where('directory_sync_leases.lease_until', '<', now))
    .execute();
  const row = await s.db.kysely.selectFrom('directory_sync_leases').select('owner').where('connection_id', '=', connectionId).executeTakeFirst();
  return row?.owner === owner;
}

async function releaseLease(s: TenantScope, connectionId: string, owner: string): Promise<void> {
  await s.db.kysely.deleteFrom('directory_sync_leases').where('connection_id', '=', connectionId).where('owner', '=', owner).execute();
}

function report(c: DirectoryConnectionsTable, mode: SyncReport['Mode'], status: SyncReport['Status'], plan: SyncPlan | null, extraSkipped: SyncReport['Skipped'] = []): SyncReport {
  const changes: SyncReport['Changes'] = [];
  const skipped: SyncReport['Skipped'] = [];
  let changesNotListed = 0;
  let skippedNotListed = 0;
  for (const i of plan?.items ?? []) {
    if (i.action !== 'skip') {
      if (changes.length < MAX_LISTED) changes.push({ Action: i.action, Licence: i.licence, Sip: i.sip, Dn: i.dn, Changes: i.changes });
      else changesNotListed++;
    } else if (skipped.length < MAX_LISTED) skipped.push({ Dn: i.dn, Sip: i.sip, Reason: i.reason ?? '' });
    else skippedNotListed++;
  }
  for (const k of extraSkipped) {
    if (skipped.length < MAX_LISTED) skipped.push(k);
    else skippedNotListed++;
  }
  return {
    Connection: c.name,
    Mode: mode,
    Status: status,
    Counts: plan?.counts ?? { entries: 0, licensed: 0, create: 0, adopt: 0, update: 0, enable: 0, disable: 0, gone: 0, skip: 0 },
    DisableLimit: plan?.disableLimit ?? 0,
    Changes: changes,
    ChangesNotListed: changesNotListed,
    Skipped: skipped,
    SkippedNotListed: skippedNotListed,
  };
}

async function recordRun(trx: Trx, s: TenantScope, c: DirectoryConnectionsTable, r: SyncReport, startedAt: number, error: AppError | null): Promise<void> {
  await trx
    .insertInto('directory_sync_runs')
    .values({
      id: s.newId(),
      tenant_id: s.tenant.id,
      connection_id: c.id,
      started_at: startedAt,
      finished_at: s.now(),
      status: r.Status,
      mode: r.Mode,
      counts: JSON.stringify(r.Counts),
      skipped: JSON.stringify(r.Skipped.slice(0, MAX_SKIPPED_KEPT)),
      error_code: error?.code ?? null,
      error: error?.message ?? null,
      actor: s.actor,
    })
    .execute();
  await insertAuditRows(trx, [auditRow(s, 'directory.sync', { label: c.name }, { status: r.Status, mode: r.Mode, ...r.Counts, ...(error ? { error: error.code } : {}) })]);
}

export async function syncDirectory(s: TenantScope, name: string, o: SyncOptions = {}): Promise<SyncReport> {
  const c = (await findConnectionRow(s.db.kysely, s, name))!;
  const startedAt = s.now();
  // AD may still turn an incremental pass into a full one once it knows which DC answers (readDirectory).
  let full = !!o.full || !c.sync_mark || !c.last_full_at || startedAt - c.last_full_at >= FULL_EVERY_MS;
  let mode: SyncReport['Mode'] = full ? 'full' : 'incremental';
  const owner = s.newId();
  if (!o.dryRun && !(await takeLease(s, c.id, owner))) throw new AppError('DIRECTORY_SYNC_BUSY', `Another process is syncing ${c.name} right now; try again when it is done.`, { field: 'name' });
  try {
    let plan: SyncPlan;
    try {
      const dir = await readDirectory(s, c, !full);
      full = dir.full;
      mode = full ? 'full' : 'incremental';
      const newest = dir.newest;
      try {
        const input = await planInput(s, c, dir);
        plan = planSync(input);
        const newcomers = plan.items.filter((i) => (i.action === 'create' || i.action === 'adopt') && i.sip).map((i) => i.sip!);
        // A new person's SIP address may be that of an entry this incremental pass did not read: ask the directory.
        if (!full && newcomers.length) plan = planSync({ ...input, sipHolders: await sipHolders(c, dir.session, newcomers) });
      } finally {
        await dir.session.close();
      }
      // The plan's items hold what is still needed; the entries go, and each chunk's people once applied (applyPlan).
      dir.entries.length = 0;
      if (o.dryRun) return report(c, mode, 'dry-run', plan);
      if (plan.overLimit && !o.allowMassDisable) {
        const r = report(c, mode, 'held', plan);
        await s.db.kysely.transaction().execute((trx) => recordRun(trx, s, c, r, startedAt, null));
        return r;
      }
      const refused: SyncReport['Skipped'] = [];
      await s.db.kysely.transaction().execute(async (trx) => {
        await applyPlan(trx, s, c, plan, refused);
        // AD: the DC's highestCommittedUSN (a number, and a new DC's may be lower); OpenLDAP: the newest modifyTimestamp.
        const mark: string | null = c.kind === 'ad' ? newest : newest && (!c.sync_mark || newest > c.sync_mark) ? newest : c.sync_mark;
        // OpenLDAP: the newest entryCSN goes with the mark (readDirectory keeps the larger of the old and the new).
        await trx.updateTable('directory_connections').set({ sync_mark: mark, sync_source: dir.source, group_mark: dir.groupMark, last_full_at: full ? startedAt : c.last_full_at, updated_at: s.now() }).where('id', '=', c.id).execute();
        await recordRun(trx, s, c, report(c, mode, 'applied', plan, refused), startedAt, null);
      });
      if (plan.counts.enable || plan.counts.disable) s.onMailQueued?.();
      return report(c, mode, 'applied', plan, refused);
    } catch (e) {
      if (!isAppError(e)) throw e;
      await s.db.kysely.transaction().execute((trx) => recordRun(trx, s, c, report(c, mode, 'failed', null), startedAt, e));
      throw e;
    }
  } finally {
    if (!o.dryRun) await releaseLease(s, c.id, owner);
  }
}

function directoryColumns(c: DirectoryConnectionsTable, p: DirectoryPerson) {
  return { directory_id: c.id, directory_key: p.key, directory_dn: p.dn, directory_attrs: JSON.stringify(p.attrs) };
}

async function rowsById(trx: Trx, s: TenantScope, ids: string[]): Promise<UsersTable[]> {
  const out: UsersTable[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) out.push(...(await trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('id', 'in', ids.slice(i, i + CHUNK)).execute()));
  return out;
}

/**
 * Applies the plan inside the caller's transaction, CHUNK items at a time: in each chunk the users first,
 * then their licences (the welcome and turned-off mails queued with them), so a first sync of a whole
 * directory never holds more than a chunk of rows and the new users' rows are enabled as built, not read back.
 */
async function applyPlan(trx: Trx, s: TenantScope, c: DirectoryConnectionsTable, plan: SyncPlan, refused: SyncReport['Skipped']): Promise<void> {
  const now = s.now();
  const enable = enableUsers(s, { bridge: {} });
  const enableNew = enableUsers(s, { bridge: {}, insertNewRows: true });
  const disable = disableUsers(s, {});
  const note = (results: ItemResult[]) => {
    for (const r of results) if (r.outcome === 'skipped') refused.push({ Dn: '', Sip: r.user ?? r.input, Reason: r.reason ?? r.code ?? 'refused' });
  };
  for (let k = 0; k < plan.items.length; k += CHUNK) {
    const creates: UsersTable[] = [];
    const audits: ReturnType<typeof auditRow>[] = [];
    const createdToEnable: UsersTable[] = [];
    const toEnable: string[] = [];
    const toDisable: string[] = [];
    for (const i of plan.items.slice(k, k + CHUNK)) {
      const p = i.person;
      if (i.action === 'create' && p) {
        const row: UsersTable = { ...newUserRow(s, { UserUri: p.sip, DisplayName: p.displayName, EmailAddress: p.email, Language: p.language, Phone: p.phone }, now), ...directoryColumns(c, p), directory_licensed: i.member === null ? null : i.member ? 1 : 0 };
        audits.push(auditRow(s, 'user.add', { userId: row.id, label: row.sip }, { source: `directory:${c.name}`, displayName: row.display_name, language: row.language }));
        // A new licensed user is inserted enabled by Enable itself (one write of the row, not three).
        if (i.licence === 'enable') createdToEnable.push(row);
        else creates.push(row);
        continue;
      }
      if ((i.action === 'adopt' || i.action === 'update') && p && i.userId) {
        // Only the changed columns: each indexed column written costs its index an update.
        const ch = new Set(i.action === 'adopt' ? ['sip', 'email', 'displayName', 'language', 'phone', 'dn', 'attributes'] : i.changes);
        await trx
          .updateTable('users')
          .set({
            ...(ch.has('sip') ? { sip: p.sip } : {}),
            ...(ch.has('email') ? { email: p.email } : {}),
            ...(ch.has('displayName') ? { display_name: p.displayName } : {}),
            ...(ch.has('language') && p.language ? { language: p.language } : {}),
            ...(ch.has('phone') ? { phone: p.phone } : {}),
            ...(i.action === 'adopt' ? { directory_id: c.id, directory_key: p.key } : {}),
            ...(ch.has('dn') ? { directory_dn: p.dn } : {}),
            ...(ch.has('attributes') ? { directory_attrs: JSON.stringify(p.attrs) } : {}),
            updated_at: now,
          })
          .where('id', '=', i.userId)
          .execute();
        audits.push(auditRow(s, i.action === 'adopt' ? 'user.adopt' : 'user.update', { userId: i.userId, label: p.sip }, { source: `directory:${c.name}`, changed: i.changes }));
      }
      if (i.licence === 'enable' && i.userId) toEnable.push(i.userId);
      if (i.licence === 'disable' && i.userId) toDisable.push(i.userId);
    }
    if (creates.length) await trx.insertInto('users').values(creates).execute();
    await insertAuditRows(trx, audits);
    if (createdToEnable.length) {
      const results = await enableNew(trx, createdToEnable.map((u) => ({ input: u.sip, user: u })));
      if (results.some((r) => r.outcome !== 'done')) throw new Error('directory sync: Enable refused a user it had to insert');
    }
    if (toEnable.length) note(await enable(trx, (await rowsById(trx, s, toEnable)).map((u) => ({ input: u.sip, user: u }))));
    if (toDisable.length) note(await disable(trx, (await rowsById(trx, s, toDisable)).map((u) => ({ input: u.sip, user: u }))));
    // Applied: the report needs the items' DNs and changes, not their people.
    for (const i of plan.items.slice(k, k + CHUNK)) i.person = null;
  }
  // Membership as of this pass, for the next incremental pass that finds no group changed.
  for (const member of [true, false]) {
    const ids = plan.memberships.filter((m) => m.member === member).map((m) => m.userId);
    for (let i = 0; i < ids.length; i += CHUNK) await trx.updateTable('users').set({ directory_licensed: member ? 1 : 0 }).where('tenant_id', '=', s.tenant.id).where('id', 'in', ids.slice(i, i + CHUNK)).execute();
  }
}

export interface DirectoryTestResult {
  Connection: string;
  Url: string;
  Bind: string;
  Filter: string;
  Entries: number;
  LicenceGroup: string | null;
  LicenceGroupMembers: number | null;
  /** Up to three users as the sync would map them. */
  Samples: Record<string, unknown>[];
  /** Entries the sync would skip (at most 10 shown), with why. */
  Unusable: { Dn: string; Reason: string }[];
}

/** Connects, binds, counts and maps three samples; changes nothing. */
export async function testDirectory(s: TenantScope, name: string): Promise<DirectoryTestResult> {
  const c = (await findConnectionRow(s.db.kysely, s, name))!;
  const mapping = connectionMapping(c);
  const filter = connectionFilter(c);
  const session = await DirectorySession.open(targetOf(s, c));
  try {
    let entries = 0;
    const samples: Record<string, unknown>[] = [];
    const unusable: DirectoryTestResult['Unusable'] = [];
    await session.search(filter, requestedAttributes(mapping), (e) => {
      entries++;
      const m = mapEntry(e, mapping);
      if ('person' in m) {
        if (samples.length < 3) {
          const p = m.person;
          samples.push({ Dn: p.dn, Key: p.key, SipAddress: p.sip, EmailAddress: p.email, DisplayName: p.displayName, Language: p.language, Phone: p.phone, AccountDisabled: p.disabled, ...p.attrs });
        }
      } else if (unusable.length < 10) unusable.push({ Dn: m.skipped.dn, Reason: m.skipped.reason });
    });
    const members = c.licence_group ? (await session.licenceMembers(c.licence_group)).size : null;
    return { Connection: c.name, Url: c.url, Bind: c.bind_dn ? `ok as ${c.bind_dn}` : 'anonymous', Filter: filter, Entries: entries, LicenceGroup: c.licence_group, LicenceGroupMembers: members, Samples: samples, Unusable: unusable };
  } finally {
    await session.close();
  }
}

export interface SyncRunView {
  Connection: string;
  StartedAt: string;
  Status: string;
  Mode: string;
  Counts: PlanCounts;
  Skipped: { Dn: string; Sip: string | null; Reason: string }[];
  Error: string | null;
  Actor: string;
}

/** The last runs of each connection of the tenant, newest first. */
export async function directoryStatus(s: TenantScope, o: { name?: string | null; limit?: number } = {}): Promise<SyncRunView[]> {
  let q = s.db.kysely
    .selectFrom('directory_sync_runs')
    .innerJoin('directory_connections', 'directory_connections.id', 'directory_sync_runs.connection_id')
    .selectAll('directory_sync_runs')
    .select('directory_connections.name as connection_name')
    .where('directory_sync_runs.tenant_id', '=', s.tenant.id);
  if (o.name) q = q.where('directory_sync_runs.connection_id', '=', (await findConnectionRow(s.db.kysely, s, o.name))!.id);
  const rows = await q.orderBy('directory_sync_runs.started_at', 'desc').orderBy('directory_sync_runs.id', 'desc').limit(o.limit ?? 10).execute();
  return rows.map((r) => ({
    Connection: r.connection_name,
    StartedAt: new Date(r.started_at).toISOString(),
    Status: r.status,
    Mode: r.mode,
    Counts: JSON.parse(r.counts) as PlanCounts,
    Skipped: JSON.parse(r.skipped),
    Error: r.error_code ? `${r.error_code}: ${r.error}` : null,
    Actor: r.actor,
  }));
}

