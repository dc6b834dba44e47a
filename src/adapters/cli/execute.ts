import readline from 'node:readline';
import { AppError } from '../../core/errors.ts';
import { checkTokens } from './check-args.ts';
import type { Config } from '../../config/config.ts';
import type { AppContext } from '../../app/context.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { bind, type Bound, type GlobalOptions } from './bind.ts';
import { tokenize, type Token } from './ps-tokenize.ts';
import { findCmdlet, CMDLETS } from './cmdlets/index.ts';
import { closest } from './suggest.ts';
import { render, scalar } from './format.ts';
import { RunProgress, type ReportFile } from './progress.ts';
import type { CmdletDef, CmdletIO, CmdletOutput, Identities, Params } from './cmdlet.ts';

export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  /** Reads one answer line for a -Confirm prompt; null at end of input. */
  ask(prompt: string): Promise<string | null>;
  /** Reads a secret typed on the terminal, not echoed; null when stdin is not a terminal. */
  askSecret(prompt: string): Promise<string | null>;
}

// One reader of stdin for the whole process: a reader per prompt would lose the answers it had
// already buffered, so the second -Confirm of a script fed `y` lines on stdin read nothing.
let stdinReader: { rl: readline.Interface; lines: AsyncIterator<string> } | null = null;

export const processTerminal: Terminal = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  async ask(prompt) {
    process.stderr.write(prompt);
    if (!stdinReader) {
      const rl = readline.createInterface({ input: process.stdin, terminal: false });
      stdinReader = { rl, lines: rl[Symbol.asyncIterator]() };
    }
    stdinReader.rl.resume();
    const next = await stdinReader.lines.next();
    stdinReader.rl.pause(); // between prompts, stdin must not keep the process alive
    return next.done ? null : next.value;
  },
  askSecret(prompt) {
    const stdin = process.stdin;
    if (!stdin.isTTY) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      let value = '';
      const end = () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
      };
      // Raw mode: nothing is echoed, and Ctrl-C arrives as a character instead of a signal.
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return end(), resolve(value);
          if (ch === '\u0003') return end(), reject(new AppError('RUN_INTERRUPTED', 'Interrupted at the password prompt; nothing changed.'));
          value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
        }
      };
      // Echo goes off before the prompt shows, so nothing typed after it can appear on the screen.
      stdin.setEncoding('utf8');
      stdin.setRawMode(true);
      stdin.on('data', onData);
      stdin.resume();
      process.stderr.write(prompt);
    });
  },
};

/**
 * Exit status of a group run that finished but skipped some users (not found, refused…): neither
 * success (0) nor an error that changed nothing (1); the summary and `--report` say who was skipped.
 */
export const EXIT_SOME_SKIPPED = 2;

/** Tells whether a word names a cmdlet (so `dialin <word>` goes to the cmdlet path). */
export function isCmdletName(word: string): boolean {
  return !!findCmdlet(word) || /^[A-Za-z]+-Cs[A-Za-z]+$/.test(word);
}

export function unknownCmdlet(name: string, extra: string[] = []): AppError {
  const hint = closest(name, [...CMDLETS.flatMap((c) => [c.name, ...(c.aliases ?? [])]), ...extra]);
  return new AppError('UNKNOWN_COMMAND', `"${name}" is not a dialin cmdlet or command.${hint ? ` Did you mean ${hint}?` : ''} Run \`dialin help\` for the list.`);
}

/**
 * Runs one cmdlet line (already tokenised): bind, resolve the tenant, run, print. Shared by the
 * command line and `dialin run FILE.ps1`, so a script line behaves exactly like the same command.
 * Returns the exit status: 0, or EXIT_SOME_SKIPPED when a group run skipped users.
 */
export async function executeTokens(ctx: AppContext, config: Readonly<Config>, tokens: Token[], term: Terminal, globals: Partial<GlobalOptions> = {}): Promise<number> {
  const head = tokens[0];
  if (!head || head.t !== 'word') throw new AppError('UNKNOWN_COMMAND', 'Nothing to run.');
  if (head.v.startsWith('$')) throw new AppError('PIPELINE_NOT_SUPPORTED', `Variables (${head.v.split(/\s/)[0]}) are PowerShell that dialin does not run; write each cmdlet with its values.`);
  checkTokens(tokens);
  const def = findCmdlet(head.v);
  if (!def) throw unknownCmdlet(head.v);
  const { output: out, bound } = await invokeCmdlet(ctx, config, def, tokens.slice(1), term, globals);
  // A stream on the command line is printed whole (a script pipeline passes it on object by object).
  const output: CmdletOutput = out.kind === 'stream' ? { kind: 'objects', objects: await collectStream(out.objects), note: out.note } : out;
  print(output, bound, term);
  if (output.failure) throw output.failure;
  return output.kind === 'group' && output.summary.skipped > 0 ? EXIT_SOME_SKIPPED : 0;
}

/**
 * Binds and runs one cmdlet without printing its objects: the script evaluator passes them down
 * its pipeline. A group run's summary is the caller's to print (printSummary).
 */
