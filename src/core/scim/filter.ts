import { parse, Tester, type Filter } from 'scim2-parse-filter';
import { AppError } from '../errors.ts';
import { attributeAt, isCaseExact, type ResourceKind } from './schemas.ts';

/**
 * SCIM filters (RFC 7644 §3.4.2.2), parsed by scim2-parse-filter. Every attribute a filter names
 * must be one of the resource's; strings compare case-insensitively except on case-exact
 * attributes (so `userName eq "BOB@contoso.com"` finds bob@contoso.com).
 */
export type Predicate = (resource: Record<string, unknown>) => boolean;

export interface ParsedFilter {
  test: Predicate;
  /** A lookup the database can answer by index: `userName eq "…"`, `externalId eq "…"`, `id eq "…"`, `displayName eq "…"`. */
  lookup: { attribute: 'userName' | 'externalId' | 'id' | 'displayName'; value: string } | null;
}

const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;
const walker = new Tester() as unknown as { attrPath(p: string): string[]; attrTest(path: string[], r: unknown, op: (v: unknown) => boolean): boolean };

function invalid(detail: string): AppError {
  return new AppError('SCIM_INVALID_FILTER', detail, { field: 'filter' });
}

/** Every attribute path of the filter, inside value paths joined to their parent (`emails.type`). */
function checkPaths(kind: ResourceKind, f: Filter, prefix: string, depth: number): void {
  if (depth > MAX_DEPTH) throw invalid(`The filter nests deeper than ${MAX_DEPTH} levels.`);
  switch (f.op) {
    case 'and':
    case 'or':
      for (const c of f.filters) checkPaths(kind, c, prefix, depth + 1);
      return;
    case 'not':
      checkPaths(kind, f.filter, prefix, depth + 1);
      return;
    case '[]':
      if (prefix) throw invalid('A value path cannot be inside another one.');
      if (!attributeAt(kind, f.attrPath)?.subAttributes) throw invalid(`${f.attrPath} is not a multi-valued attribute of ${kind}.`);
      checkPaths(kind, f.valFilter, `${f.attrPath}.`, depth + 1);
      return;
    default: {
      const path = `${prefix}${f.attrPath}`;
      if (typeof f.attrPath !== 'string' || !attributeAt(kind, path)) throw invalid(`${String(f.attrPath)} is not an attribute of ${kind} a filter can name.`);
      if (f.op !== 'pr' && !['string', 'number', 'boolean'].includes(typeof f.compValue) && f.compValue !== null) throw invalid(`The value compared with ${path} is not a string, number, boolean or null.`);
    }
  }
}

function compare(op: string, a: unknown, b: unknown, exact: boolean): boolean {
  if (a === undefined || (typeof a === 'object' && a !== null)) return false;
  if (typeof a === 'string' && typeof b === 'string') {
    const x = exact ? a : a.toLowerCase();
    const y = exact ? b : b.toLowerCase();
    switch (op) {
      case 'eq': return x === y;
      case 'ne': return x !== y;
      case 'co': return x.includes(y);
      case 'sw': return x.startsWith(y);
      case 'ew': return x.endsWith(y);
      case 'gt': return x > y;
      case 'lt': return x < y;
      case 'ge': return x >= y;
      case 'le': return x <= y;
    }
    return false;
  }
  if (op === 'eq') return a === b;
  if (op === 'ne') return a !== b;
  if (typeof a === 'number' && typeof b === 'number') return op === 'gt' ? a > b : op === 'lt' ? a < b : op === 'ge' ? a >= b : op === 'le' ? a <= b : false;
  return false;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
}

function evaluate(kind: ResourceKind, r: unknown, f: Filter, prefix: string): boolean {
  switch (f.op) {
    case 'and': return f.filters.every((c) => evaluate(kind, r, c, prefix));
    case 'or': return f.filters.some((c) => evaluate(kind, r, c, prefix));
    case 'not': return !evaluate(kind, r, f.filter, prefix);
    case '[]': return walker.attrTest(walker.attrPath(f.attrPath), r, (s) => evaluate(kind, s, f.valFilter, `${f.attrPath}.`));
    case 'pr': return walker.attrTest(walker.attrPath(f.attrPath), r, present);
    default: {
      const exact = isCaseExact(kind, `${prefix}${f.attrPath}`);
      return walker.attrTest(walker.attrPath(f.attrPath), r, (v) => compare(f.op, v, f.compValue, exact));
    }
  }
}

/** Parses a filter for a resource type; a syntax error or an unknown attribute is SCIM_INVALID_FILTER. */
export function parseFilter(kind: ResourceKind, text: string): ParsedFilter {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (e) {
    throw invalid(`The filter is not valid SCIM filter syntax: ${e instanceof Error ? e.message.slice(0, 200) : 'parse error'}.`);
  }
  if (!ast || typeof ast !== 'object') throw invalid('The filter is empty.');
  checkPaths(kind, ast, '', 0);
  let lookup: ParsedFilter['lookup'] = null;
  if (ast.op === 'eq' && typeof ast.compValue === 'string') {
    const a = ast.attrPath.toLowerCase();
    const names = kind === 'User' ? (['userName', 'externalId', 'id'] as const) : (['displayName', 'externalId', 'id'] as const);
    const hit = names.find((n) => n.toLowerCase() === a);
    if (hit) lookup = { attribute: hit, value: ast.compValue };
  }
  return { test: (r) => evaluate(kind, r, ast, ''), lookup };
}
