import { AppError } from '../../core/errors.ts';
import { visible } from '../../core/text.ts';
import { displayNumber } from '../../core/phone-number.ts';
import type { Stage } from './bind.ts';

type Obj = Record<string, unknown>;

/** Applies the trailing pipe stages and renders objects as PowerShell would, or as JSON. */
export function render(objects: Obj[], stages: Stage[], json: boolean, single: boolean): string {
  let rows: unknown[] = objects;
  let layout: 'list' | 'table' = 'list';
  let props: string[] | null = null;
  for (const st of stages) {
    if (st.kind === 'select') {
      if (st.first !== undefined) rows = rows.slice(0, st.first);
      if (st.expand) {
        const key = st.expand;
        rows = rows.flatMap((r) => {
          const v = pick(r as Obj, key);
          if (v === undefined) throw new AppError('INVALID_ARGUMENT', `Select-Object -ExpandProperty ${key}: the objects have no property ${key}.`);
          return Array.isArray(v) ? v : [v];
        });
      } else if (st.props.length) {
        rows = rows.map((r) => Object.fromEntries(st.props.map((p) => [canonicalKey(r as Obj, p), pick(r as Obj, p) ?? null])));
      }
    } else {
      layout = st.kind;
      props = st.props.length ? st.props : null;
    }
  }
  if (props) rows = rows.map((r) => (isObj(r) ? Object.fromEntries(props!.map((p) => [canonicalKey(r, p), pick(r, p) ?? null])) : r));
  if (json) return jsonEscaped(JSON.stringify(single && rows.length === 1 ? rows[0] : rows, null, 2));
  if (rows.every((r) => !isObj(r))) return rows.map((r) => scalar(r)).join('\n');
  return layout === 'table' ? table(rows as Obj[]) : rows.map((r) => listOf(r as Obj)).join('\n\n');
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonicalKey(o: Obj, k: string): string {
  return Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase()) ?? k;
}

function pick(o: Obj, k: string): unknown {
  if (!isObj(o)) return undefined;
  const key = Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase());
  return key === undefined ? undefined : o[key];
}

/**
 * One value as PowerShell prints it in a list: booleans True/False, lists in braces; a control or
 * invisible character (in data stored before the edges refused them) is shown as \u{…}, never sent to the terminal.
 */
export function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `{${v.map((x) => (isObj(x) ? scalar(x.Number ?? x.Name ?? JSON.stringify(x)) : scalar(x))).join(', ')}}`;
  if (isObj(v)) return `{${Object.entries(v).map(([k, x]) => `${k}=${scalar(x)}`).join('; ')}}`;
  // Stored numbers are E.164; people read them as their country writes them (--json keeps E.164).
  if (typeof v === 'string' && E164.test(v)) return displayNumber(v);
  return visible(String(v).replace(/[\r\n]+/g, ' '));
}
const E164 = /^\+[1-9][0-9]{6,14}$/;

// JSON.stringify escapes C0 controls and lone surrogates but writes C1 controls, line separators and
// invisible format characters as they are; a terminal would act on them. \uXXXX is the same JSON value.
const JSON_RAW = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const jsonEscaped = (s: string) => s.replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function listOf(o: Obj): string {
  const keys = Object.keys(o);
  const w = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(w)} : ${scalar(o[k])}`).join('\n');
}

function table(rows: Obj[]): string {
  if (!rows.length) return '';
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => keys.map((k) => scalar(r[k])));
  const widths = keys.map((k, i) => Math.min(60, Math.max(k.length, ...cells.map((c) => c[i]!.length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join(' ').trimEnd();
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
