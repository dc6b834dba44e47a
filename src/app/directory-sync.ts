import { AppError, isAppError } from '../core/errors.ts';
import { mapEntry, requestedAttributes, type DirectoryPerson, type MappedEntry } from '../core/directory-mapping.ts';
import { planSync, type CurrentUser, type PlanCounts, type SyncPlan } from '../core/directory-plan.ts';
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
 * exactly as they do for the cmdlets. Nothing is applied when the directory fails at any point,
 * or when the disables exceed the guard without --allow-mass-disable. Each sync (except a dry
 * run) leaves one run row and one audit row.
 */

const FULL_EVERY_MS = 24 * 3_600_000;
const LEASE_MS = 30 * 60_000;
const MAX_SKIPPED_KEPT = 100;
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
  /** What was (or would be) done, one line per user touched. */
  Changes: { Action: string; Licence: string | null; Sip: string | null; Dn: string; Changes: string[] }[];
  Skipped: { Dn: string; Sip: string | null; Reason: string }[];
}

/**
 * Reads the directory: every person the filter selects (or those changed since the last pass), mapped, and the
 * licence group's members. The session stays open for `holders` (who else has a SIP address); the caller closes it.
 */
async function readDirectory(s: TenantScope, c: DirectoryConnectionsTable, wantIncremental: boolean): Promise<{ entries: MappedEntry[]; licensed: Set<string> | null; full: boolean; newest: string | null; source: string | null; holders: (sips: string[]) => Promise<Map<string, string[]>>; session: DirectorySession }> {
  const session = await DirectorySession.open(targetOf(s, c));
  try {
    const mapping = connectionMapping(c);
    const base = connectionFilter(c);
    const within = (clause: string) => `(&${base.startsWith('(') ? base : `(${base})`}${clause})`;
    const entries: MappedEntry[] = [];
    let filter = base;
    let full = !wantIncremental;
    let newest: string | null = null;
    let source: string | null = null;
    if (c.kind === 'ad') {
      // uSNChanged polling: the DC's highestCommittedUSN read BEFORE the search is the next mark (a change
      // made during the pass is read again next time, never missed); the mark only means something on the
      // same DC with the same database, so another DC or invocationId means a full pass.
      const dc = await session.dcState();
      source = JSON.stringify({ dsServiceName: dc.dsServiceName, invocationId: dc.invocationId });
      if (c.sync_source !== source || !c.sync_mark || !/^[0-9]+$/.test(c.sync_mark)) full = true;
      if (!full) filter = within(`(uSNChanged>=${(BigInt(c.sync_mark!) + 1n).toString()})`);
      newest = dc.highestCommittedUsn;
      await session.search(filter, requestedAttributes(mapping), (e) => entries.push(mapEntry(e, mapping)));
    } else {
      if (!full && c.sync_mark) filter = within(`(${mapping.modified[0]}>=${c.sync_mark})`);
      // The newest change of any entry read, skipped ones included, so the next pass starts after it.
      const stamp = mapping.modified[0]?.toLowerCase();
      await session.search(filter, requestedAttributes(mapping), (e) => {
        const m = stamp ? e.attrs[stamp]?.[0] : undefined;
        if (m && (!newest || m > newest)) newest = m;
        entries.push(mapEntry(e, mapping));
      });
    }
    const licensed = c.licence_group ? await session.licenceMembers(c.licence_group) : null;
    const holders = async (sips: string[]) => {
      const out = new Map<string, string[]>();
      for (const sip of sips) {
        const address = sip.replace(/^sip:/, '');
        out.set(sip, await session.dnsWith(base, mapping.sip, [address, `sip:${address}`]));
      }
      return out;
    };
    return { entries, licensed, full, newest, source, holders, session };
  } catch (e) {
    await session.close();
    throw e;
  }
}

