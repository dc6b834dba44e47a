import { AppError } from '../errors.ts';
import { attributeAt, ENTERPRISE_SCHEMA, type ResourceKind } from './schemas.ts';

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes an answer carries.
 * `id` and `schemas` are always returned; `meta` unless excluded.
 */
export interface Projection {
  only: string[][] | null;
  excluded: string[][];
}

function paths(kind: ResourceKind, text: string | undefined, field: string): string[][] | null {
  if (text === undefined || text.trim() === '') return null;
  const list = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (list.length > 100) throw new AppError('SCIM_TOO_MANY', `${field} names more than 100 attributes.`, { field });
  return list.map((p) => {
    if (!attributeAt(kind, p) && !(kind === 'User' && p.toLowerCase() === ENTERPRISE_SCHEMA.toLowerCase())) throw new AppError('SCIM_INVALID_PATH', `${p.slice(0, 200)} is not an attribute of ${kind}.`, { field });
    const lower = p.toLowerCase();
    const ext = ENTERPRISE_SCHEMA.toLowerCase();
    if (lower.startsWith(`${ext}:`)) return [ENTERPRISE_SCHEMA, ...p.slice(ext.length + 1).split('.')];
    if (lower === ext) return [ENTERPRISE_SCHEMA];
    return p.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, '').split('.');
  });
}

export function parseProjection(kind: ResourceKind, attributes: string | undefined, excluded: string | undefined): Projection {
  return { only: paths(kind, attributes, 'attributes'), excluded: paths(kind, excluded, 'excludedAttributes') ?? [] };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function pickPath(src: Record<string, unknown>, path: string[], out: Record<string, unknown>): void {
  const key = Object.keys(src).find((k) => same(k, path[0]!));
  if (key === undefined) return;
  const v = src[key];
  if (path.length === 1) {
    out[key] = v;
    return;
  }
  const rest = path.slice(1);
  if (Array.isArray(v)) {
    const prev = Array.isArray(out[key]) ? (out[key] as Record<string, unknown>[]) : v.map(() => ({}));
    v.forEach((item, i) => {
      if (item && typeof item === 'object') pickPath(item as Record<string, unknown>, rest, prev[i]!);
    });
    out[key] = prev;
  } else if (v && typeof v === 'object') {
    const prev = (out[key] && typeof out[key] === 'object' ? out[key] : {}) as Record<string, unknown>;
    pickPath(v as Record<string, unknown>, rest, prev);
    out[key] = prev;
  }
}

function dropPath(obj: Record<string, unknown>, path: string[]): void {
  const key = Object.keys(obj).find((k) => same(k, path[0]!));
  if (key === undefined) return;
  if (path.length === 1) {
    delete obj[key];
    return;
  }
  const v = obj[key];
  for (const item of Array.isArray(v) ? v : [v]) if (item && typeof item === 'object') dropPath(item as Record<string, unknown>, path.slice(1));
}

const ALWAYS = ['id', 'schemas'];

export function project(resource: Record<string, unknown>, p: Projection): Record<string, unknown> {
  let out: Record<string, unknown>;
  if (p.only) {
    out = {};
    for (const k of ALWAYS) if (k in resource) out[k] = resource[k];
    for (const path of p.only) pickPath(resource, path, out);
    if (!p.only.some((x) => same(x[0]!, 'meta')) && resource.meta) out.meta = resource.meta;
  } else {
    out = structuredClone(resource);
  }
  for (const path of p.excluded) if (!(path.length === 1 && ALWAYS.includes(path[0]!.toLowerCase()))) dropPath(out, path);
  return out;
}
