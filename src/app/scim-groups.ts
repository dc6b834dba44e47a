import { AppError } from '../core/errors.ts';
import { parseFilter } from '../core/scim/filter.ts';
import { applyPatch, readPatch } from '../core/scim/patch.ts';
import { groupResource, patchableGroup, patchGroupMembers, readGroupDoc, type GroupDoc } from '../core/scim/group.ts';
import type { ScimGroupsTable } from '../adapters/db/schema.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { applyScimLicence } from './scim-licence.ts';
import { checkVersion, paging, type Paging, type ScimList } from './scim-users.ts';
import { groupedWrite } from './write-group.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * SCIM Groups. Members are SCIM users of the tenant; a change of membership (or of the display
 * name, which may make a group the licence group or stop it being one) re-applies the licence to
 * the users concerned in the same transaction: joining the licence group → the welcome, leaving →
 * *turned off*, within the accidental-disable guard.
 */
const CHUNK = 500;

const notFound = (id: string) => new AppError('SCIM_NOT_FOUND', `No SCIM group of this tenant has the id ${String(id).slice(0, 100)}.`, { field: 'id' });

async function groupRow(trx: Trx, s: TenantScope, id: string, forUpdate = false): Promise<ScimGroupsTable> {
  let q = trx.selectFrom('scim_groups').selectAll().where('tenant_id', '=', s.tenant.id).where('id', '=', String(id));
  // PostgreSQL: two member PATCHes of one group at once wait for each other (no lost or doubled member).
  if (forUpdate && s.db.dialect === 'postgres') q = q.forUpdate();
  const g = await q.executeTakeFirst();
  if (!g) throw notFound(id);
  return g;
}

async function membersOf(trx: Trx, groupId: string): Promise<string[]> {
  return (await trx.selectFrom('scim_group_members').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute()).map((r) => r.user_id);
}

async function resource(trx: Trx, s: TenantScope, g: ScimGroupsTable, base: string, withMembers = true): Promise<Record<string, unknown>> {
  const members = withMembers ? await membersOf(trx, g.id) : [];
  const names = new Map<string, string>();
  for (let i = 0; i < members.length; i += CHUNK) {
    for (const u of await trx.selectFrom('users').select(['id', 'display_name']).where('tenant_id', '=', s.tenant.id).where('id', 'in', members.slice(i, i + CHUNK)).execute()) names.set(u.id, u.display_name);
  }
  const doc: GroupDoc = { displayName: g.display_name, externalId: g.external_id, members };
  return groupResource(doc, { id: g.id, created: g.created_at, lastModified: g.updated_at, version: g.version, location: `${base}/Groups/${g.id}` }, base, names);
}

export async function getScimGroup(s: TenantScope, id: string, base: string): Promise<Record<string, unknown>> {
  return resource(s.db.kysely, s, await groupRow(s.db.kysely, s, id), base);
}

export async function listScimGroups(s: TenantScope, q: { filter?: string } & Paging, base: string): Promise<ScimList> {
  const { offset, limit, startIndex } = paging(q);
  let rows = s.db.kysely.selectFrom('scim_groups').selectAll().where('tenant_id', '=', s.tenant.id);
  const f = q.filter ? parseFilter('Group', q.filter) : null;
  if (f?.lookup?.attribute === 'displayName') rows = rows.where('display_name_key', '=', f.lookup.value.toLowerCase());
  else if (f?.lookup?.attribute === 'externalId') rows = rows.where('external_id', '=', f.lookup.value);
  else if (f?.lookup?.attribute === 'id') rows = rows.where('id', '=', f.lookup.value);
  const all = await rows.orderBy('created_at').orderBy('id').execute();
  const matched: Record<string, unknown>[] = [];
  for (const g of all) {
    const r = await resource(s.db.kysely, s, g, base);
    if (!f || f.test(r)) matched.push(r);
  }
  const page = matched.slice(offset, offset + limit);
  return { totalResults: matched.length, startIndex, itemsPerPage: page.length, Resources: page };
}

/** Member ids must be SCIM users of this tenant; returns them, or SCIM_INVALID_VALUE naming the first unknown. */
async function checkMembers(trx: Trx, s: TenantScope, ids: string[]): Promise<void> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const u of await trx.selectFrom('users').select('id').where('tenant_id', '=', s.tenant.id).where('source', '=', 'scim').where('id', 'in', ids.slice(i, i + CHUNK)).execute()) known.add(u.id);
  }
  const unknown = ids.find((id) => !known.has(id));
  if (unknown) throw new AppError('SCIM_INVALID_VALUE', `members: no SCIM user of this tenant has the id ${unknown.slice(0, 64)}; nothing was changed.`, { field: 'members' });
}

