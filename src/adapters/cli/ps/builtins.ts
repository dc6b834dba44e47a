import fs from 'node:fs';
import { ObjectStream } from './stream.ts';
import { parse as parseCsv } from 'csv-parse/sync';
import { AppError } from '../../../core/errors.ts';
import type { Command } from './ast.ts';
import type { Evaluator } from './evaluate.ts';
import { compare } from './operators.ts';
import { collapse, enumerate, Formatted, formatDate, getProp, isObj, keyOf, ScriptBlock, toText, truthy, type Obj } from './values.ts';
import { render } from '../format.ts';
import { csvCell } from '../../files/csv-cell.ts';

export interface CallArgs {
  /** Named arguments by lower-case name (a switch is true). */
  named: Map<string, unknown>;
  positional: unknown[];
  order: { name: string | null; value: unknown; switchOnly: boolean }[];
}

export interface Builtin {
  /** Parameter names (lower case) the script check accepts; a prefix of one is accepted too. */
  params: string[];
  /** Parameters that take no value. */
  switches?: string[];
  run(ev: Evaluator, a: CallArgs, input: unknown[] | null, c: Command): Promise<unknown[]>;
  /** Passes a stream on object by object; without it a stream is collected and given to run. */
  stream?(ev: Evaluator, a: CallArgs, input: ObjectStream, c: Command): ObjectStream;
}

/** The lines admin scripts begin with, to connect to Microsoft's service: not needed here. */
export const PREAMBLE = new Set(['import-module', 'connect-microsoftteams', 'disconnect-microsoftteams', 'new-csonlinesession', 'import-pssession', 'remove-pssession', 'get-credential', 'set-executionpolicy', 'start-transcript', 'stop-transcript']);

/** A named argument by any prefix of its name (PowerShell accepts -Exp for -ExpandProperty). */
function arg(a: CallArgs, ...names: string[]): unknown {
  for (const [k, v] of a.named) if (names.some((n) => n.startsWith(k) && k.length >= Math.min(2, n.length))) return v;
  return undefined;
}
function has(a: CallArgs, ...names: string[]): boolean {
  return arg(a, ...names) !== undefined;
}

const COMPARE_PARAMS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'like', 'notlike', 'match', 'notmatch', 'contains', 'notcontains', 'in', 'notin'].flatMap((o) => [o, `c${o}`, `i${o}`]);

/** Where-Object's simplified form: `Where-Object IsPinSet -eq $true`, or just `Where-Object IsPinSet`. */
export async function whereSimple(a: CallArgs, item: unknown): Promise<boolean> {
  const prop = toText(arg(a, 'property') ?? a.positional[0]);
  const op = a.order.find((o) => o.name !== null && (COMPARE_PARAMS.includes(o.name.toLowerCase()) || o.name.toLowerCase() === 'not'));
  const v = getProp(item, prop);
  if (!op) return truthy(v);
  if (op.name!.toLowerCase() === 'not') return !truthy(v);
  const right = op.switchOnly ? (arg(a, 'value') ?? a.positional[1]) : op.value;
  return truthy(compare(op.name!.toLowerCase(), v, right ?? null));
}

function propsOf(v: unknown): string[] {
  if (v === undefined || v === true) return [];
  return enumerate(v).map((x) => toText(x));
}

function pickProps(o: unknown, props: (string | Obj)[], ev: Evaluator): Promise<Obj> {
  return (async () => {
    const out: Obj = {};
    for (const p of props) {
      if (isObj(p)) {
        // A calculated property: @{Name='X'; Expression={ … }}.
        const name = toText(getProp(p, 'Name') ?? getProp(p, 'n') ?? getProp(p, 'Label') ?? getProp(p, 'l'));
        const ex = getProp(p, 'Expression') ?? getProp(p, 'e');
        out[name] = ex instanceof ScriptBlock ? collapse(await ev.invoke(ex, o)) : getProp(o, toText(ex));
        continue;
      }
      if (p === '*') {
        if (isObj(o)) Object.assign(out, o);
        continue;
      }
      const k = isObj(o) ? (keyOf(o, p) ?? p) : p;
      out[k] = getProp(o, p);
    }
    return out;
  })();
}

function sortKey(v: unknown): number | string {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return toText(v).toLowerCase();
}

/** An Export-Csv cell: quoted like PowerShell's, and neutralised when a spreadsheet would run it as a formula. */
function exportCell(v: unknown): string {
  return csvCell(Array.isArray(v) ? v.map(toText).join(' ') : toText(v), { alwaysQuote: true });
}

