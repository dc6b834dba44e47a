import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { AppError } from '../../core/errors.ts';
import type { Token } from './ps-tokenize.ts';
import type { CmdletDef, Identities, ParamDef, Params, ParamValue } from './cmdlet.ts';
import { closest } from './suggest.ts';

/** A trailing pipe stage dialin understands. */
export type Stage = { kind: 'list'; props: string[] } | { kind: 'table'; props: string[] } | { kind: 'select'; props: string[]; expand?: string; first?: number };

/** Options of dialin's own, accepted anywhere on a cmdlet line. */
export interface GlobalOptions {
  json: boolean;
  tenant: string | null;
  report: string | null;
  yes: boolean;
  /** --dry-run: show what the command would change, change nothing. */
  dryRun: boolean;
  /** --password-file FILE: where a command's SMTP password is read from in scripts. */
  passwordFile: string | null;
}

export interface Bound {
  def: CmdletDef;
  params: Params;
  stages: Stage[];
  globals: GlobalOptions;
}

const BOOLS: Record<string, boolean> = { $true: true, $false: false, true: true, false: false, '1': true, '0': false };

/** Binds the tokens after the cmdlet name to its parameters, PowerShell-style. */
/** `preset`: values bound already (a pipeline's stream of identities), as if given on the line. */
export async function bind(def: CmdletDef, tokens: Token[], globalsIn: Partial<GlobalOptions> = {}, preset: Params = {}): Promise<Bound> {
  const globals: GlobalOptions = { json: false, tenant: null, report: null, yes: false, dryRun: false, passwordFile: null, ...globalsIn };
  const pipeAt = tokens.findIndex((t) => t.t === 'pipe');
  const own = pipeAt < 0 ? tokens : tokens.slice(0, pipeAt);
  const stages = pipeAt < 0 ? [] : parseStages(tokens.slice(pipeAt));
  const params: Params = {};
  const positional = def.params.filter((p) => p.position !== undefined).sort((a, b) => a.position! - b.position!);
  let i = 0;

  const readValues = (): { values: string[]; nulls: boolean } => {
    const values: string[] = [];
    let nulls = false;
    for (;;) {
      const t = own[i];
      if (!t || t.t !== 'word' || (!t.quoted && isParamName(t.v))) break;
      if (!t.quoted && t.v.toLowerCase() === '$null') nulls = true;
      else values.push(t.v);
      i++;
      if (own[i]?.t === 'comma') {
        i++;
        continue;
      }
      break;
    }
    return { values, nulls };
  };

  while (i < own.length) {
    const t = own[i]!;
    if (t.t === 'comma') throw new AppError('INVALID_ARGUMENT', 'A comma is out of place: lists are written a,b,c after a parameter.');
    if (t.t !== 'word') break;
    if (!t.quoted && t.v.startsWith('--')) {
      i = await takeGlobal(t.v, own, i, globals);
      continue;
    }
    if (!t.quoted && isParamName(t.v)) {
      const [rawName, inline] = splitInline(t.v);
      const pdef = findParam(def, rawName);
      if (pdef.unsupported) throw new AppError('PARAMETER_NOT_SUPPORTED', `-${pdef.name} ${pdef.unsupported}.`, { field: pdef.name });
      i++;
      if (pdef.name in params) throw new AppError('INVALID_ARGUMENT', `-${pdef.name} is given twice.`, { field: pdef.name });
      if (pdef.type === 'switch') {
        params[pdef.name] = inline === undefined ? true : toBool(pdef, inline);
        continue;
      }
      if (inline !== undefined && inline !== '') {
        own.splice(i, 0, { t: 'word', v: inline, quoted: true });
      }
      const { values, nulls } = readValues();
      params[pdef.name] = await convert(pdef, values, nulls);
      continue;
    }
    const pdef = positional.find((p) => !(p.name in params));
    if (!pdef) throw new AppError('INVALID_ARGUMENT', `Unexpected value "${t.v}": name the parameter it is for (e.g. -Identity "${t.v}").`);
    const { values, nulls } = readValues();
    params[pdef.name] = await convert(pdef, values, nulls);
  }
  Object.assign(params, preset);
  for (const p of def.params) {
    if (p.mandatory && (params[p.name] === undefined || params[p.name] === null)) {
      throw new AppError('MISSING_ARGUMENT', `${def.name} needs -${p.name} (${p.help}). See \`dialin help ${def.name}\`.`, { field: p.name });
    }
  }
  return { def, params, stages, globals };
}

