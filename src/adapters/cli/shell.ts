import fs from 'node:fs';
import readline from 'node:readline';
import { isAppError } from '../../core/errors.ts';
import { CMDLETS, findCmdlet } from './cmdlets/index.ts';
import type { Terminal } from './execute.ts';
import type { GlobalOptions } from './bind.ts';
import type { AppContext } from '../../app/context.ts';
import type { Config } from '../../config/config.ts';
import { parseScript } from './ps/parser.ts';
import { Evaluator } from './ps/evaluate.ts';
import { BUILTINS, PREAMBLE } from './ps/builtins.ts';

/**
 * `dialin shell`: an interactive prompt like the Lync Server Management Shell. Each entry is read
 * as a whole script (several lines while a block, string or pipeline is open), checked, then run;
 * variables live until the shell ends; an error is printed and the shell goes on. History is kept
 * in a file of the user's; Tab completes cmdlet, built-in and parameter names.
 */
export interface ShellIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  term: Terminal;
  isTTY: boolean;
}

const HISTORY_SIZE = 1000;

/** Names whose PowerShell spelling is not simply each word capitalised. */
const SPELLING: Record<string, string> = {
  'foreach-object': 'ForEach-Object',
  'connect-microsoftteams': 'Connect-MicrosoftTeams',
  'disconnect-microsoftteams': 'Disconnect-MicrosoftTeams',
  'new-csonlinesession': 'New-CsOnlineSession',
  'import-pssession': 'Import-PSSession',
  'remove-pssession': 'Remove-PSSession',
  'set-executionpolicy': 'Set-ExecutionPolicy',
};

/** The built-ins' parameters as PowerShell spells them (the script check knows them in lower case). */
const PARAM_SPELLING: Record<string, string> = Object.fromEntries(
  ['AutoSize', 'BackgroundColor', 'ExcludeProperty', 'ExpandProperty', 'FilePath', 'FilterScript', 'ForegroundColor', 'GroupBy', 'InputObject', 'LiteralPath', 'MemberName', 'NoElement', 'NoEnumerate', 'NoNewline', 'NoTypeInformation', 'TotalCount', 'CaseSensitive', 'NotMatch', 'NotLike', 'NotContains', 'NotIn', 'CEQ', 'CNE', 'CLike', 'CMatch', 'CContains', 'CIn'].map((p) => [p.toLowerCase(), p]),
);

/** Every command name the shell knows, as PowerShell spells it. */
function commandNames(): string[] {
  const titled = (w: string) => SPELLING[w] ?? w.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
  const builtins = [...BUILTINS.keys(), ...PREAMBLE].filter((n) => n.includes('-')).map(titled);
  return [...new Set([...CMDLETS.flatMap((c) => [c.name, ...(c.aliases ?? [])]), ...builtins])].sort();
}

/** The parameters of the command a word belongs to: the last command of the line before the cursor. */
function paramsOf(before: string): string[] {
  const segment = before.split(/[|;{(]/).pop() ?? '';
  const name = segment.trim().split(/\s+/)[0] ?? '';
  const def = findCmdlet(name);
  if (def) return def.params.map((p) => p.name);
  const b = BUILTINS.get(name.toLowerCase());
  return (b?.params ?? []).map((p) => PARAM_SPELLING[p] ?? p.replace(/^./, (c) => c.toUpperCase()));
}

/** readline's completer: the word before the cursor, completed case-insensitively. */
export function complete(line: string): [string[], string] {
  const word = /[^\s|;{(]*$/.exec(line)?.[0] ?? '';
  const before = line.slice(0, line.length - word.length);
  let hits: string[];
  if (word.startsWith('-')) {
    const stem = word.slice(1).toLowerCase();
    hits = paramsOf(before).filter((p) => p.toLowerCase().startsWith(stem)).map((p) => `-${p}`);
  } else if (word && !word.startsWith('$')) {
    const stem = word.toLowerCase();
    hits = commandNames().filter((n) => n.toLowerCase().startsWith(stem));
  } else hits = [];
  return [hits.length === 1 ? [`${hits[0]} `] : hits, word];
}

/** An entry that is not finished yet (a block, string, sub-expression or pipeline left open). */
function incomplete(e: unknown): boolean {
  return isAppError(e) && /end of the script|is not closed|nothing after it/.test(e.message);
}

export async function runShell(
  io: ShellIO,
  deps: { ctx(): Promise<AppContext>; config: Readonly<Config>; globals: Partial<GlobalOptions>; historyFile: string | null; banner: string },
): Promise<number> {
  const history = readHistory(deps.historyFile);
  const rl = readline.createInterface({ input: io.input, output: io.output, terminal: io.isTTY, completer: complete, history, historySize: HISTORY_SIZE });
  const lines = rl[Symbol.asyncIterator]();
  const prompt = (more: boolean) => {
    rl.setPrompt(more ? '>> ' : `PS dialin${deps.globals.tenant ? ` [${deps.globals.tenant}]` : ''}> `);
    rl.prompt();
  };
  const next = async (): Promise<string | null> => {
    const r = await lines.next();
    return r.done ? null : r.value;
  };
  // Prompts of -Confirm read from this readline, not from a second reader of the same stdin.
  const term: Terminal = {
    ...io.term,
    ask: async (p) => {
      io.output.write(p);
      return await next();
    },
  };
  const vars = new Map<string, unknown>();
  let last = 0;
  io.output.write(deps.banner);
  let entry = '';
  for (;;) {
    if (io.isTTY) prompt(entry !== '');
    const line = await next();
    if (line === null) break;
    entry = entry ? `${entry}\n${line}` : line;
    const word = entry.trim().toLowerCase();
    if (word === '') {
      entry = '';
      continue;
    }
    if (word === 'exit' || word === 'quit') break;
    if (word === 'cls' || word === 'clear' || word === 'clear-host') {
      entry = '';
      if (io.isTTY) io.output.write('\x1b[2J\x1b[H');
      continue;
    }
    let script;
    try {
      script = parseScript(entry);
    } catch (e) {
      if (incomplete(e) && line.trim() !== '') continue; // an empty line ends an unfinished entry, as in pwsh
      term.err(`dialin: ${isAppError(e) ? `${e.code}: ${e.message}` : String(e)}`);
      entry = '';
      last = 1;
      continue;
    }
    entry = '';
    const ev = new Evaluator({ ctx: deps.ctx, config: deps.config, term, globals: deps.globals, file: null }, script);
    for (const [k, v] of vars) ev.vars.set(k, v);
    try {
      last = await ev.run();
    } catch (e) {
      term.err(`dialin: ${isAppError(e) ? `${e.code}: ${e.message}` : (e as Error)?.message ?? String(e)}`);
      last = 1;
    }
    for (const [k, v] of ev.vars) vars.set(k, v);
  }
  writeHistory(deps.historyFile, (rl as unknown as { history: string[] }).history ?? []);
  rl.close();
  return last;
}

function readHistory(file: string | null): string[] {
  if (!file) return [];
  try {
    // readline keeps the newest entry first.
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function writeHistory(file: string | null, history: string[]): void {
  if (!file || !history.length) return;
  try {
    // Lines with a PIN stay out of the history file, as PSReadLine keeps secrets out of its own.
    const kept = history.filter((l) => !/-pin\b|pin\s*=|password|secret|token/i.test(l));
    fs.writeFileSync(file, `${[...kept].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch {
    // A history that cannot be written is not worth failing the session for.
  }
}