async function currentUsers(s: TenantScope): Promise<CurrentUser[]> {
  return s.db.kysely
    .selectFrom('users')
    .select(['id', 'sip', 'email', 'display_name', 'language', 'phone', 'provider', 'dialin_enabled', 'directory_id', 'directory_key', 'directory_dn', 'directory_attrs'])
    .where('tenant_id', '=', s.tenant.id)
    .execute() as Promise<CurrentUser[]>;
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
  const items = plan?.items ?? [];
  return {
    Connection: c.name,
    Mode: mode,
    Status: status,
    Counts: plan?.counts ?? { entries: 0, licensed: 0, create: 0, adopt: 0, update: 0, enable: 0, disable: 0, gone: 0, skip: 0 },
    DisableLimit: plan?.disableLimit ?? 0,
    Changes: items.filter((i) => i.action !== 'skip').map((i) => ({ Action: i.action, Licence: i.licence, Sip: i.sip, Dn: i.dn, Changes: i.changes })),
    Skipped: [...items.filter((i) => i.action === 'skip').map((i) => ({ Dn: i.dn, Sip: i.sip, Reason: i.reason ?? '' })), ...extraSkipped],
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
        const input = { connectionId: c.id, full, entries: dir.entries, licensed: dir.licensed, users: await currentUsers(s), maxDisable: c.max_disable };
        plan = planSync(input);
        const newcomers = plan.items.filter((i) => (i.action === 'create' || i.action === 'adopt') && i.sip).map((i) => i.sip!);
        // A new person's SIP address may be that of an entry this incremental pass did not read: ask the directory.
        if (!full && newcomers.length) plan = planSync({ ...input, sipHolders: await dir.holders(newcomers) });
      } finally {
        await dir.session.close();
      }
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
        await trx.updateTable('directory_connections').set({ sync_mark: mark, sync_source: dir.source, last_full_at: full ? startedAt : c.last_full_at, updated_at: s.now() }).where('id', '=', c.id).execute();
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

/** Applies the plan inside the caller's transaction: users first, then licences. */
async function applyPlan(trx: Trx, s: TenantScope, c: DirectoryConnectionsTable, plan: SyncPlan, refused: SyncReport['Skipped']): Promise<void> {
  const now = s.now();
  const toEnable: string[] = [];
  const toDisable: string[] = [];
  let creates: UsersTable[] = [];
  let audits: ReturnType<typeof auditRow>[] = [];
  // Written a chunk at a time, so a first sync of a whole directory does not hold every row in memory.
  const flush = async (force: boolean) => {
    if (creates.length && (force || creates.length >= CHUNK)) {
      await trx.insertInto('users').values(creates).execute();
      creates = [];
    }
    if (audits.length && (force || audits.length >= CHUNK)) {
      await insertAuditRows(trx, audits);
      audits = [];
    }
  };
  for (const i of plan.items) {
    await flush(false);
    const p = i.person;
    if (i.action === 'create' && p) {
      const row = { ...newUserRow(s, { UserUri: p.sip, DisplayName: p.displayName, EmailAddress: p.email, Language: p.language, Phone: p.phone }, now), ...directoryColumns(c, p) };
      creates.push(row);
      audits.push(auditRow(s, 'user.add', { userId: row.id, label: row.sip }, { source: `directory:${c.name}`, displayName: row.display_name, language: row.language }));
      if (i.licence === 'enable') toEnable.push(row.id);
      continue;
    }
    if ((i.action === 'adopt' || i.action === 'update') && p && i.userId) {
      await trx
        .updateTable('users')
        .set({ sip: p.sip, email: p.email, display_name: p.displayName, ...(p.language ? { language: p.language } : {}), phone: p.phone, ...directoryColumns(c, p), updated_at: now })
        .where('id', '=', i.userId)
        .execute();
      audits.push(auditRow(s, i.action === 'adopt' ? 'user.adopt' : 'user.update', { userId: i.userId, label: p.sip }, { source: `directory:${c.name}`, changed: i.changes }));
    }
    if (i.licence === 'enable' && i.userId) toEnable.push(i.userId);
    if (i.licence === 'disable' && i.userId) toDisable.push(i.userId);
  }
  await flush(true);

  const note = (results: ItemResult[]) => {
    for (const r of results) if (r.outcome === 'skipped') refused.push({ Dn: '', Sip: r.user ?? r.input, Reason: r.reason ?? r.code ?? 'refused' });
  };
  const enable = enableUsers(s, { bridge: {} });
  for (let k = 0; k < toEnable.length; k += CHUNK) note(await enable(trx, (await rowsById(trx, s, toEnable.slice(k, k + CHUNK))).map((u) => ({ input: u.sip, user: u }))));
  const disable = disableUsers(s, {});
  for (let k = 0; k < toDisable.length; k += CHUNK) note(await disable(trx, (await rowsById(trx, s, toDisable.slice(k, k + CHUNK))).map((u) => ({ input: u.sip, user: u }))));
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