function isParamName(v: string): boolean {
  return /^-[A-Za-z][A-Za-z0-9]*(:.*)?$/.test(v);
}

function splitInline(v: string): [string, string | undefined] {
  const c = v.indexOf(':');
  return c < 0 ? [v.slice(1), undefined] : [v.slice(1, c), v.slice(c + 1)];
}

export function findParam(def: CmdletDef, raw: string): ParamDef {
  const lc = raw.toLowerCase();
  const all = def.params.flatMap((p) => [p.name, ...(p.aliases ?? [])].map((n) => ({ n, p })));
  const exact = all.find((x) => x.n.toLowerCase() === lc);
  if (exact) return exact.p;
  const prefix = [...new Set(all.filter((x) => x.n.toLowerCase().startsWith(lc)).map((x) => x.p))];
  if (prefix.length === 1) return prefix[0]!;
  if (prefix.length > 1) throw new AppError('INVALID_ARGUMENT', `-${raw} is ambiguous: ${prefix.map((p) => `-${p.name}`).join(', ')}.`, { field: raw });
  const hint = closest(raw, all.map((x) => x.n));
  throw new AppError('UNKNOWN_PARAMETER', `${def.name} has no parameter -${raw}.${hint ? ` Did you mean -${hint}?` : ''} See \`dialin help ${def.name}\`.`, { field: raw });
}

function toBool(p: ParamDef, v: string): boolean {
  const b = BOOLS[v.toLowerCase()];
  if (b === undefined) {
    throw new AppError('INVALID_ARGUMENT', `-${p.name} takes $true or $false, not "${v}". (In bash, quote it: '$false'.)`, { field: p.name });
  }
  return b;
}

async function convert(p: ParamDef, values: string[], nulls: boolean): Promise<ParamValue> {
  if (values.length === 0) {
    if (nulls) return null;
    const hint = p.type === 'bool' ? ' $true or $false (in bash, quote it: \'$false\' — an unquoted $false is replaced by nothing)' : ' a value';
    throw new AppError('MISSING_ARGUMENT', `-${p.name} needs${hint}.`, { field: p.name });
  }
  if (p.type === 'list') return values;
  if (p.type === 'identities') return identities(p, values);
  if (values.length > 1 && p.keepCommas && p.type === 'string') return values.join(',');
  if (values.length > 1) throw new AppError('INVALID_ARGUMENT', `-${p.name} takes one value, not a list.`, { field: p.name });
  const v = values[0]!;
  switch (p.type) {
    case 'bool':
    case 'switch':
      return toBool(p, v);
    case 'int': {
      if (!/^-?[0-9]{1,10}$/.test(v)) throw new AppError('INVALID_ARGUMENT', `-${p.name} takes a whole number, not "${v}".`, { field: p.name });
      return Number(v);
    }
    default:
      return v;
  }
}

function identities(p: ParamDef, values: string[]): Identities {
  if (values.length === 1 && values[0]!.startsWith('@')) {
    const file = values[0]!.slice(1);
    if (!fs.existsSync(file)) throw new AppError('FILE_NOT_FOUND', `-${p.name} @${file}: cannot read the file ${file}.`, { field: p.name });
    const count = async () => {
      let n = 0;
      for await (const _ of identitiesFromFile(file)) n++;
      return n;
    };
    return { values: identitiesFromFile(file), group: true, label: file, file: path.resolve(file), count };
  }
  const list = values.map((v) => v.trim()).filter((v) => v !== '');
  async function* gen() {
    yield* list;
  }
  return { values: gen(), group: list.length > 1, label: list.join(', '), count: async () => list.length };
}

