import { AppError } from '../../../core/errors.ts';
import { isObj, toText, truthy } from './values.ts';

/**
 * PowerShell's comparison operators: case-insensitive unless c-prefixed; the right operand is
 * converted to the left one's type ($n -gt "5" compares numbers); an array on the left filters
 * ($list -eq 3 is the elements equal to 3).
 */
export function compare(opIn: string, left: unknown, right: unknown): unknown {
  let op = opIn;
  let cs = false;
  if (/^c(?!ontains)/.test(op) || op === 'ccontains') {
    cs = true;
    op = op.slice(1);
  } else if (/^i(?!n$)/.test(op) && op !== 'in') op = op.slice(1);
  switch (op) {
    case 'contains':
      return asList(left).some((x) => equal(x, right, cs));
    case 'notcontains':
      return !asList(left).some((x) => equal(x, right, cs));
    case 'in':
      return asList(right).some((x) => equal(x, left, cs));
    case 'notin':
      return !asList(right).some((x) => equal(x, left, cs));
  }
  if (Array.isArray(left)) return left.filter((x) => scalarCompare(op, x, right, cs));
  return scalarCompare(op, left, right, cs);
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
}

function scalarCompare(op: string, l: unknown, r: unknown, cs: boolean): boolean {
  switch (op) {
    case 'eq':
      return equal(l, r, cs);
    case 'ne':
      return !equal(l, r, cs);
    case 'gt':
      return order(l, r, cs) > 0;
    case 'ge':
      return order(l, r, cs) >= 0;
    case 'lt':
      return order(l, r, cs) < 0;
    case 'le':
      return order(l, r, cs) <= 0;
    case 'like':
      return wildcard(toText(r), cs).test(toText(l));
    case 'notlike':
      return !wildcard(toText(r), cs).test(toText(l));
    case 'match':
      return regex(toText(r), cs).test(toText(l));
    case 'notmatch':
      return !regex(toText(r), cs).test(toText(l));
  }
  throw new AppError('UNSUPPORTED_SYNTAX', `the -${op} operator is not supported`);
}

/** Right converted to left's type, as PowerShell does. */
function coerce(l: unknown, r: unknown): unknown {
  if (r === null || r === undefined) return r;
  if (typeof l === 'number') {
    const n = typeof r === 'boolean' ? Number(r) : Number(typeof r === 'string' ? r.trim() : r);
    return Number.isNaN(n) ? r : n;
  }
  if (typeof l === 'boolean') return typeof r === 'string' ? r !== '' : truthy(r);
  if (l instanceof Date) return r instanceof Date ? r : new Date(String(r));
  if (typeof l === 'string') return r instanceof Date ? r.toISOString() : toText(r);
  return r;
}

function equal(l: unknown, r: unknown, cs: boolean): boolean {
  if (l === null || l === undefined) return r === null || r === undefined;
  if (r === null || r === undefined) return Array.isArray(l) ? false : false;
  const rr = coerce(l, r);
  if (typeof l === 'string' && typeof rr === 'string') return cs ? l === rr : l.toLowerCase() === rr.toLowerCase();
  if (l instanceof Date && rr instanceof Date) return l.getTime() === rr.getTime();
  if (isObj(l) || Array.isArray(l)) return l === r;
  return l === rr;
}

function order(l: unknown, r: unknown, cs: boolean): number {
  if (l === null || l === undefined) return r === null || r === undefined ? 0 : -1;
  if (r === null || r === undefined) return 1;
  // A date kept as text (PinExpirationTime from the database) compares as a date with a date.
  if (typeof l === 'string' && r instanceof Date) {
    const t = Date.parse(l);
    if (!Number.isNaN(t)) return Math.sign(t - r.getTime());
  }
  const rr = coerce(l, r);
  if (l instanceof Date && rr instanceof Date) return Math.sign(l.getTime() - rr.getTime());
  if (typeof l === 'number' && typeof rr === 'number') return Math.sign(l - rr);
  const a = cs ? toText(l) : toText(l).toLowerCase();
  const b = cs ? toText(rr) : toText(rr).toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

export function wildcard(pattern: string, cs = false): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '`' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, cs ? 's' : 'is');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function regex(pattern: string, cs: boolean): RegExp {
  try {
    return new RegExp(pattern, cs ? '' : 'i');
  } catch (e) {
    throw new AppError('INVALID_ARGUMENT', `-match: "${pattern}" is not a valid regular expression (${(e as Error).message}).`);
  }
}

export function arithmetic(op: string, l: unknown, r: unknown): unknown {
  if (op === '+') {
    if (Array.isArray(l)) return [...l, ...(Array.isArray(r) ? r : [r])];
    if (typeof l === 'string') return l + toText(r);
    if (l instanceof Date) throw new AppError('INVALID_ARGUMENT', 'Adding to a date: use (Get-Date).AddDays(n).');
    if (l === null || l === undefined) return r;
  }
  const a = Number(l ?? 0);
  const b = Number(r ?? 0);
  if (Number.isNaN(a) || Number.isNaN(b)) throw new AppError('INVALID_ARGUMENT', `Cannot compute "${toText(l)}" ${op} "${toText(r)}": not numbers.`);
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new AppError('INVALID_ARGUMENT', 'Division by zero.');
      return a / b;
    default:
      return a % b;
  }
}
