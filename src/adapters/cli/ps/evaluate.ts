import path from 'node:path';
import { AppError, isAppError } from '../../../core/errors.ts';
import { visible } from '../../../core/text.ts';
import type { AppContext } from '../../../app/context.ts';
import type { Config } from '../../../config/config.ts';
import type { GroupCommit } from '../../db/database.ts';
import { ReportFile } from '../progress.ts';
import type { Token } from '../ps-tokenize.ts';
import type { CmdletDef, Params } from '../cmdlet.ts';
import { collect, ObjectStream, type StageData } from './stream.ts';
import { findCmdlet } from '../cmdlets/index.ts';
import { findParam, type GlobalOptions } from '../bind.ts';
import { EXIT_SOME_SKIPPED, invokeCmdlet, printSummary, unknownCmdlet, type Terminal } from '../execute.ts';
import { render } from '../format.ts';
import type { Arg, Command, Expr, Pipeline, Pos, Script, Statement } from './ast.ts';
import { arithmetic, compare } from './operators.ts';
import { collapse, enumerate, ErrorRecord, formatDate, Formatted, getProp, isObj, keyOf, ScriptBlock, toText, truthy, type Obj } from './values.ts';
import { BUILTINS, PREAMBLE, whereSimple, type Builtin, type CallArgs } from './builtins.ts';

export interface ScriptHost {
  ctx(): Promise<AppContext>;
  config: Readonly<Config>;
  term: Terminal;
  globals: Partial<GlobalOptions>;
  /** The script's name in messages (`setup.ps1, line 4: …`); null for -Command. */
  file: string | null;
}

/** Parameters every cmdlet accepts in PowerShell; dialin understands -ErrorAction and ignores the rest. */
const COMMON = new Set(['erroraction', 'ea', 'warningaction', 'wa', 'verbose', 'vb', 'informationaction', 'infa']);

/** How an object of a cmdlet prints when it reaches the end of a pipeline. */
const LAYOUT = new WeakMap<object, 'list' | 'table'>();
/** Objects made by `New-… -InMemory`: -Instance on them creates instead of changes. */
const IN_MEMORY = new WeakMap<object, CmdletDef>();

/**
 * Cmdlets kept out of a group commit: the welcome script delivers through a connection of its
 * own, which would wait on the group's open transaction.
 */
const UNGROUPED = new Set(['Set-CsPinSendCAWelcomeMail']);
/** Built-ins that say or write something: what the script did so far is committed first. */
const SAYS = new Set(['write-host', 'write-warning', 'write-information', 'write-verbose', 'out-file', 'export-csv', 'out-host']);

/** A terminating error with the line of the statement that raised it. */
class Located extends Error {
  constructor(readonly inner: unknown, readonly at: Pos) {
    super((inner as Error)?.message ?? String(inner));
  }
}

/**
 * Runs a parsed script in this process: statements in order, pipelines of our cmdlets and the
 * PowerShell built-ins scripts use. Before anything runs every command name and cmdlet parameter
 * is checked, so a typo on line 40 does not leave lines 1–39 done.
 */
export class Evaluator {
  vars = new Map<string, unknown>();
  status = 0;
  #notes = new Set<string>();
  #group: GroupCommit | null = null;
  /** Cmdlets now consuming a pipeline in batches of their own: no grouping while one runs. */
  #sinks = 0;
  /** The script's --report files by name: each call naming one adds its lines to it. */
  #reports = new Map<string, ReportFile>();

  constructor(readonly host: ScriptHost, readonly script: Script) {
    for (const [k, v] of [['true', true], ['false', false], ['null', null]] as const) this.vars.set(k, v);
  }

