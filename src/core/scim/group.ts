import { AppError } from '../errors.ts';
import { checkText } from '../text.ts';
import { GROUP_SCHEMA, MAX_MEMBER_VALUES } from './schemas.ts';
import { etagOf, type ResourceMeta } from './user.ts';

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