function path(a: CallArgs, cmd: string): string {
  const p = arg(a, 'path', 'filepath', 'literalpath') ?? a.positional[0];
  if (p === undefined || p === null || p === true) throw new AppError('MISSING_ARGUMENT', `${cmd} needs -Path.`, { field: 'Path' });
  return toText(p);
}

const where: Builtin = {
  params: ['filterscript', 'property', 'value', 'not', ...COMPARE_PARAMS],
  switches: ['not'],
  async run(ev, a, input) {
    const block = arg(a, 'filterscript') ?? a.positional[0];
    const out: unknown[] = [];
    for (const item of input ?? []) if (await whereKeeps(ev, a, block, item)) out.push(item);
    return out;
  },
  stream(ev, a, input) {
    const block = arg(a, 'filterscript') ?? a.positional[0];
    return ObjectStream.map(input, async (item) => ((await whereKeeps(ev, a, block, item)) ? [item] : []));
  },
};

async function whereKeeps(ev: Evaluator, a: CallArgs, block: unknown, item: unknown): Promise<boolean> {
  return block instanceof ScriptBlock ? truthy(collapse(await ev.invoke(block, item))) : await whereSimple(a, item);
}

const foreachObject: Builtin = {
  params: ['process', 'begin', 'end', 'membername'],
  async run(ev, a, input) {
    const out: unknown[] = [];
    const begin = arg(a, 'begin');
    const end = arg(a, 'end');
    const proc = arg(a, 'process') ?? a.positional[0];
    if (begin instanceof ScriptBlock) out.push(...(await ev.invoke(begin, null)));
    for (const item of input ?? []) {
      if (proc instanceof ScriptBlock) out.push(...(await ev.invoke(proc, item)));
      else if (proc !== undefined) out.push(...enumerate(getProp(item, toText(arg(a, 'membername') ?? proc))));
    }
    if (end instanceof ScriptBlock) out.push(...(await ev.invoke(end, null)));
    return out;
  },
  stream(ev, a, input) {
    const begin = arg(a, 'begin');
    const end = arg(a, 'end');
    const proc = arg(a, 'process') ?? a.positional[0];
    return new ObjectStream(
      (async function* () {
        if (begin instanceof ScriptBlock) yield* await ev.invoke(begin, null);
        for await (const item of input) {
          if (proc instanceof ScriptBlock) yield* await ev.invoke(proc, item);
          else if (proc !== undefined) yield* enumerate(getProp(item, toText(arg(a, 'membername') ?? proc)));
        }
        if (end instanceof ScriptBlock) yield* await ev.invoke(end, null);
      })(),
    );
  },
};

const select: Builtin = {
  params: ['property', 'expandproperty', 'first', 'last', 'skip', 'unique', 'excludeproperty'],
  switches: ['unique'],
  async run(ev, a, input) {
    let rows = input ?? [];
    const skip = arg(a, 'skip');
    if (skip !== undefined) rows = rows.slice(Number(skip));
    const first = arg(a, 'first');
    if (first !== undefined) rows = rows.slice(0, Number(first));
    const last = arg(a, 'last');
    if (last !== undefined) rows = rows.slice(-Number(last));
    const props = enumerate(arg(a, 'property') ?? (a.positional.length ? a.positional.flatMap((p) => enumerate(p)) : undefined)) as (string | Obj)[];
    const expand = arg(a, 'expandproperty');
    let out: unknown[] = rows;
    if (expand !== undefined) {
      const key = toText(expand);
      out = rows.flatMap((r) => {
        const v = getProp(r, key);
        if (isObj(r) && keyOf(r, key) === undefined) throw new AppError('INVALID_ARGUMENT', `Select-Object -ExpandProperty ${key}: the objects have no property ${key}.`);
        return enumerate(v);
      });
    } else if (props.length) {
      out = [];
      for (const r of rows) out.push(await pickProps(r, props.map((p) => (isObj(p) ? p : toText(p))), ev));
    }
    if (has(a, 'unique')) {
      const seen = new Set<string>();
      out = out.filter((x) => {
        const k = JSON.stringify(x);
        return seen.has(k) ? false : (seen.add(k), true);
      });
    }
    return out;
  },
};

