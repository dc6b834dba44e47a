import { AppError } from '../core/errors.ts';
import { parseFilter } from '../core/scim/filter.ts';
import { applyPatch, readPatch } from '../core/scim/patch.ts';
import { cleanUserDoc, personOf, userResource, type ScimDoc, type ScimPerson } from '../core/scim/user.ts';
import { MAX_RESULTS } from '../core/scim/schemas.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { isUniqueViolation } from '../adapters/db/database.ts';
import { newUserRow } from './users.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { applyScimLicence, readScimConfig } from './scim-licence.ts';
import { groupedBatch, groupedWrite, inSavepoint, type Batch, type Outcome } from './write-group.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * SCIM Users (RFC 7644) over the tenant's users. A SCIM user is a user whose `source` is 'scim';
 * its SCIM id is the user's id. Creating one whose SIP address a CSV or CLI user already has adopts
 * that user (never a duplicate); one SCIM already manages is SCIM_UNIQUENESS (409). Every write is
 * one transaction: the user, the licence change with its mail, the audit row.
 */
export interface ScimList {
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Record<string, unknown>[];
}

export interface Paging {
  startIndex?: number;
  count?: number;
}

export function paging(p: Paging): { offset: number; limit: number; startIndex: number } {
  const startIndex = Math.max(1, Math.floor(p.startIndex ?? 1));
  const limit = Math.min(MAX_RESULTS, Math.max(0, Math.floor(p.count ?? 100)));
  return { offset: startIndex - 1, limit, startIndex };
}

function docOf(u: UsersTable): ScimDoc {
  return u.scim_attrs ? (JSON.parse(u.scim_attrs) as ScimDoc) : { userName: u.sip.slice(4) };
}

export function resourceOf(u: UsersTable, base: string): Record<string, unknown> {
  return userResource(docOf(u), { id: u.id, created: u.created_at, lastModified: u.updated_at, version: u.scim_version ?? 0, location: `${base}/Users/${u.id}` });
}

const notFound = (id: string) => new AppError('SCIM_NOT_FOUND', `No SCIM user of this tenant has the id ${String(id).slice(0, 100)}.`, { field: 'id' });

async function scimUser(trx: Trx, s: TenantScope, id: string, forUpdate = false): Promise<UsersTable> {
  let q = trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('id', '=', String(id)).where('source', '=', 'scim');
  // PostgreSQL: two writes of one user at once wait for each other, so the version check holds.
  if (forUpdate && s.db.dialect === 'postgres') q = q.forUpdate();
  const u = await q.executeTakeFirst();
  if (!u) throw notFound(id);
  return u;
}

/** `If-Match`: the version the client read; a stale one is SCIM_VERSION_MISMATCH (412). */
export function checkVersion(ifMatch: string | undefined, current: number): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''));
  if (!tags.includes(String(current))) throw new AppError('SCIM_VERSION_MISMATCH', `The resource is at version W/"${current}", not ${ifMatch.slice(0, 64)}; read it again before changing it.`, { field: 'If-Match' });
}

/** One user, with the SCIM groups it is a member of (read-only `groups`). */
export async function getScimUser(s: TenantScope, id: string, base: string): Promise<Record<string, unknown>> {
  const u = await scimUser(s.db.kysely, s, id);
  const groups = await s.db.kysely.selectFrom('scim_group_members as m').innerJoin('scim_groups as g', 'g.id', 'm.group_id').select(['g.id', 'g.display_name']).where('m.user_id', '=', u.id).orderBy('g.display_name').execute();
  return userResource(docOf(u), { id: u.id, created: u.created_at, lastModified: u.updated_at, version: u.scim_version ?? 0, location: `${base}/Users/${u.id}` }, groups.map((g) => ({ value: g.id, display: g.display_name })));
}