/** Writes a group's new state and re-applies the licence to the users it concerns. */
async function write(trx: Trx, s: TenantScope, prev: ScimGroupsTable | null, prevMembers: string[], next: GroupDoc, action: string): Promise<{ id: string; mailed: boolean }> {
  const now = s.now();
  const before = new Set(prevMembers);
  const after = new Set(next.members);
  const added = next.members.filter((m) => !before.has(m));
  const removed = prevMembers.filter((m) => !after.has(m));
  await checkMembers(trx, s, added);
  const id = prev?.id ?? s.newId();
  if (prev) {
    await trx.updateTable('scim_groups').set({ display_name: next.displayName, display_name_key: next.displayName.toLowerCase(), external_id: next.externalId, version: prev.version + 1, updated_at: now }).where('id', '=', id).execute();
  } else {
    await trx.insertInto('scim_groups').values({ id, tenant_id: s.tenant.id, display_name: next.displayName, display_name_key: next.displayName.toLowerCase(), external_id: next.externalId, version: 1, created_at: now, updated_at: now }).execute();
  }
  for (let i = 0; i < removed.length; i += CHUNK) await trx.deleteFrom('scim_group_members').where('group_id', '=', id).where('user_id', 'in', removed.slice(i, i + CHUNK)).execute();
  for (let i = 0; i < added.length; i += CHUNK) await trx.insertInto('scim_group_members').values(added.slice(i, i + CHUNK).map((user_id) => ({ group_id: id, user_id, tenant_id: s.tenant.id }))).execute();
  await insertAuditRows(trx, [auditRow(s, action, { label: next.displayName }, { group: id, added: added.length, removed: removed.length, renamed: prev && prev.display_name !== next.displayName ? prev.display_name : undefined })]);
  const renamed = prev !== null && prev.display_name_key !== next.displayName.toLowerCase();
  const concerned = renamed ? [...new Set([...prevMembers, ...next.members])] : [...added, ...removed];
  const r = await applyScimLicence(trx, s, concerned);
  return { id, mailed: r.enabled + r.disabled > 0 };
}

export async function createScimGroup(s: TenantScope, body: unknown, base: string): Promise<Record<string, unknown>> {
  const doc = readGroupDoc(body);
  const { out, mailed } = await groupedWrite(s, async (trx) => {
    const r = await write(trx, s, null, [], doc, 'scim.group_add');
    return { out: await resource(trx, s, await groupRow(trx, s, r.id), base), mailed: r.mailed };
  });
  if (mailed) s.onMailQueued?.();
  return out;
}

async function change(s: TenantScope, id: string, ifMatch: string | undefined, base: string, next: (g: GroupDoc) => GroupDoc): Promise<Record<string, unknown>> {
  const { out, mailed } = await groupedWrite(s, async (trx) => {
    const g = await groupRow(trx, s, id, true);
    checkVersion(ifMatch, g.version);
    const members = await membersOf(trx, g.id);
    const r = await write(trx, s, g, members, next({ displayName: g.display_name, externalId: g.external_id, members }), 'scim.group_update');
    return { out: await resource(trx, s, await groupRow(trx, s, r.id), base), mailed: r.mailed };
  });
  if (mailed) s.onMailQueued?.();
  return out;
}

export async function replaceScimGroup(s: TenantScope, id: string, body: unknown, ifMatch: string | undefined, base: string): Promise<Record<string, unknown>> {
  const doc = readGroupDoc(body);
  return change(s, id, ifMatch, base, () => doc);
}

export async function patchScimGroup(s: TenantScope, id: string, body: unknown, ifMatch: string | undefined, base: string): Promise<Record<string, unknown>> {
  const ops = readPatch('Group', body);
  // Member changes (what a 10,000-member push is) as a set difference; anything else through scim-patch.
  return change(s, id, ifMatch, base, (g) => patchGroupMembers(g, ops) ?? readGroupDoc(applyPatch(patchableGroup(g), ops)));
}

export async function deleteScimGroup(s: TenantScope, id: string, ifMatch: string | undefined): Promise<void> {
  const mailed = await groupedWrite(s, async (trx) => {
    const g = await groupRow(trx, s, id, true);
    checkVersion(ifMatch, g.version);
    const members = await membersOf(trx, g.id);
    await trx.deleteFrom('scim_group_members').where('group_id', '=', g.id).execute();
    await trx.deleteFrom('scim_groups').where('id', '=', g.id).execute();
    await insertAuditRows(trx, [auditRow(s, 'scim.group_remove', { label: g.display_name }, { group: g.id, members: members.length })]);
    return (await applyScimLicence(trx, s, members)).enabled + 0 > 0 || members.length > 0;
  });
  if (mailed) s.onMailQueued?.();
}