  async run(): Promise<number> {
    checkScript(this.script.statements);
    try {
      for (const st of this.script.statements) {
        let out: unknown[];
        try {
          out = await this.statement(st);
          await this.flushGroup();
        } catch (e) {
          // The calls done before the error stay done, as in PowerShell: committed, then reported.
          await this.flushGroup().catch(() => {});
          throw this.located(e, st);
        }
        this.print(out);
      }
    } finally {
      await this.flushGroup().catch(() => {});
      for (const r of this.#reports.values()) await r.close();
    }
    return this.status;
  }

  /**
   * Commits the one-user calls grouped so far (see GroupCommit in adapters/db/database.ts): before
   * a statement's output is printed, before a script writes or says anything, at the end.
   */
  async flushGroup(): Promise<void> {
    const group = this.#group;
    this.#group = null;
    await group?.flush();
  }

  located(e: unknown, st: Pos): AppError {
    const at = e instanceof Located ? e.at : st;
    const inner = e instanceof Located ? e.inner : e;
    const code = isAppError(inner) ? inner.code : 'SCRIPT_ERROR';
    const msg = isAppError(inner) ? inner.message : (inner as Error)?.message ?? String(inner);
    const where = this.host.file ? `${this.host.file}, line ${at.line}` : `line ${at.line}`;
    return new AppError(code, `${where}: ${msg}\n  ${this.sourceOf(at.line)}`, { cause: inner, field: isAppError(inner) ? inner.field : undefined });
  }

  /** The statement's source line, with its backtick continuations. */
  sourceOf(line: number): string {
    const out: string[] = [];
    for (let i = line - 1; i < this.script.lines.length; i++) {
      const l = this.script.lines[i]!;
      out.push(l.replace(/`\s*$/, '').trim());
      if (!/`\s*$/.test(l)) break;
    }
    // A control or invisible character in the script is shown as \u{…}, never sent to the terminal.
    return visible(out.join(' '));
  }

  // ——— output ———

  print(items: unknown[]): void {
    const json = !!this.host.globals.json;
    let run: unknown[] = [];
    const flush = () => {
      if (!run.length) return;
      const objs = run.filter(isObj);
      const layout = objs.length && objs.every((o) => LAYOUT.get(o) === 'table' || (!LAYOUT.has(o) && Object.keys(o).length <= 4)) ? 'table' : 'list';
      this.host.term.out(render(run.map(plain) as Obj[], layout === 'table' ? [{ kind: 'table', props: [] }] : [], json, false));
      run = [];
    };
    for (const it of items) {
      if (it instanceof Formatted) {
        flush();
        if (it.objects.length) this.host.term.out(render(it.objects.map(plain) as Obj[], [{ kind: it.kind, props: it.props }], json, false));
      } else run.push(it);
    }
    flush();
  }

  note(key: string, text: string): void {
    if (this.#notes.has(key)) return;
    this.#notes.add(key);
    this.host.term.err(text);
  }

  // ——— statements ———

  async statements(list: Statement[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const st of list) out.push(...(await this.statement(st)));
    return out;
  }

  async statement(st: Statement): Promise<unknown[]> {
    try {
      return await this.statementInner(st);
    } catch (e) {
      if (e instanceof Located) throw e;
      throw new Located(e, st);
    }
  }

  async statementInner(st: Statement): Promise<unknown[]> {
    switch (st.k) {
      case 'pipeline':
        return await this.pipeline(st, null);
      case 'assign': {
        const value = collapse(await this.pipeline(st.value, null));
        await this.assign(st.target, st.op, value);
        return [];
      }
      case 'if': {
        for (const b of st.branches) if (truthy(collapse(await this.pipeline(b.cond, null)))) return await this.statements(b.body);
        return st.otherwise ? await this.statements(st.otherwise) : [];
      }
      case 'foreach': {
        const out: unknown[] = [];
        for (const item of enumerate(collapse(await this.pipeline(st.source, null)))) {
          this.setVar(st.variable, item);
          out.push(...(await this.statements(st.body)));
        }
        return out;
      }
      case 'try': {
        const out: unknown[] = [];
        try {
          out.push(...(await this.statements(st.body)));
        } catch (e) {
          if (!st.handler) throw e;
          const inner = e instanceof Located ? e.inner : e;
          const saved = this.vars.get('_');
          const rec = isAppError(inner) ? new ErrorRecord(inner.code, inner.message) : new ErrorRecord('SCRIPT_ERROR', (inner as Error)?.message ?? String(inner));
          this.setVar('_', rec);
          this.setVar('psitem', rec);
          try {
            out.push(...(await this.statements(st.handler)));
          } finally {
            this.setVar('_', saved);
            this.setVar('psitem', saved);
          }
        } finally {
          if (st.final) out.push(...(await this.statements(st.final)));
        }
        return out;
      }
    }
  }

  setVar(name: string, v: unknown): void {
    this.vars.set(name.toLowerCase(), v);
  }

  getVar(name: string): unknown {
    const n = name.toLowerCase();
    if (n === 'psitem') return this.vars.get('_') ?? null;
    return this.vars.has(n) ? this.vars.get(n) : null;
  }

  async assign(target: Expr, op: '=' | '+=' | '-=', value: unknown): Promise<void> {
    const combine = (old: unknown) => (op === '=' ? value : arithmetic(op[0]!, old, value));
    if (target.k === 'var') {
      this.setVar(target.name, combine(this.getVar(target.name)));
      return;
    }
    if (target.k === 'member') {
      const obj = await this.expr(target.obj);
      if (!isObj(obj)) throw new AppError('INVALID_ARGUMENT', `Cannot set ${target.name}: the value is not an object.`);
      const k = keyOf(obj, target.name) ?? target.name;
      obj[k] = combine(obj[k]);
    }
  }

  // ——— pipelines ———

  async pipeline(pl: Pipeline, input: unknown[] | null): Promise<unknown[]> {
    // Stages hand each other lists or streams; what leaves the pipeline is a list.
    let data: StageData = input;
    for (const c of pl.commands) data = await this.command(c, data);
    return (await collect(data)) ?? [];
  }

  async command(c: Command, input: StageData): Promise<unknown[] | ObjectStream> {
    if (c.k === 'expr') return enumerate(await this.expr(c.expr));
    const lc = c.name.toLowerCase();
    if (PREAMBLE.has(lc)) {
      this.note(lc, `NOTE: line ${c.line}: ${c.name} is not needed with dialin (it works on its own database); skipped.`);
      return [];
    }
    const b = BUILTINS.get(lc);
    const def = b ? null : findCmdlet(c.name)!;
    const args = await this.args(c.args, (n) => {
      const l = n.toLowerCase();
      if (b) return (b.switches ?? []).some((sw) => sw.startsWith(l));
      return findParamSafe(def!, n)?.type === 'switch';
    });
    const ea = (args.named.get('erroraction') ?? args.named.get('ea')) as string | undefined;
    for (const k of COMMON) args.named.delete(k);
    args.order = args.order.filter((o) => o.name === null || !COMMON.has(o.name.toLowerCase()));
    const action = (ea ?? toText(this.getVar('ErrorActionPreference')) ?? '').toLowerCase() || 'stop';
    if (b && SAYS.has(lc)) await this.flushGroup();
    try {
      if (b) return input instanceof ObjectStream && b.stream ? b.stream(this, args, input, c) : await b.run(this, args, await collect(input), c);
      return await this.cmdlet(def!, args, input, c);
    } catch (e) {
      if (action === 'silentlycontinue' || action === 'ignore') return [];
      if (action === 'continue' && ea !== undefined) {
        this.host.term.err(`dialin: ${isAppError(e) ? `${e.code}: ` : ''}${(e as Error).message} (line ${c.line})`);
        return [];
      }
      throw e;
    }
  }

  /**
   * Evaluates a command's arguments. `-Name value` arrives from the parser as a name then a value;
   * they are paired here unless the parameter is a switch (whose following value is positional).
   */
  async args(list: Arg[], isSwitch: (name: string) => boolean): Promise<CallArgs> {
    const order: CallArgs['order'] = [];
    for (const a of list) {
      if (a.k === 'param') {
        order.push({ name: a.name, value: a.value === undefined ? undefined : await this.expr(a.value), switchOnly: a.value === undefined });
        continue;
      }
      if (a.value.k === 'splat') {
        const h = this.getVar(a.value.name);
        if (Array.isArray(h)) for (const x of h) order.push({ name: null, value: x, switchOnly: false });
        else if (isObj(h)) for (const [k, v] of Object.entries(h)) order.push(v === true && isSwitch(k) ? { name: k, value: undefined, switchOnly: true } : { name: k, value: v, switchOnly: false });
        else throw new AppError('INVALID_ARGUMENT', `@${a.value.name}: splatting needs a hashtable @{…} or an array.`);
        continue;
      }
      order.push({ name: null, value: await this.expr(a.value), switchOnly: false });
    }
    const merged: CallArgs['order'] = [];
    for (let i = 0; i < order.length; i++) {
      const o = order[i]!;
      const next = order[i + 1];
      if (o.name !== null && o.switchOnly && next && next.name === null && !o.name.startsWith('-') && !isSwitch(o.name)) {
        merged.push({ name: o.name, value: next.value, switchOnly: false });
        i++;
      } else if (o.name !== null && o.name.startsWith('-') && /^-(tenant|report|password-file)$/i.test(o.name) && next && next.name === null) {
        merged.push({ name: o.name, value: next.value, switchOnly: false });
        i++;
      } else merged.push(o);
    }
    const named = new Map<string, unknown>();
    const positional: unknown[] = [];
    for (const o of merged) {
      if (o.name === null) positional.push(o.value);
      else named.set(o.name.toLowerCase(), o.switchOnly ? true : o.value);
    }
    return { named, positional, order: merged };
  }

  // ——— cmdlets ———

  async cmdlet(def: CmdletDef, args: CallArgs, input: StageData, c: Command): Promise<unknown[] | ObjectStream> {
    // -Filter {AcpInfo -ne $Null}: Microsoft's server-side filter, applied here to what the cmdlet returns.
    const filter = args.named.get('filter');
    // A cmdlet with a -Filter of its own (Get-CsUser) reads the block's text itself, before -ResultSize,
    // unless the block reads variables that only this evaluator knows.
    if (filter instanceof ScriptBlock && def.params.some((p) => p.name === 'Filter' && p.filterBlock) && !/\$(?!(true|false|null)\b)/i.test(filter.text)) {
      for (const o of args.order) if (o.name?.toLowerCase() === 'filter') o.value = filter.text;
    } else if (filter instanceof ScriptBlock) {
      const rest: CallArgs = { named: new Map([...args.named].filter(([k]) => k !== 'filter')), positional: args.positional, order: args.order.filter((o) => o.name?.toLowerCase() !== 'filter') };
      const rows = await this.cmdlet(def, rest, input, c);
      if (rows instanceof ObjectStream) return ObjectStream.map(rows, async (r) => ((await this.filterMatches(filter, r)) ? [r] : []));
      const out: unknown[] = [];
      for (const r of rows) if (await this.filterMatches(filter, r)) out.push(r);
      return out;
    }
    // -InMemory: the object is built here and created by a later Set-… -Instance.
    if (args.named.has('inmemory') && /^New-/i.test(def.name)) {
      const obj: Obj = {};
      for (const o of args.order) if (o.name && !o.name.startsWith('-') && o.name.toLowerCase() !== 'inmemory') obj[findParam(def, o.name).name] = o.switchOnly ? true : o.value;
      IN_MEMORY.set(obj, def);
      return [obj];
    }
    const instance = args.named.get('instance');
    if (instance !== undefined) {
      args.order = args.order.filter((o) => o.name?.toLowerCase() !== 'instance');
      if (!isObj(instance)) throw new AppError('INVALID_ARGUMENT', `${def.name} -Instance needs an object (from a Get- cmdlet or New-… -InMemory).`, { field: 'Instance' });
      const creator = IN_MEMORY.get(instance);
      const target = creator ?? def;
      const given = new Set(args.order.map((o) => o.name?.toLowerCase()));
      for (const p of target.params) {
        if (p.unsupported || p.ignored || given.has(p.name.toLowerCase()) || /^(Tenant|Force|Confirm|Name)$/.test(p.name)) continue;
        const v = getProp(instance, p.name);
        if (v !== null && v !== undefined) args.order.push({ name: p.name, value: v, switchOnly: false });
      }
      // A bridge renamed through its object ($bridge.Name = "…"): its Identity names it, the new Name is -NewName.
      if (target.params.some((p) => p.name === 'NewName') && getProp(instance, 'Name')) args.order.push({ name: 'NewName', value: getProp(instance, 'Name'), switchOnly: false });
      else if (target.params.some((p) => p.name === 'Name' && !p.unsupported) && getProp(instance, 'Name') && !given.has('name')) args.order.push({ name: 'Name', value: getProp(instance, 'Name'), switchOnly: false });
      return await this.callOnce(target, args.order, c);
    }
    if (input === null) return await this.callOnce(def, args.order, c);
    // Pipeline binding by property name: the objects' Identity (or UserUri / SipAddress) feeds -Identity.
    const idParam = def.params.find((p) => p.name === 'Identity' || p.name === 'UserUri');
    const bound = !idParam || args.order.some((o) => o.name && !o.name.startsWith('-') && findParam(def, o.name) === idParam) || args.order.some((o) => o.name === null);
    if (input instanceof ObjectStream) {
      // Up to two objects are read first: none or one run as a list did (one object is a single-user call).
      const it = input[Symbol.asyncIterator]();
      const head: unknown[] = [];
      for (let r = await it.next(); !r.done; r = head.length < 2 ? await it.next() : { done: true, value: undefined }) head.push(r.value);
      if (head.length < 2) input = head;
      else if (idParam?.type === 'identities' && !bound) {
        // One group run that reads the stream as it goes: batches of identities, each in its transaction.
        const name = def.name;
        const values = (async function* () {
          const rest = { [Symbol.asyncIterator]: () => it };
          for (const list of [head, rest]) {
            for await (const x of list) {
              const id = identityOf(x, name);
              if (id !== '') yield id;
            }
          }
        })();
        return await this.callOnce(def, args.order, c, { [idParam.name]: { values, group: true, label: 'the pipeline', count: async () => null } });
      } else {
        for (let r = await it.next(); !r.done; r = await it.next()) head.push(r.value);
        input = head;
      }
    }
    if (bound) {
      if (input.length === 0) return [];
      throw new AppError('INVALID_ARGUMENT', `${def.name} takes no pipeline input here: its -Identity is given already.`);
    }
    const idsOf = input.map((x) => identityOf(x, def.name)).filter((x) => x !== '');
    if (idsOf.length === 0) return [];
    if (idParam.type === 'identities') {
      // One group run over all the objects: batched transactions, one summary, as `-Identity a,b,c`.
      return await this.callOnce(def, [{ name: idParam.name, value: idsOf.length === 1 ? idsOf[0] : idsOf, switchOnly: false }, ...args.order], c);
    }
    const out: unknown[] = [];
    for (const id of idsOf) out.push(...((await collect(await this.callOnce(def, [{ name: idParam.name, value: id, switchOnly: false }, ...args.order], c))) ?? []));
    return out;
  }

  async callOnce(def: CmdletDef, order: CallArgs['order'], c: Command, preset: Params = {}): Promise<unknown[] | ObjectStream> {
    const tokens: Token[] = [];
    for (const o of order) {
      if (o.name === null) {
        tokens.push(...valueTokens(o.value, c));
        continue;
      }
      if (o.name.startsWith('-')) {
        // dialin's own options (--json, --tenant X).
        tokens.push({ t: 'word', v: `-${o.name}`, quoted: false });
        if (!o.switchOnly) tokens.push(...valueTokens(o.value, c));
        continue;
      }
      if (o.switchOnly) tokens.push({ t: 'word', v: `-${o.name}`, quoted: false });
      else if (findParamSafe(def, o.name)?.type === 'switch') tokens.push({ t: 'word', v: `-${o.name}:${truthy(o.value) ? '$true' : '$false'}`, quoted: false });
      else tokens.push({ t: 'word', v: `-${o.name}`, quoted: false }, ...valueTokens(o.value, c));
    }
    const ctx = await this.host.ctx();
    // One-user calls in a loop (`ForEach-Object { Set-… -Identity $_.Email }`) share one commit
    // per group of users instead of an fsync each; a call that prompts, reads standard input,
    // consumes a pipeline in batches of its own or delivers mail first commits what is grouped.
    const group = ctx.db.groupCommit;
    const prompts = order.some((o) => (o.name !== null && /^confirm$/i.test(o.name)) || o.value === '-');
    const streamed = Object.keys(preset).length > 0;
    // Not inside a sink's run either: its batches commit as they go, as its report says.
    const grouped = !!group && !prompts && !UNGROUPED.has(def.name) && !streamed && this.#sinks === 0;
    if (grouped) {
      group.enter();
      this.#group = group;
    } else await this.flushGroup();
    if (streamed) this.#sinks++;
    const report = (file: string) => {
      const key = path.resolve(file);
      if (!this.#reports.has(key)) this.#reports.set(key, new ReportFile(file));
      return this.#reports.get(key)!;
    };
    let result: Awaited<ReturnType<typeof invokeCmdlet>>;
    try {
      result = await invokeCmdlet(ctx, this.host.config, def, tokens, this.host.term, this.host.globals, preset, report);
    } finally {
      if (streamed) this.#sinks--;
    }
    const { output, bound } = result;
    printSummary(output, bound, this.host.term);
    if (output.failure) throw output.failure;
    if (output.kind === 'stream') {
      const objects = output.objects;
      return new ObjectStream(
        (async function* () {
          for await (const o of objects) {
            LAYOUT.set(o, 'list');
            yield o;
          }
        })(),
      );
    }
    if (output.kind === 'group' && output.summary.skipped > 0) this.status = Math.max(this.status, EXIT_SOME_SKIPPED);
    const objs = output.kind === 'objects' ? output.objects : output.kind === 'group' ? (output.objects ?? []) : [];
    for (const o of objs) LAYOUT.set(o, output.kind === 'group' ? 'table' : 'list');
    return objs;
  }

  // ——— expressions ———

  async expr(e: Expr): Promise<unknown> {
    switch (e.k) {
      case 'str':
      case 'bare':
        return e.v;
      case 'num':
        return e.v;
      case 'var':
        return this.getVar(e.name);
      case 'splat':
        return this.getVar(e.name);
      case 'expand': {
        let s = '';
        for (const p of e.parts) s += typeof p === 'string' ? p : toText(await this.expr(p));
        return s;
      }
      case 'member':
        return getProp(await this.expr(e.obj), e.name);
      case 'index': {
        const o = await this.expr(e.obj);
        const i = await this.expr(e.index);
        if (Array.isArray(o)) {
          const n = Number(i);
          return o[n < 0 ? o.length + n : n] ?? null;
        }
        if (typeof o === 'string') return o[Number(i)] ?? null;
        if (isObj(o)) return getProp(o, toText(i));
        return null;
      }
      case 'method':
        return callMethod(await this.expr(e.obj), e.name.toLowerCase(), await Promise.all(e.args.map((a) => this.expr(a))));
      case 'array': {
        const out: unknown[] = [];
        for (const it of e.items) out.push(await this.expr(it));
        return out;
      }
      case 'sub': {
        const out = await this.statements(e.body);
        return e.asArray ? out : collapse(out);
      }
      case 'paren':
        return collapse(await this.pipeline(e.pipeline, null));
      case 'hash': {
        const o: Obj = {};
        for (const [k, v] of e.entries) o[k] = await this.expr(v);
        return o;
      }
      case 'block':
        return new ScriptBlock(e.body, e.text ?? '{…}');
      case 'unary': {
        const v = await this.expr(e.arg);
        if (e.op === 'not') return !truthy(v);
        return -Number(v);
      }
      case 'binary': {
        if (e.op === 'and') return truthy(await this.expr(e.left)) && truthy(await this.expr(e.right));
        if (e.op === 'or') return truthy(await this.expr(e.left)) || truthy(await this.expr(e.right));
        const l = await this.expr(e.left);
        const r = await this.expr(e.right);
        if (e.op === 'xor') return truthy(l) !== truthy(r);
        if (/^[-+*/%]$/.test(e.op)) return arithmetic(e.op, l, r);
        return compare(e.op, l, r);
      }
    }
  }

  /** A -Filter block: `{Property -op value}` names a property of the object; a block with $_ is run as Where-Object's. */
  async filterMatches(block: ScriptBlock, item: unknown): Promise<boolean> {
    const [st] = block.body;
    if (block.body.length === 1 && st?.k === 'pipeline' && st.commands.length === 1 && st.commands[0]!.k === 'cmd') {
      const cmd = st.commands[0] as Extract<Command, { k: 'cmd' }>;
      const a = await this.args(cmd.args, () => false);
      return await whereSimple({ ...a, positional: [cmd.name, ...a.positional] }, item);
    }
    return truthy(collapse(await this.invoke(block, item)));
  }

  /** Runs a script block with $_ / $PSItem set to `item`; its output. */
  async invoke(block: ScriptBlock, item: unknown): Promise<unknown[]> {
    const saved = this.vars.get('_');
    this.vars.set('_', item);
    try {
      return await this.statements(block.body);
    } finally {
      this.vars.set('_', saved);
    }
  }
}

function findParamSafe(def: CmdletDef, name: string) {
  try {
    return findParam(def, name);
  } catch {
    return undefined;
  }
}

/** What an object piped into a cmdlet gives its -Identity: the property of that name, or UserUri / SipAddress. */
function identityOf(x: unknown, cmdlet: string): string {
  if (typeof x === 'string' || typeof x === 'number') return String(x);
  if (isObj(x)) {
    // Get-CsUser's Identity is a directory DN: its SipAddress names the same user through the unique index.
    const sip = getProp(x, 'SipAddress');
    const id = getProp(x, 'Identity');
    if (typeof sip === 'string' && sip !== '' && typeof id === 'string' && /^[A-Za-z][A-Za-z0-9-]*\s*=/.test(id)) return sip;
    for (const k of ['Identity', 'UserUri', 'SipAddress', 'UserPrincipalName']) {
      const v = getProp(x, k);
      if (typeof v === 'string' && v !== '') return v;
    }
  }
  throw new AppError('INVALID_ARGUMENT', `${cmdlet}: an object in the pipeline has no Identity, UserUri or SipAddress property to bind to -Identity.`);
}

/** A value turned back into the tokens the cmdlet binder reads (strings quoted, lists with commas). */
function valueTokens(v: unknown, c: Command): Token[] {
  if (v === null || v === undefined) return [{ t: 'word', v: '$null', quoted: false }];
  if (typeof v === 'boolean') return [{ t: 'word', v: v ? '$true' : '$false', quoted: false }];
  if (typeof v === 'number') return [{ t: 'word', v: String(v), quoted: false }];
  if (typeof v === 'string') return [{ t: 'word', v, quoted: true }];
  if (v instanceof Date) return [{ t: 'word', v: v.toISOString(), quoted: true }];
  if (Array.isArray(v)) {
    if (v.length === 0) return [{ t: 'word', v: '$null', quoted: false }];
    const out: Token[] = [];
    v.forEach((x, i) => {
      if (i) out.push({ t: 'comma' });
      out.push(...valueTokens(Array.isArray(x) ? toText(x) : x, c));
    });
    return out;
  }
  if (isObj(v)) return [{ t: 'word', v: identityOf(v, c.k === 'cmd' ? c.name : 'the cmdlet'), quoted: true }];
  return [{ t: 'word', v: toText(v), quoted: true }];
}

/** A cmdlet object without dialin's bookkeeping, for printing. */
function plain(v: unknown): unknown {
  return v;
}

function callMethod(o: unknown, name: string, args: unknown[]): unknown {
  if (o instanceof Date) {
    const n = Number(args[0] ?? 0);
    const ms = { adddays: 86400000, addhours: 3600000, addminutes: 60000 }[name as 'adddays'];
    if (ms) return new Date(o.getTime() + n * ms);
    if (name === 'tostring') return args.length ? formatDate(o, toText(args[0])) : o.toISOString();
  }
  const s = toText(o);
  switch (name) {
    case 'tostring':
      return s;
    case 'toupper':
      return s.toUpperCase();
    case 'tolower':
      return s.toLowerCase();
    case 'trim':
      return s.trim();
    case 'startswith':
      return s.toLowerCase().startsWith(toText(args[0]).toLowerCase());
    case 'endswith':
      return s.toLowerCase().endsWith(toText(args[0]).toLowerCase());
    case 'contains':
      return Array.isArray(o) ? o.includes(args[0]) : s.includes(toText(args[0]));
    case 'replace':
      return s.split(toText(args[0])).join(toText(args[1]));
    case 'split':
      return s.split(toText(args[0] ?? ' '));
    case 'substring':
      return args.length > 1 ? s.substr(Number(args[0]), Number(args[1])) : s.slice(Number(args[0]));
  }
  throw new AppError('INVALID_ARGUMENT', `.${name}() cannot be called on this value.`);
}

// ——— the check before anything runs ———

/** Every command exists and every cmdlet parameter is one it has; else the script is refused whole. */
export function checkScript(list: Statement[]): void {
  const at = (p: Pos, e: AppError): never => {
    throw new AppError(e.code, `line ${p.line}, column ${p.col}: ${e.message}`, { field: e.field });
  };
  const walkExpr = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'expand':
        e.parts.forEach((x) => typeof x !== 'string' && walkExpr(x));
        return;
      case 'member':
        return walkExpr(e.obj);
      case 'index':
        walkExpr(e.obj);
        return walkExpr(e.index);
      case 'method':
        walkExpr(e.obj);
        return e.args.forEach(walkExpr);
      case 'array':
        return e.items.forEach(walkExpr);
      case 'sub':
      case 'block':
        return walk(e.body);
      case 'paren':
        return walkPipe(e.pipeline);
      case 'hash':
        return e.entries.forEach(([, v]) => walkExpr(v));
      case 'unary':
        return walkExpr(e.arg);
      case 'binary':
        walkExpr(e.left);
        return walkExpr(e.right);
    }
  };
  const walkPipe = (pl: Pipeline): void => {
    for (const c of pl.commands) {
      if (c.k === 'expr') {
        walkExpr(c.expr);
        continue;
      }
      const isFilterBlock = (i: number) => {
        const a = c.args[i]!;
        const b = c.args[i + 1];
        return a.k === 'param' && /^filter$/i.test(a.name) && (a.value?.k === 'block' || (a.value === undefined && b?.k === 'value' && b.value.k === 'block'));
      };
      for (let i = 0; i < c.args.length; i++) {
        // A -Filter block names properties as bare words: it is not a script to check.
        if (isFilterBlock(i)) {
          if (c.args[i]!.value === undefined) i++;
          continue;
        }
        walkExpr(c.args[i]!.value);
      }
      const lc = c.name.toLowerCase();
      if (PREAMBLE.has(lc)) continue;
      const b = BUILTINS.get(lc);
      if (b) {
        for (const a of c.args) {
          if (a.k === 'param' && !COMMON.has(a.name.toLowerCase()) && b.params && !b.params.some((p) => p.startsWith(a.name.toLowerCase()))) {
            at(a, new AppError('UNKNOWN_PARAMETER', `${c.name} has no parameter -${a.name} in dialin's PowerShell (it knows ${b.params.map((p) => `-${p}`).join(', ') || 'none'}).`, { field: a.name }));
          }
        }
        continue;
      }
      const def = findCmdlet(c.name);
      if (!def) at(c, unknownCmdlet(c.name));
      for (const a of c.args) {
        if (a.k !== 'param' || a.name.startsWith('-') || COMMON.has(a.name.toLowerCase())) continue;
        const lcn = a.name.toLowerCase();
        if (lcn === 'instance' || lcn === 'filter' || (lcn === 'inmemory' && /^New-/i.test(def!.name))) continue;
        try {
          const p = findParam(def!, a.name);
          if (p.unsupported) at(a, new AppError('PARAMETER_NOT_SUPPORTED', `-${p.name} ${p.unsupported}.`, { field: p.name }));
        } catch (e) {
          if (isAppError(e) && !/^line /.test(e.message)) at(a, e);
          throw e;
        }
      }
    }
  };
  const walk = (sts: Statement[]): void => {
    for (const st of sts) {
      switch (st.k) {
        case 'pipeline':
          walkPipe(st);
          break;
        case 'assign':
          walkExpr(st.target);
          walkPipe(st.value);
          break;
        case 'if':
          st.branches.forEach((b) => (walkPipe(b.cond), walk(b.body)));
          if (st.otherwise) walk(st.otherwise);
          break;
        case 'foreach':
          walkPipe(st.source);
          walk(st.body);
          break;
        case 'try':
          walk(st.body);
          if (st.handler) walk(st.handler);
          if (st.final) walk(st.final);
      }
    }
  };
  walk(list);
}

export type { Builtin };