const sort: Builtin = {
  params: ['property', 'descending', 'unique'],
  switches: ['descending', 'unique'],
  async run(_ev, a, input) {
    const props = propsOf(arg(a, 'property') ?? (a.positional.length ? a.positional.flatMap((p) => enumerate(p)) : undefined));
    const desc = truthy(arg(a, 'descending') ?? false);
    const key = (x: unknown) => (props.length ? props.map((p) => sortKey(getProp(x, p))) : [sortKey(x)]);
    let out = [...(input ?? [])].sort((x, y) => {
      const kx = key(x);
      const ky = key(y);
      for (let i = 0; i < kx.length; i++) {
        if (kx[i]! < ky[i]!) return desc ? 1 : -1;
        if (kx[i]! > ky[i]!) return desc ? -1 : 1;
      }
      return 0;
    });
    if (has(a, 'unique')) out = out.filter((x, i) => i === 0 || JSON.stringify(key(x)) !== JSON.stringify(key(out[i - 1])));
    return out;
  },
};

const measure: Builtin = {
  params: ['property', 'sum', 'average', 'maximum', 'minimum'],
  switches: ['sum', 'average', 'maximum', 'minimum'],
  async run(_ev, a, input) {
    const prop = arg(a, 'property') ?? a.positional[0];
    const items = input ?? [];
    const vals = prop === undefined ? items : items.map((x) => getProp(x, toText(prop)));
    const nums = vals.filter((v) => v !== null && v !== undefined).map(Number);
    const o: Obj = { Count: prop === undefined ? items.length : nums.length };
    if (has(a, 'average')) o.Average = nums.length ? nums.reduce((x, y) => x + y, 0) / nums.length : null;
    if (has(a, 'sum')) o.Sum = nums.reduce((x, y) => x + y, 0);
    if (has(a, 'maximum')) o.Maximum = nums.length ? Math.max(...nums) : null;
    if (has(a, 'minimum')) o.Minimum = nums.length ? Math.min(...nums) : null;
    if (prop !== undefined) o.Property = toText(prop);
    return [o];
  },
};

const group: Builtin = {
  params: ['property', 'noelement'],
  switches: ['noelement'],
  async run(_ev, a, input) {
    const props = propsOf(arg(a, 'property') ?? a.positional[0]);
    const groups = new Map<string, { name: string; items: unknown[] }>();
    for (const x of input ?? []) {
      const name = props.map((p) => toText(getProp(x, p))).join(', ');
      const k = name.toLowerCase();
      if (!groups.has(k)) groups.set(k, { name, items: [] });
      groups.get(k)!.items.push(x);
    }
    return [...groups.values()].map((g) => (has(a, 'noelement') ? { Count: g.items.length, Name: g.name } : { Count: g.items.length, Name: g.name, Group: g.items }));
  },
};

const formatter = (kind: 'list' | 'table'): Builtin => ({
  params: ['property', 'autosize', 'wrap', 'groupby'],
  switches: ['autosize', 'wrap'],
  async run(_ev, a, input) {
    const props = propsOf(arg(a, 'property') ?? (a.positional.length ? a.positional.flatMap((p) => enumerate(p)) : undefined)).filter((p) => p !== '*');
    return [new Formatted(kind, props, input ?? [])];
  },
});

const importCsv: Builtin = {
  params: ['path', 'literalpath', 'delimiter', 'encoding', 'header'],
  async run(_ev, a) {
    const file = path(a, 'Import-Csv');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    } catch {
      throw new AppError('FILE_NOT_FOUND', `Import-Csv: cannot read the file ${file}.`, { field: 'Path' });
    }
    // Export-Csv without -NoTypeInformation (Windows PowerShell 5) starts with a #TYPE line.
    text = text.replace(/^#TYPE[^\n]*\n/, '');
    const header = arg(a, 'header');
    try {
      return parseCsv(text, { columns: header !== undefined ? propsOf(header) : true, delimiter: toText(arg(a, 'delimiter') ?? ','), skip_empty_lines: true, relax_column_count: true, trim: false, bom: true }) as Obj[];
    } catch (e) {
      throw new AppError('CSV_INVALID', `${file}: ${(e as Error).message}`, { cause: e });
    }
  },
};

const exportCsv: Builtin = {
  params: ['path', 'literalpath', 'notypeinformation', 'append', 'delimiter', 'encoding', 'force'],
  switches: ['notypeinformation', 'append', 'force'],
  async run(_ev, a, input) {
    const file = path(a, 'Export-Csv');
    const rows = (input ?? []).filter(isObj);
    const d = toText(arg(a, 'delimiter') ?? ',');
    const keys = rows.length ? Object.keys(rows[0]!) : [];
    const append = has(a, 'append') && fs.existsSync(file);
    const lines = [...(append ? [] : [keys.map(exportCell).join(d)]), ...rows.map((r) => keys.map((k) => exportCell(getProp(r, k))).join(d))];
    try {
      if (append) fs.appendFileSync(file, lines.length ? `${lines.join('\n')}\n` : '');
      else fs.writeFileSync(file, `${lines.join('\n')}\n`);
    } catch (e) {
      throw new AppError('FILE_NOT_FOUND', `Export-Csv: cannot write ${file} (${(e as Error).message}).`, { field: 'Path' });
    }
    return [];
  },
};