/** One identity a line, or a CSV whose header has a UserUri (or Identity) column. Streamed. */
async function* identitiesFromFile(file: string): AsyncGenerator<string> {
  // Loaded here: a call without `@FILE` does not pay for the CSV parser's start.
  const { parse } = await import('csv-parse/sync');
  // The cells of one CSV line, quotes and commas inside quotes understood ("Myer, Ken").
  const csvCells = (line: string): string[] => {
    try {
      return (parse(line, { relax_column_count: true, relax_quotes: true }) as string[][])[0] ?? [];
    } catch (e) {
      throw new AppError('CSV_INVALID', `${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let column = -1;
  let first = true;
  for await (const raw of rl) {
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (first) {
      first = false;
      const header = csvCells(line).map((h) => h.trim().toLowerCase());
      column = header.findIndex((h) => h === 'useruri' || h === 'identity' || h === 'sipaddress');
      if (column >= 0) continue;
      if (header.length > 1 && line.includes(',')) throw new AppError('CSV_INVALID', `${file}: a CSV of identities needs a UserUri column.`);
    }
    const v = column >= 0 ? (csvCells(line)[column] ?? '').trim() : line;
    if (v) yield v;
  }
}

async function takeGlobal(v: string, own: Token[], i: number, g: GlobalOptions): Promise<number> {
  const next = () => {
    const t = own[i + 1];
    if (!t || t.t !== 'word') throw new AppError('MISSING_ARGUMENT', `${v} needs a value.`);
    return t.v;
  };
  switch (v.toLowerCase()) {
    case '--json':
      g.json = true;
      return i + 1;
    case '--yes':
      g.yes = true;
      return i + 1;
    case '--tenant':
      g.tenant = next();
      return i + 2;
    case '--report':
      g.report = next();
      return i + 2;
    case '--dry-run':
      g.dryRun = true;
      return i + 1;
    case '--password-file':
      g.passwordFile = next();
      return i + 2;
    default:
      throw new AppError('UNKNOWN_PARAMETER', `Unknown option ${v}; cmdlets take --json, --tenant NAME, --report FILE, --yes, --dry-run and --password-file FILE.`);
  }
}

function parseStages(tokens: Token[]): Stage[] {
  const stages: Stage[] = [];
  let cur: Token[] = [];
  const flush = () => {
    if (cur.length) stages.push(stage(cur));
    cur = [];
  };
  for (const t of tokens) {
    if (t.t === 'pipe') flush();
    else cur.push(t);
  }
  flush();
  if (tokens.length && tokens.at(-1)!.t === 'pipe') throw new AppError('PIPELINE_NOT_SUPPORTED', 'The line ends with a pipe.');
  return stages;
}

function words(ts: Token[]): string[] {
  return ts.filter((t) => t.t === 'word').map((t) => (t as { v: string }).v);
}

function stage(ts: Token[]): Stage {
  const [head, ...rest] = words(ts);
  const cmd = (head ?? '').toLowerCase();
  if (cmd === 'fl' || cmd === 'format-list') return { kind: 'list', props: propsOf(rest) };
  if (cmd === 'ft' || cmd === 'format-table') return { kind: 'table', props: propsOf(rest) };
  if (cmd === 'select' || cmd === 'select-object') {
    const out: Stage = { kind: 'select', props: [] };
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!;
      const lw = w.toLowerCase();
      if (lw === '-expandproperty') out.expand = rest[++i];
      else if (lw === '-first') out.first = Number(rest[++i]);
      else if (lw === '-property') continue;
      else if (w.startsWith('-')) throw new AppError('PIPELINE_NOT_SUPPORTED', `Select-Object ${w} is not supported (use property names, -ExpandProperty or -First).`);
      else out.props.push(w);
    }
    return out;
  }
  throw new AppError(
    'PIPELINE_NOT_SUPPORTED',
    `"| ${head}" is PowerShell that dialin does not run. dialin understands the trailing | fl, | Format-List, | ft, | Format-Table and | Select-Object A,B / -ExpandProperty A; for filtering use --json with a tool such as jq.`,
  );
}

function propsOf(rest: string[]): string[] {
  return rest.filter((w) => !w.startsWith('-') && w !== '*');
}
