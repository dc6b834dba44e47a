import { AppError } from '../errors.ts';
import { checkText } from '../text.ts';
import { GROUP_SCHEMA, MAX_MEMBER_VALUES } from './schemas.ts';
import { etagOf, type ResourceMeta } from './user.ts';
import type { PatchOp } from './patch.ts';

/** A SCIM Group as dialin keeps it: a display name, an externalId and the member user ids. */
export interface GroupDoc {
  displayName: string;
  externalId: string | null;
  members: string[];
}

/** Entra ID lists this next to the Group schema in its create requests. */
const ENTRA_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group';

const bad = (detail: string, field: string) => new AppError('SCIM_INVALID_VALUE', detail, { field });

/** Reads a Group body (POST, PUT, or a document after PATCH); unknown attributes are SCIM_INVALID_PATH. */
export function readGroupDoc(body: unknown): GroupDoc {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('SCIM_INVALID_SYNTAX', 'The body must be a SCIM Group object.', { field: 'body' });
  const b = body as Record<string, unknown>;
  if (b.schemas !== undefined && (!Array.isArray(b.schemas) || b.schemas.some((s) => s !== GROUP_SCHEMA && s !== ENTRA_GROUP_SCHEMA))) throw new AppError('SCIM_INVALID_SYNTAX', `schemas must be ["${GROUP_SCHEMA}"].`, { field: 'schemas' });
  const out: GroupDoc = { displayName: '', externalId: null, members: [] };
  for (const [k, v] of Object.entries(b)) {
    switch (k.toLowerCase()) {
      case 'schemas':
      case 'id':
      case 'meta':
        break;
      case 'displayname':
        if (typeof v !== 'string' || v.trim() === '' || v.length > 256) throw bad('displayName must be 1 to 256 characters.', 'displayName');
        out.displayName = checkText(v.trim(), 'displayName');
        break;
      case 'externalid':
        if (v !== null && (typeof v !== 'string' || v.length > 256)) throw bad('externalId must be a string of at most 256 characters.', 'externalId');
        out.externalId = v === null || v === '' ? null : checkText(v as string, 'externalId');
        break;
      case 'members': {
        const list = v === null ? [] : Array.isArray(v) ? v : [v];
        if (list.length > MAX_MEMBER_VALUES) throw new AppError('SCIM_TOO_MANY', `members has more than ${MAX_MEMBER_VALUES} values.`, { field: 'members' });
        const seen = new Set<string>();
        for (const [i, m] of list.entries()) {
          const value = typeof m === 'object' && m !== null ? (m as Record<string, unknown>).value : undefined;
          if (typeof value !== 'string' || value === '' || value.length > 64) throw bad(`members[${i}].value must be the id of a user.`, 'members');
          seen.add(value.toLowerCase());
        }
        out.members = [...seen];
        break;
      }
      default:
        throw new AppError('SCIM_INVALID_PATH', `${k.slice(0, 200)} is not an attribute of the Group schema.`, { field: k.slice(0, 200) });
    }
  }
  if (out.displayName === '') throw bad('displayName is required.', 'displayName');
  return out;
}

/** The document PATCH operations are applied to. */
export function patchableGroup(g: GroupDoc): Record<string, unknown> {
  return { displayName: g.displayName, ...(g.externalId ? { externalId: g.externalId } : {}), members: g.members.map((value) => ({ value })) };
}

/** A member as a PATCH names it: `{ value: id }` (readPatch has dropped `display`, `$ref`, `type`). */
function memberValues(v: unknown): string[] | null {
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const m of list) {
    if (typeof m !== 'object' || m === null || typeof (m as { value?: unknown }).value !== 'string') return null;
    out.push((m as { value: string }).value);
  }
  return out;
}

const MEMBER_FILTER = /^members\[value eq "([^"\\]*)"\]$/;

/**
 * Member changes applied straight to the member set: adding 10,000 members to a group of 10,000
 * through the generic PATCH (scim-patch compares every value with every member) takes seconds.
 * Covers what Entra ID and Okta send for members — `add`/`replace`/`remove` with path `members`
 * and a list of `{ value }`, `remove` of `members[value eq "…"]`, `remove` of every member — with
 * the library's meaning (values compared exactly, order kept, new members appended). Null when an
 * operation is anything else: the caller then applies the PATCH with the library.
 */
export function patchGroupMembers(g: GroupDoc, ops: readonly PatchOp[]): GroupDoc | null {
  const members = new Map<string, { value: string }>(g.members.map((value) => [value, { value }]));
  const steps: (() => void)[] = [];
  for (const o of ops) {
    const path = o.path;
    const filtered = path === undefined ? null : MEMBER_FILTER.exec(path);
    if (filtered && o.op === 'remove' && o.value === undefined) {
      steps.push(() => members.delete(filtered[1]!));
      continue;
    }
    if (path?.toLowerCase() !== 'members') return null;
    if (o.op === 'remove' && o.value === undefined) {
      steps.push(() => members.clear());
      continue;
    }
    const values = memberValues(o.value);
    if (!values) return null;
    if (o.op === 'add') steps.push(() => values.forEach((value) => members.has(value) || members.set(value, { value })));
    else if (o.op === 'remove') steps.push(() => values.forEach((value) => members.delete(value)));
    else
      steps.push(() => {
        members.clear();
        values.forEach((value) => members.set(value, { value }));
      });
  }
  steps.forEach((step) => step());
  // The same checks as any other group document (ids, duplicates by case, the member limit).
  return readGroupDoc({ displayName: g.displayName, externalId: g.externalId, members: [...members.values()] });
}

export function groupResource(g: GroupDoc, m: ResourceMeta, usersBase: string, names: ReadonlyMap<string, string>): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: m.id,
    displayName: g.displayName,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    members: g.members.map((value) => ({ value, ...(names.has(value) ? { display: names.get(value) } : {}), type: 'User', $ref: `${usersBase}/Users/${value}` })),
    meta: { resourceType: 'Group', created: new Date(m.created).toISOString(), lastModified: new Date(m.lastModified).toISOString(), location: m.location, version: etagOf(m.version) },
  };
}