export async function invokeCmdlet(
  ctx: AppContext,
  config: Readonly<Config>,
  def: CmdletDef,
  args: Token[],
  term: Terminal,
  globals: Partial<GlobalOptions> = {},
  preset: Params = {},
  sharedReport?: (path: string) => ReportFile,
): Promise<{ output: CmdletOutput; bound: Bound }> {
  checkTokens(args);
  const bound = await bind(def, args, globals, preset);
  const p = bound.params;
  const extra = def.extraOptions ?? [];
  if (bound.globals.dryRun && !extra.includes('--dry-run')) throw new AppError('PARAMETER_NOT_SUPPORTED', `${def.name} does not support --dry-run.`, { field: 'dry-run' });
  if (bound.globals.passwordFile && !extra.includes('--password-file')) throw new AppError('PARAMETER_NOT_SUPPORTED', `${def.name} takes no password; --password-file is for Set-CsPinSendCAWelcomeMail -Credential.`, { field: 'password-file' });
  const tenant = await resolveTenant(ctx, (p.Tenant as string | undefined) ?? bound.globals.tenant);
  const scope = scopeOf(ctx, tenant);
  for (const pd of def.params) if (pd.ignored && p[pd.name] !== undefined) term.err(`WARNING: ${pd.ignored}.`);

  const progress = new RunProgress({ label: def.name, reportFile: bound.globals.report, sharedReport });
  // A group's size is known before it runs (a file is counted first), so the progress has an ETA.
  const group = Object.values(p).find((v): v is Identities => typeof v === 'object' && v !== null && 'group' in v && v.group);
  if (group) {
    const total = await group.count();
    if (total !== null) progress.expect(total);
  }
  const askConfirm = p.Confirm === true && !bound.globals.yes;
  const io: CmdletIO = {
    scope,
    config,
    globals: bound.globals,
    askSecret: (prompt) => term.askSecret(prompt),
    async readSecret(prompt) {
      const typed = (await term.askSecret(prompt)) ?? (await term.ask(''));
      return typed === null ? null : typed.replace(/\r$/, '');
    },
    warn: (m) => term.err(`WARNING: ${m}`),
    onResult: (r) => progress.add(r),
    async confirm(action, target) {
      if (!askConfirm) return true;
      const answer = await term.ask(`Confirm\nAre you sure you want to perform this action?\nPerforming the operation "${action}" on target "${target}".\n[Y] Yes  [N] No  (default is "N"): `);
      const yes = /^\s*(y|yes|a|o|oui)\s*$/i.test(answer ?? '');
      if (!yes) throw new AppError('CONFIRMATION_DECLINED', `${action} on "${target}" was not confirmed; nothing changed.`);
      return true;
    },
  };
  let output: CmdletOutput;
  try {
    output = await def.run(io, p);
  } finally {
    await progress.finish();
  }
  return { output, bound };
}

async function collectStream(objects: AsyncIterable<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const o of objects) out.push(o);
  return out;
}

/** The notes and group summary of a cmdlet's output, without its objects (which went down a pipeline). */
export function printSummary(output: CmdletOutput, bound: Bound, term: Terminal): void {
  if (output.kind === 'objects' || output.kind === 'stream') {
    if (output.note) term.err(output.note);
    return;
  }
  print(output.kind === 'group' ? { ...output, objects: undefined } : output, bound, term);
}

function print(output: CmdletOutput, bound: Awaited<ReturnType<typeof bind>>, term: Terminal): void {
  const { stages, globals } = bound;
  if (output.kind === 'objects') {
    if (output.objects.length) term.out(render(output.objects, stages, globals.json, !!output.single));
    else if (globals.json) term.out('[]');
    if (output.note) term.err(output.note);
    return;
  }
  if (output.kind === 'none' || output.kind === 'stream') {
    if (output.note) term.err(output.note);
    return;
  }
  const { summary, results, verb } = output;
  if (output.objects?.length) term.out(render(output.objects, stages.length ? stages : [{ kind: 'table', props: [] }], globals.json, false));
  const total = output.tally ? Object.values(output.tally).reduce((a, b) => a + b, 0) : summary.done + summary.unchanged + summary.skipped;
  if (globals.json && !output.objects) {
    term.out(JSON.stringify({ Total: total, Done: summary.done, Unchanged: summary.unchanged, Skipped: summary.skipped, Results: results.map((r) => ({ Identity: r.input, User: r.user ?? null, Outcome: r.outcome, Code: r.code ?? null, Reason: r.reason ?? null })) }, null, 2));
  }
  const counts = output.tally ? Object.entries(output.tally).map(([k, n]) => `${n} ${k}`).join(', ') : `${summary.done} ${verb}, ${summary.unchanged} unchanged, ${summary.skipped} skipped`;
  const lines = [`${bound.def.name}: ${total} user(s): ${counts}.`];
  for (const r of results.slice(0, 20)) lines.push(`  ${r.status ?? (r.outcome === 'skipped' ? 'skipped' : 'unchanged')}: ${scalar(r.input)}${r.code ? ` (${r.code})` : ''}: ${r.reason ?? ''}`);
  if (results.length > 20) lines.push(`  … ${total - summary.done - 20} more (use --report FILE.csv for the full list)`);
  if (output.note) lines.push(output.note);
  term.err(lines.join('\n'));
}

/** Tokenises and runs one command line given as text (the `dialin run` path). */
export async function executeLine(ctx: AppContext, config: Readonly<Config>, line: string, term: Terminal, globals: Partial<GlobalOptions> = {}): Promise<number> {
  return await executeTokens(ctx, config, tokenize(line), term, globals);
}