export async function listScimUsers(s: TenantScope, q: { filter?: string } & Paging, base: string): Promise<ScimList> {
  const { offset, limit, startIndex } = paging(q);
  const base0 = s.db.kysely.selectFrom('users').where('tenant_id', '=', s.tenant.id).where('source', '=', 'scim');
  if (!q.filter) {
    const total = Number((await base0.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = limit === 0 ? [] : await base0.selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute();
    return { totalResults: total, startIndex, itemsPerPage: rows.length, Resources: rows.map((u) => resourceOf(u, base)) };
  }
  const f = parseFilter('User', q.filter);
  let candidates = base0.selectAll();
  if (f.lookup?.attribute === 'userName') {
    let sip: string;
    try {
      sip = personOf({ userName: f.lookup.value }).sip;
    } catch {
      return { totalResults: 0, startIndex, itemsPerPage: 0, Resources: [] };
    }
    candidates = candidates.where('sip', '=', sip);
  } else if (f.lookup?.attribute === 'externalId') candidates = candidates.where('scim_external_id', '=', f.lookup.value);
  else if (f.lookup?.attribute === 'id') candidates = candidates.where('id', '=', f.lookup.value);
  const matched = (await candidates.orderBy('created_at').orderBy('id').execute()).map((u) => resourceOf(u, base)).filter(f.test);
  const page = matched.slice(offset, offset + limit);
  return { totalResults: matched.length, startIndex, itemsPerPage: page.length, Resources: page };
}

function scimColumns(doc: ScimDoc, p: ScimPerson) {
  return {
    sip: p.sip,
    email: p.email,
    display_name: p.displayName,
    ...(p.language ? { language: p.language } : {}),
    phone: p.phone,
    source: 'scim',
    scim_external_id: p.externalId,
    scim_active: p.active ? 1 : 0,
    scim_attrs: JSON.stringify({ ...doc, active: p.active }),
  };
}

/** The person of a document, or a SCIM_INVALID_VALUE naming the field. */
function read(body: unknown): { doc: ScimDoc; person: ScimPerson } {
  const doc = cleanUserDoc(body);
  return { doc, person: personOf(doc) };
}

async function afterWrite(s: TenantScope, trx: Trx, userIds: string[]): Promise<boolean> {
  const r = await applyScimLicence(trx, s, userIds);
  return r.enabled + r.disabled > 0;
}

const SIP_INDEX = { name: 'users_tenant_sip', columns: ['tenant_id', 'sip'] };
const duplicate = (sip: string, id?: string) => new AppError('SCIM_UNIQUENESS', `A SCIM user with the userName ${sip.slice(4)} already exists${id ? ` (id ${id})` : ''}.`, { field: 'userName' });

/** A create waiting to be written: its document, and the new row (or why it cannot be one). */
interface PendingCreate {
  s: TenantScope;
  doc: ScimDoc;
  person: ScimPerson;
  now: number;
  fresh: UsersTable | { error: unknown };
}

type Created = { row: UsersTable; mailed: boolean };

const isRow = (f: PendingCreate['fresh']): f is UsersTable => !('error' in f);

/** One create on its own: adopts the CSV/CLI user of its SIP address, refuses a duplicate, or inserts. */
async function createOne(trx: Trx, c: PendingCreate): Promise<Created> {
  const { s, doc, person, now } = c;
  const holder = await trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('sip', '=', person.sip).executeTakeFirst();
  let id: string;
  let inserted: UsersTable | null = null;
  if (holder) {
    if (holder.source === 'scim') throw duplicate(person.sip, holder.id);
    if (holder.directory_id) throw new AppError('SCIM_UNIQUENESS', `${person.sip.slice(4)} comes from a directory connection; it cannot also be provisioned by SCIM.`, { field: 'userName' });
    id = holder.id;
    await trx.updateTable('users').set({ ...scimColumns(doc, person), scim_version: (holder.scim_version ?? 0) + 1, updated_at: now }).where('id', '=', id).execute();
    await insertAuditRows(trx, [auditRow(s, 'user.adopt', { userId: id, label: person.sip }, { source: 'scim', previousSource: holder.source ?? 'csv' })]);
  } else {
    if (!isRow(c.fresh)) throw c.fresh.error;
    inserted = c.fresh;
    id = inserted.id;
    await trx.insertInto('users').values(inserted).execute();
    await insertAuditRows(trx, [addedAudit(c, inserted)]);
  }
  // A new user is in no group yet: under a licence group nothing can change, and the row
  // written is the answer (no re-read).
  if (inserted && (await readScimConfig(trx, s.tenant.id)).licence !== 'all-active') return { row: inserted, mailed: false };
  const mailed = await afterWrite(s, trx, [id]);
  return { row: await scimUser(trx, s, id), mailed };
}

const addedAudit = (c: PendingCreate, row: UsersTable) => auditRow(c.s, 'user.add', { userId: row.id, label: row.sip }, { source: 'scim', displayName: row.display_name, language: row.language });

/**
 * Creates of one tenant arriving together: one multi-row insert that skips the SIP addresses
 * already taken (`on conflict do nothing … returning id`), one multi-row audit insert, the licence
 * applied to them all at once. What the insert skipped — an adoption, a duplicate, the second of
 * two creates of one userName — goes through `createOne` in its own savepoint.
 */
const CREATES: Batch<PendingCreate, Created> = {
  one: createOne,
  async all(trx, items) {
    const s = items[0]!.s;
    const sips = new Set<string>();
    const bulk: UsersTable[] = [];
    for (const c of items) {
      if (isRow(c.fresh) && !sips.has(c.fresh.sip)) {
        sips.add(c.fresh.sip);
        bulk.push(c.fresh);
      }
    }
    // The tenant's licence rule comes back with the insert (one round trip less on PostgreSQL).
    const returned = bulk.length
      ? await trx
          .insertInto('users')
          .values(bulk)
          .onConflict((oc) => oc.columns(['tenant_id', 'sip']).doNothing())
          .returning((eb) => ['id', eb.selectFrom('scim_config').select('licence').where('tenant_id', '=', s.tenant.id).as('licence')])
          .execute()
      : [];
    const done = new Set(returned.map((r) => r.id));
    const fresh = items.filter((c) => isRow(c.fresh) && done.has(c.fresh.id));
    await insertAuditRows(trx, fresh.map((c) => addedAudit(c, c.fresh as UsersTable)));
    const rows = new Map(fresh.map((c) => [c.fresh as UsersTable, c.fresh as UsersTable]));
    let mailed = false;
    if (returned[0]?.licence === 'all-active') {
      mailed = await afterWrite(s, trx, fresh.map((c) => (c.fresh as UsersTable).id));
      const now = new Map((await trx.selectFrom('users').selectAll().where('id', 'in', fresh.map((c) => (c.fresh as UsersTable).id)).execute()).map((u) => [u.id, u]));
      for (const c of fresh) rows.set(c.fresh as UsersTable, now.get((c.fresh as UsersTable).id)!);
    }
    const out: Outcome<Created>[] = [];
    for (const c of items) {
      const row = isRow(c.fresh) ? rows.get(c.fresh) : undefined;
      out.push(row ? { ok: true, value: { row, mailed } } : await inSavepoint(trx, () => createOne(trx, c)));
    }
    return out;
  },
};

export async function createScimUser(s: TenantScope, body: unknown, base: string): Promise<Record<string, unknown>> {
  const { doc, person } = read(body);
  const now = s.now();
  let fresh: PendingCreate['fresh'];
  try {
    fresh = { ...newUserRow(s, { UserUri: person.sip, DisplayName: person.displayName, EmailAddress: person.email, Language: person.language, Phone: person.phone }, now), ...scimColumns(doc, person), scim_version: 1 };
  } catch (error) {
    // Refused only if no user of this SIP address is there to adopt (createOne).
    fresh = { error };
  }
  const { row, mailed } = await groupedBatch(s, CREATES, s.tenant.id, { s, doc, person, now, fresh }).catch((e: unknown) => {
    // The same userName created by two requests at once (PostgreSQL): the later one is the duplicate.
    if (isUniqueViolation(e, SIP_INDEX)) throw duplicate(person.sip);
    throw e;
  });
  if (mailed) s.onMailQueued?.();
  return resourceOf(row, base);
}

/** Writes a new document for an existing SCIM user (PUT, PATCH): columns, version, audit, licence. */
async function rewrite(s: TenantScope, id: string, ifMatch: string | undefined, base: string, next: (u: UsersTable, doc: ScimDoc) => unknown, action: string): Promise<Record<string, unknown>> {
  const { row, mailed } = await groupedWrite(s, async (trx) => {
    const u = await scimUser(trx, s, id, true);
    checkVersion(ifMatch, u.scim_version ?? 0);
    const { doc, person } = read(next(u, docOf(u)));
    if (person.sip !== u.sip) {
      const holder = await trx.selectFrom('users').select('id').where('tenant_id', '=', s.tenant.id).where('sip', '=', person.sip).executeTakeFirst();
      if (holder) throw new AppError('SCIM_UNIQUENESS', `Another user already has the userName ${person.sip.slice(4)}.`, { field: 'userName' });
    }
    const before = resourceOf(u, base);
    await trx.updateTable('users').set({ ...scimColumns(doc, person), scim_version: (u.scim_version ?? 0) + 1, updated_at: s.now() }).where('id', '=', u.id).execute();
    const after = await scimUser(trx, s, id);
    const changed = Object.keys({ ...before, ...resourceOf(after, base) }).filter((k) => k !== 'meta' && JSON.stringify(before[k]) !== JSON.stringify(resourceOf(after, base)[k]));
    await insertAuditRows(trx, [auditRow(s, action, { userId: u.id, label: person.sip }, { source: 'scim', changed })]);
    const mailed = await afterWrite(s, trx, [u.id]);
    return { row: await scimUser(trx, s, id), mailed };
  });
  if (mailed) s.onMailQueued?.();
  return resourceOf(row, base);
}

export async function replaceScimUser(s: TenantScope, id: string, body: unknown, ifMatch: string | undefined, base: string): Promise<Record<string, unknown>> {
  return rewrite(s, id, ifMatch, base, () => body, 'user.update');
}

export async function patchScimUser(s: TenantScope, id: string, body: unknown, ifMatch: string | undefined, base: string): Promise<Record<string, unknown>> {
  const ops = readPatch('User', body);
  return rewrite(s, id, ifMatch, base, (_u, doc) => applyPatch(doc, ops), 'user.update');
}

/**
 * DELETE: dial-in is turned off (the *turned off* mail, as the tenant's switch says) and the user
 * leaves SCIM — its groups, externalId and SCIM attributes go; the person stays in dialin's list
 * (source 'csv'), so a later create of the same userName adopts them again.
 */
export async function deleteScimUser(s: TenantScope, id: string, ifMatch: string | undefined): Promise<void> {
  const mailed = await groupedWrite(s, async (trx) => {
    const u = await scimUser(trx, s, id, true);
    checkVersion(ifMatch, u.scim_version ?? 0);
    await trx.deleteFrom('scim_group_members').where('user_id', '=', u.id).execute();
    await trx.updateTable('users').set({ source: 'csv', scim_external_id: null, scim_active: null, scim_attrs: null, scim_version: (u.scim_version ?? 0) + 1, updated_at: s.now() }).where('id', '=', u.id).execute();
    await insertAuditRows(trx, [auditRow(s, 'user.scim_delete', { userId: u.id, label: u.sip }, { source: 'scim' })]);
    return afterWrite(s, trx, [u.id]);
  });
  if (mailed) s.onMailQueued?.();
}
