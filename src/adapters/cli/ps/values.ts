import type { Statement } from './ast.ts';

/** The values a script handles: JS scalars, arrays, plain objects (cmdlet output, hashtables), dates and script blocks. */
export class ScriptBlock {
  constructor(readonly body: Statement[], readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What `catch` sees as $_: the error, with $_.Exception.Message as in PowerShell. */
export class ErrorRecord {
  readonly Exception: { Message: string; Code: string };
  readonly FullyQualifiedErrorId: string;
  constructor(code: string, message: string) {
    this.Exception = { Message: message, Code: code };
    this.FullyQualifiedErrorId = code;
  }
  toString(): string {
    return this.Exception.Message;
  }
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof ScriptBlock);
}

/** The key of `name` in `o`, case-insensitively (PowerShell's property names ignore case). */
export function keyOf(o: Obj, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(o, name)) return name;
  const lc = name.toLowerCase();
  return Object.keys(o).find((k) => k.toLowerCase() === lc);
}

export function getProp(v: unknown, name: string): unknown {
  if (Array.isArray(v)) {
    if (/^(count|length)$/i.test(name)) return v.length;
    // Member enumeration: $users.Name is every user's Name.
    return v.flatMap((x) => {
      const r = getProp(x, name);
      return r === undefined || r === null ? [] : Array.isArray(r) ? r : [r];
    });
  }
  if (typeof v === 'string' && /^length$/i.test(name)) return v.length;
  if (v instanceof Date) {
    const m: Record<string, () => unknown> = { year: () => v.getFullYear(), month: () => v.getMonth() + 1, day: () => v.getDate(), hour: () => v.getHours(), minute: () => v.getMinutes(), dayofweek: () => v.getDay(), date: () => new Date(v.getFullYear(), v.getMonth(), v.getDate()) };
    return m[name.toLowerCase()]?.() ?? null;
  }
  if (v instanceof ErrorRecord) return name.toLowerCase() === 'exception' ? v.Exception : name.toLowerCase() === 'fullyqualifiederrorid' ? v.FullyQualifiedErrorId : null;
  if (isObj(v)) {
    const k = keyOf(v, name);
    if (k !== undefined) return v[k];
    if (/^count$/i.test(name)) return 1;
    return null;
  }
  if (v === null || v === undefined) return /^count$/i.test(name) ? 0 : null;
  if (/^count$/i.test(name)) return 1;
  return null;
}

/** PowerShell's truth: $null, 0, '' and an empty array are false; an array of one is its element's truth. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length === 0 ? false : v.length === 1 ? truthy(v[0]) : true;
  return true;
}

/** A value as text ("$x", Write-Host): booleans True/False, arrays space-separated. */
export function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return v.map(toText).join(' ');
  if (v instanceof Date) return v.toISOString();
  if (isObj(v)) return `@{${Object.entries(v).map(([k, x]) => `${k}=${toText(x)}`).join('; ')}}`;
  return String(v);
}

/** The output of a pipeline as one value: nothing → $null, one object → it, more → an array. */
export function collapse(items: unknown[]): unknown {
  return items.length === 0 ? null : items.length === 1 ? items[0] : items;
}

/** A value written to the pipeline: arrays are enumerated, $null is nothing. */
export function enumerate(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Output of Format-List / Format-Table: rendered as it is when it reaches the end. */
export class Formatted {
  constructor(readonly kind: 'list' | 'table', readonly props: string[], readonly objects: unknown[]) {}
}

export function formatDate(d: Date, f: string): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return f.replace(/yyyy|MM|dd|HH|mm|ss/g, (t) => ({ yyyy: p(d.getFullYear(), 4), MM: p(d.getMonth() + 1), dd: p(d.getDate()), HH: p(d.getHours()), mm: p(d.getMinutes()), ss: p(d.getSeconds()) })[t]!);
}

