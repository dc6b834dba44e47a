import { AppError } from '../core/errors.ts';
import type { UserFilter } from '../core/user-filter.ts';
import type { UserJobsTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { findBridge, numberOnBridge } from './bridges.ts';
import { disableUsers } from './disable-user.ts';
import { enableUsers } from './enable-users.ts';
import { setDialInUsers } from './set-dialin-user.ts';
import { readSettings } from './tenant-settings.ts';
import { countUsers, filterWhere } from './user-list.ts';
import type { BatchHandler } from './bulk.ts';
import type { TenantScope } from './context.ts';

/**
 * The users list's bulk actions as background jobs: a job row holds the filter (or the chosen
 * users) and the action's options; a runner takes a lease on it and handles the matching users a
 * batch at a time in SIP order, each batch committed with the job's progress, its report lines and
 * where it stopped, so a job whose runner died goes on from there when resumed. The changes are
 * the cmdlets' use-cases (enable, disable, Set-CsOnlineDialInConferencingUser), mails and audit
 * rows included. A new PIN is never stored: with automatic mail off it is handed to `onPins` once.
 */
export const JOB_KINDS = ['enable', 'disable', 'reset_pin', 'send_info', 'move'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
/** Actions only an administrator may start (the helpdesk may reset PINs and send the info). */
export const ADMIN_JOB_KINDS: readonly JobKind[] = ['enable', 'disable', 'move'];

export interface JobParams {
  filter: UserFilter;
  /** When set, only these users (a page's selection) — still within the filter. */
  ids: string[] | null;
  bridgeId?: string | null;
  serviceNumber?: string | null;
  tollFreeServiceNumber?: string | null;
}

export interface JobPins {
  sip: string;
  conferenceId: string | null;
  pin: string;
}

export const JOB_BATCH = 100;
const LEASE_MS = 60_000;

function handlerFor(s: TenantScope, kind: JobKind, p: JobParams): BatchHandler {
  switch (kind) {
    case 'enable':
      return enableUsers(s, { bridge: p.bridgeId ? { id: p.bridgeId } : {}, returnPin: true });
    case 'disable':
      return disableUsers(s, {});
    case 'reset_pin':
      return setDialInUsers(s, { resetLeaderPin: true });
    case 'send_info':
      return setDialInUsers(s, { sendEmail: true });
    case 'move':
      return setDialInUsers(s, { bridge: { id: p.bridgeId }, serviceNumber: p.serviceNumber || null, tollFreeServiceNumber: p.tollFreeServiceNumber || null });
  }
}

/** Checks the action's options (bridge, numbers) and records the job; nothing changes for users yet. */
export async function createUserJob(s: TenantScope, kind: JobKind, p: JobParams): Promise<UserJobsTable> {
  if (!(JOB_KINDS as readonly string[]).includes(kind)) throw new AppError('INVALID_ARGUMENT', 'Choose an action.', { field: 'action' });
  if (p.ids !== null && p.ids.length === 0) throw new AppError('MISSING_ARGUMENT', 'Select at least one user, or choose every user that matches the filter.', { field: 'ids' });
  if (p.ids && p.ids.length > 1000) throw new AppError('INVALID_ARGUMENT', 'Select at most 1,000 users, or choose every user that matches the filter.', { field: 'ids' });
  for (const id of p.ids ?? []) if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('INVALID_ARGUMENT', 'A selected user is not a user id.', { field: 'ids' });
  if (kind === 'move') {
    if (!p.bridgeId) throw new AppError('MISSING_ARGUMENT', 'Choose the bridge to move the users to.', { field: 'BridgeId' });
    const bridge = await findBridge(s.db.kysely, s.tenant.id, { id: p.bridgeId });
    if (p.serviceNumber) await numberOnBridge(s.db.kysely, s.tenant.id, bridge, p.serviceNumber, 'Toll', 'ServiceNumber');
    if (p.tollFreeServiceNumber) await numberOnBridge(s.db.kysely, s.tenant.id, bridge, p.tollFreeServiceNumber, 'TollFree', 'TollFreeServiceNumber');
  } else if (kind === 'enable' && p.bridgeId) {
    await findBridge(s.db.kysely, s.tenant.id, { id: p.bridgeId });
  } else if (kind === 'enable') {
    await findBridge(s.db.kysely, s.tenant.id, {});
  }
  handlerFor(s, kind, p);
  const total = p.ids
    ? Number((await s.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where(filterWhere(s, p.filter)).where('id', 'in', p.ids).executeTakeFirstOrThrow()).n)
    : await countUsers(s, p.filter);
  const now = s.now();
  const job: UserJobsTable = {
    id: s.newId(),
    tenant_id: s.tenant.id,
    kind,
    params: JSON.stringify(p),
    status: 'queued',
    total,
    processed: 0,
    done: 0,
    unchanged: 0,
    skipped: 0,
    cursor: null,
    lease_owner: null,
    lease_until: null,
    error: null,
    created_by: s.actor,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
  await s.db.kysely.transaction().execute(async (trx) => {
    await trx.insertInto('user_jobs').values(job).execute();
    await audit(trx, s, 'users.job', {}, { job: job.id, kind, total, selected: p.ids ? p.ids.length : null, filter: p.filter });
  });
  return job;
}

export async function findUserJob(s: TenantScope, id: string): Promise<UserJobsTable> {
  const job = /^[0-9a-f-]{36}$/i.test(id) ? await s.db.kysely.selectFrom('user_jobs').selectAll().where('tenant_id', '=', s.tenant.id).where('id', '=', id).executeTakeFirst() : undefined;
  if (!job) throw new AppError('JOB_NOT_FOUND', 'No job of this tenant has that id.', { field: 'id' });
  return job;
}

/** Whether a job is waiting for a runner: not finished, and nobody holds a live lease on it. */
export function jobIsStalled(job: UserJobsTable, now: number): boolean {
  return (job.status === 'queued' || job.status === 'running') && (job.lease_until === null || Number(job.lease_until) < now);
}

/**
 * Takes (or renews) the lease of an unfinished job that nobody else holds; undefined when another
 * runner holds it or it has ended. Taken before a page answers, so that the page already sees the
 * job held (a job that merely waits for its runner's first statement is not "stalled").
 */
export async function claimUserJob(s: TenantScope, id: string, owner: string): Promise<UserJobsTable | undefined> {
  const now = s.now();
  return s.db.kysely
    .updateTable('user_jobs')
    .set({ status: 'running', lease_owner: owner, lease_until: now + LEASE_MS, updated_at: now })
    .where('id', '=', id)
    .where('tenant_id', '=', s.tenant.id)
    .where('status', 'in', ['queued', 'running'])
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]))
    .returningAll()
    .executeTakeFirst();
}

