import { scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { AppError, isAppError } from '../errors.ts';
import { attributeAt, isEnterpriseUrn, MAX_OPERATIONS, PATCH_SCHEMA, type ResourceKind } from './schemas.ts';

/**
 * SCIM PATCH (RFC 7644 §3.5.2) as Entra ID and Okta send it, applied by scim-patch. Before the
 * library sees the operations they are checked and evened out: `op` in any case (`Add`,
 * `Replace`), every path's attribute known to the resource (else SCIM_INVALID_PATH, nothing
 * applied), and Entra's older member removal (`"path":"members"` with the members in `value`)
 * kept as it is, since scim-patch removes those values. The result is checked again by the caller.
 */
export interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

function syntax(detail: string, field = 'Operations'): AppError {
  return new AppError('SCIM_INVALID_SYNTAX', detail, { field });
}

/** The attribute part of a path: `emails[type eq "work"].value` → `emails.value`; null if malformed. */
export function attributeOfPath(path: string): string | null {
  const m = /^([^[\]]+?)(?:\[([^\]]*)\](?:\.([A-Za-z0-9$_-]+))?)?$/.exec(path.trim());
  if (!m) return null;
  if (m[2] !== undefined && m[2].trim() === '') return null;
  return m[3] ? `${m[1]}.${m[3]}` : m[1]!;
}

/** Validates a PatchOp message and returns its operations in the library's form. */
export function readPatch(kind: ResourceKind, body: unknown, maxOperations = MAX_OPERATIONS): PatchOp[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw syntax('The body must be a SCIM PatchOp message.', 'body');
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.schemas) || !b.schemas.includes(PATCH_SCHEMA)) throw syntax(`schemas must be ["${PATCH_SCHEMA}"].`, 'schemas');
  const extra = Object.keys(b).find((k) => !['schemas', 'Operations', 'operations'].includes(k));
  if (extra) throw syntax(`${extra.slice(0, 100)} is not a field of a PatchOp message.`, extra.slice(0, 100));
  const ops = b.Operations ?? b.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw syntax('Operations must be a non-empty list.');
  if (ops.length > maxOperations) throw new AppError('SCIM_TOO_MANY', `A PATCH may carry at most ${maxOperations} operations; this one has ${ops.length}. Nothing was changed.`, { field: 'Operations' });
  return ops.map((o, i): PatchOp => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw syntax(`Operations[${i}] must be an object.`);
    const r = o as Record<string, unknown>;
    const extraKey = Object.keys(r).find((k) => !['op', 'path', 'value'].includes(k));
    if (extraKey) throw syntax(`Operations[${i}].${extraKey.slice(0, 100)} is not a field of a PATCH operation.`);
    const op = typeof r.op === 'string' ? r.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw syntax(`Operations[${i}].op must be add, replace or remove.`);
    if (r.path !== undefined && typeof r.path !== 'string') throw new AppError('SCIM_INVALID_PATH', `Operations[${i}].path must be a string.`, { field: 'path' });
    const path = r.path as string | undefined;
    if (path !== undefined) {
      const attr = attributeOfPath(path);
      if (!attr || (!attributeAt(kind, attr) && !isEnterpriseUrn(attr))) throw new AppError('SCIM_INVALID_PATH', `Operations[${i}].path "${path.slice(0, 200)}" does not name an attribute of ${kind}.`, { field: 'path' });
      if (attr.split(/[.:]/).at(-1)!.toLowerCase() === 'id' || /^meta(\.|$)/i.test(attr)) throw new AppError('SCIM_INVALID_PATH', `Operations[${i}].path "${path.slice(0, 200)}" is read-only.`, { field: 'path' });
    } else if (op === 'remove') {
      throw new AppError('SCIM_INVALID_PATH', `Operations[${i}] removes without a path (scimType noTarget).`, { field: 'path' });
    } else if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
      throw syntax(`Operations[${i}] has no path, so its value must be an object of attributes.`);
    } else {
      for (const k of Object.keys(r.value as object)) {
        if (!attributeAt(kind, k) && !isEnterpriseUrn(k)) throw new AppError('SCIM_INVALID_PATH', `Operations[${i}].value.${k.slice(0, 200)} is not an attribute of ${kind}.`, { field: 'path' });
      }
    }
    if (op !== 'remove' && r.value === undefined) throw syntax(`Operations[${i}] (${op}) needs a value.`);
    let value = r.value;
    // Members are matched by their value alone: Entra sends `"$ref": null` beside it, which the stored members do not have.
    if (kind === 'Group' && path?.trim().toLowerCase() === 'members' && Array.isArray(value)) value = value.map((m) => (typeof m === 'object' && m !== null && 'value' in m ? { value: (m as { value: unknown }).value } : m));
    return { op, ...(path !== undefined ? { path } : {}), ...(value !== undefined ? { value } : {}) };
  });
}

/** Applies checked operations to a resource document (not changed in place); library refusals become SCIM errors. */
export function applyPatch<T extends Record<string, unknown>>(doc: T, ops: PatchOp[]): T {
  const resource = { ...structuredClone(doc), schemas: ['x'], meta: { created: new Date(0), lastModified: new Date(0) } } as unknown as ScimResource;
  let out: Record<string, unknown>;
  try {
    out = scimPatch(resource, ops as ScimPatchOperation[], { mutateDocument: true, treatMissingAsAdd: true }) as unknown as Record<string, unknown>;
  } catch (e) {
    if (isAppError(e)) throw e;
    const err = e as { scimType?: string; message?: string; name?: string };
    const detail = String(err.message ?? 'The PATCH cannot be applied.').slice(0, 300);
    if (err.scimType === 'invalidPath' || err.scimType === 'noTarget') throw new AppError('SCIM_INVALID_PATH', detail, { field: 'path' });
    if (err.scimType === 'invalidValue') throw new AppError('SCIM_INVALID_VALUE', detail, { field: 'value' });
    if (err.scimType !== undefined || e instanceof Error) throw new AppError('SCIM_INVALID_SYNTAX', detail, { field: 'Operations' });
    throw e;
  }
  delete out.schemas;
  delete out.meta;
  return out as T;
}