const outFile: Builtin = {
  params: ['filepath', 'path', 'literalpath', 'append', 'encoding', 'width', 'force', 'inputobject'],
  switches: ['append', 'force'],
  async run(ev, a, input) {
    const file = path(a, 'Out-File');
    const items = input ?? enumerate(arg(a, 'inputobject'));
    const text = items.map((x) => (x instanceof Formatted ? render(x.objects as Obj[], [{ kind: x.kind, props: x.props }], false, false) : isObj(x) ? render([x], [], false, true) : toText(x))).join('\n');
    void ev;
    try {
      if (has(a, 'append')) fs.appendFileSync(file, `${text}\n`);
      else fs.writeFileSync(file, `${text}\n`);
    } catch (e) {
      throw new AppError('FILE_NOT_FOUND', `Out-File: cannot write ${file} (${(e as Error).message}).`, { field: 'FilePath' });
    }
    return [];
  },
};

const getContent: Builtin = {
  params: ['path', 'literalpath', 'raw', 'encoding', 'totalcount', 'first'],
  switches: ['raw'],
  async run(_ev, a) {
    const file = path(a, 'Get-Content');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    } catch {
      throw new AppError('FILE_NOT_FOUND', `Get-Content: cannot read the file ${file}.`, { field: 'Path' });
    }
    if (has(a, 'raw')) return [text];
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    const n = arg(a, 'totalcount', 'first');
    return n === undefined ? lines : lines.slice(0, Number(n));
  },
};

const writeHost: Builtin = {
  params: ['object', 'foregroundcolor', 'backgroundcolor', 'nonewline', 'separator'],
  switches: ['nonewline'],
  async run(ev, a) {
    const sep = toText(arg(a, 'separator') ?? ' ');
    const vals = [...enumerate(arg(a, 'object')), ...a.positional];
    ev.host.term.out(vals.map(toText).join(sep));
    return [];
  },
};

const writeOutput: Builtin = {
  params: ['inputobject', 'noenumerate'],
  switches: ['noenumerate'],
  async run(_ev, a, input) {
    return [...(input ?? []), ...enumerate(arg(a, 'inputobject')), ...a.positional.flatMap((p) => enumerate(p))];
  },
};

const writeWarning: Builtin = {
  params: ['message'],
  async run(ev, a) {
    ev.host.term.err(`WARNING: ${toText(arg(a, 'message') ?? a.positional.map(toText).join(' '))}`);
    return [];
  },
};

const writeError: Builtin = {
  params: ['message'],
  async run(_ev, a) {
    throw new AppError('SCRIPT_ERROR', toText(arg(a, 'message') ?? a.positional.map(toText).join(' ')));
  },
};

const getDate: Builtin = {
  params: ['date', 'format'],
  async run(_ev, a) {
    const given = arg(a, 'date') ?? a.positional[0];
    const d = given === undefined ? new Date() : given instanceof Date ? given : new Date(toText(given));
    if (Number.isNaN(d.getTime())) throw new AppError('INVALID_ARGUMENT', `Get-Date: "${toText(given)}" is not a date.`, { field: 'Date' });
    const f = arg(a, 'format');
    return [f === undefined ? d : formatDate(d, toText(f))];
  },
};

export const BUILTINS = new Map<string, Builtin>([
  ['where-object', where],
  ['where', where],
  ['?', where],
  ['foreach-object', foreachObject],
  ['foreach', foreachObject],
  ['%', foreachObject],
  ['select-object', select],
  ['select', select],
  ['sort-object', sort],
  ['sort', sort],
  ['measure-object', measure],
  ['measure', measure],
  ['group-object', group],
  ['group', group],
  ['format-table', formatter('table')],
  ['ft', formatter('table')],
  ['format-list', formatter('list')],
  ['fl', formatter('list')],
  ['import-csv', importCsv],
  ['export-csv', exportCsv],
  ['out-file', outFile],
  ['get-content', getContent],
  ['gc', getContent],
  ['cat', getContent],
  ['write-host', writeHost],
  ['write-output', writeOutput],
  ['echo', writeOutput],
  ['write', writeOutput],
  ['write-warning', writeWarning],
  ['write-error', writeError],
  ['get-date', getDate],
]);