/**
 * Runs (or resumes) a job to its end, unless another runner holds it. Every batch commits the
 * users' changes, the report lines, the counters and the cursor together, under the lease.
 */
export async function runUserJob(s: TenantScope, id: string, owner: string, hooks: { onPins?: (pins: JobPins[]) => void; /** Stop after this many batches, holding the lease (a runner that died, in tests). */ maxBatches?: number } = {}): Promise<UserJobsTable> {
  const db = s.db.kysely;
  for (let batches = 0; ; batches++) {
    if (hooks.maxBatches !== undefined && batches >= hooks.maxBatches) return findUserJob(s, id);
    // Let the server breathe between batches: on SQLite every query is synchronous, so without this
    // a whole job ran in one turn of the event loop and no page, API call or PIN check was answered
    // until it ended (a 1,000-user enable held the server 0.5 s, 100,000 users close to a minute).
    if (batches > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const claimed = await claimUserJob(s, id, owner);
    if (!claimed) return findUserJob(s, id);
    const p = JSON.parse(claimed.params) as JobParams;
    const kind = claimed.kind as JobKind;
    const handler = handlerFor(s, kind, p);
    let pins: JobPins[] = [];
    try {
      const finished = await db.transaction().execute(async (trx) => {
        pins = [];
        let q = trx.selectFrom('users').selectAll().where(filterWhere(s, p.filter));
        if (p.ids) q = q.where('id', 'in', p.ids);
        if (claimed.cursor !== null) q = q.where('sip', '>', claimed.cursor);
        const users = await q.orderBy('sip').limit(JOB_BATCH).execute();
        const at = s.now();
        if (users.length === 0) {
          await trx.updateTable('user_jobs').set({ status: 'done', finished_at: at, updated_at: at, lease_owner: null, lease_until: null }).where('id', '=', id).where('lease_owner', '=', owner).execute();
          return true;
        }
        const results = await handler(trx, users.map((u) => ({ input: u.sip, user: u })));
        const mailsPins = (kind === 'reset_pin' || kind === 'enable') && !(await readSettings(trx, s.tenant.id)).AutomaticallySendEmailsToUsers;
        const counts = { done: 0, unchanged: 0, skipped: 0 };
        const items = results.map((r, i) => {
          counts[r.outcome]++;
          if (mailsPins && r.outcome === 'done' && typeof r.output?.LeaderPin === 'string') pins.push({ sip: r.user ?? r.input, conferenceId: (r.output.ConferenceId as string | null) ?? null, pin: r.output.LeaderPin });
          return { job_id: id, seq: claimed.processed + i, input: r.input, user_sip: r.user ?? null, outcome: r.outcome, code: r.code ?? null, reason: r.outcome === 'done' ? null : (r.reason ?? null) };
        });
        for (let i = 0; i < items.length; i += 200) await trx.insertInto('user_job_items').values(items.slice(i, i + 200)).execute();
        const moved = await trx
          .updateTable('user_jobs')
          .set({
            processed: claimed.processed + results.length,
            done: claimed.done + counts.done,
            unchanged: claimed.unchanged + counts.unchanged,
            skipped: claimed.skipped + counts.skipped,
            cursor: users[users.length - 1]!.sip,
            updated_at: at,
            lease_until: at + LEASE_MS,
          })
          .where('id', '=', id)
          .where('lease_owner', '=', owner)
          .executeTakeFirst();
        // Another runner took the job over (our lease ran out): nothing of this batch is kept.
        if (Number(moved.numUpdatedRows) !== 1) throw new LeaseLost();
        return false;
      });
      if (!finished) {
        if (pins.length) hooks.onPins?.(pins);
        s.onMailQueued?.();
      }
      if (finished) return findUserJob(s, id);
    } catch (e) {
      if (e instanceof LeaseLost) return findUserJob(s, id);
      const at = s.now();
      await db
        .updateTable('user_jobs')
        .set({ status: 'failed', error: e instanceof AppError ? `${e.code}: ${e.message}` : 'internal error', finished_at: at, updated_at: at, lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
      if (!(e instanceof AppError)) throw e;
      return findUserJob(s, id);
    }
  }
}

class LeaseLost extends Error {}

/** The report lines of a job, in the order the users were handled, a batch at a time. */
export async function* jobItems(s: TenantScope, id: string): AsyncGenerator<{ seq: number; input: string; user_sip: string | null; outcome: string; code: string | null; reason: string | null }[]> {
  await findUserJob(s, id);
  let after = -1;
  for (;;) {
    const rows = await s.db.kysely.selectFrom('user_job_items').select(['seq', 'input', 'user_sip', 'outcome', 'code', 'reason']).where('job_id', '=', id).where('seq', '>', after).orderBy('seq').limit(1000).execute();
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.seq;
  }
}
