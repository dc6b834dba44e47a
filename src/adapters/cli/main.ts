import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError, isAppError } from '../../core/errors.ts';
import { decodeUtf8, visible } from '../../core/text.ts';
import { loadConfig, type Config } from '../../config/config.ts';
import { createContext, cliActor } from '../../main/context.ts';
import type { AppContext } from '../../app/context.ts';
import { EXIT_SOME_SKIPPED, executeTokens, isCmdletName, processTerminal, unknownCmdlet, type Terminal } from './execute.ts';
import { argvToLine, tokenize, type Token } from './ps-tokenize.ts';
import { checkArgs } from './check-args.ts';
import { cmdletHelp, cmdletListing, referenceMarkdown } from './help.ts';
import { DIALIN_VERSION } from '../version.ts';

/** Exit status by error kind: scripts can tell "fix your input" from "try again later". */
export function exitCodeOf(e: unknown): number {
  if (!isAppError(e)) return 70;
  switch (e.kind) {
    case 'unavailable':
      return 3;
    case 'internal':
      return 70;
    default:
      return 1;
  }
}

export { EXIT_SOME_SKIPPED };

/** Code, message and field of any error, the way both the text and the JSON form report it. */
function describeError(e: unknown): { code: string; message: string; field: string | null } {
  if (isAppError(e)) return { code: e.code, message: e.message, field: e.field ?? null };
  const err = e as Error;
  if (/ECONNREFUSED|ENOTFOUND|connect/i.test(err?.message ?? '') && /5432|postgres/i.test(String(err?.message) + String((err as { address?: string })?.address ?? ''))) {
    return { code: 'DATABASE_UNAVAILABLE', message: `cannot reach PostgreSQL (${err.message}); check DATABASE_URL and that the server runs.`, field: null };
  }
  return { code: 'INTERNAL_ERROR', message: err?.message ?? String(e), field: null };
}

/** `dialin: CODE: message`, or with --json the REST API's `{"error":{"code","message","field"}}`. */
export function formatError(e: unknown, json = false): string {
  const d = describeError(e);
  return json ? JSON.stringify({ error: d }) : `dialin: ${d.code}: ${d.message}`;
}

/** Lazily opens the context: help and usage errors never touch the database. */
export class ContextHolder {
  #ctx: Promise<AppContext> | null = null;
  constructor(readonly config: Readonly<Config>) {}
  get(): Promise<AppContext> {
    this.#ctx ??= createContext(this.config, { actor: cliActor() });
    return this.#ctx;
  }
  async close(): Promise<void> {
    if (this.#ctx) await (await this.#ctx).db.close();
  }
}

const NATIVE = ['shell', 'serve', 'worker', 'migrate', 'tenant', 'users', 'outbox', 'mail', 'audit', 'run', 'help', 'template', 'doctor', 'token', 'admin', 'dkim', 'bounces', 'directory', 'key', 'scim', 'backup', 'restore', 'sso'];

/** Splits leading `--tenant X` / `--json` off argv, so they may come before a cmdlet name. */
function leadingGlobals(argv: string[]): { rest: string[]; tenant: string | null; json: boolean; report: string | null } {
  let tenant: string | null = null;
  let json = false;
  let report: string | null = null;
  let i = 0;
  for (; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--tenant') tenant = argv[++i] ?? null;
    // `dialin --report r.csv -Command '…'`: every user outcome of the script's cmdlets in one file.
    else if (argv[i] === '--report' && /^-(command|c)$/i.test(argv[i + 2] ?? '')) report = argv[++i] ?? null;
    else break;
  }
  return { rest: argv.slice(i), tenant, json, report };
}

/** Commander's own usage errors (unknown option, missing value…) under our stable codes. */
function fromCommander(e: { code: string; message: string }): AppError {
  const code = e.code === 'commander.unknownOption' ? 'UNKNOWN_PARAMETER' : e.code === 'commander.unknownCommand' ? 'UNKNOWN_COMMAND' : /missing/i.test(e.code) ? 'MISSING_ARGUMENT' : 'INVALID_ARGUMENT';
  return new AppError(code, e.message.replace(/^error: /, ''));
}

export async function main(argv: string[], term: Terminal = processTerminal, env: Record<string, string | undefined> = process.env): Promise<number> {
  let holder: ContextHolder | null = null;
  // --json anywhere on the line (before or after the cmdlet, or on a native command) asks for JSON errors.
  const json = argv.includes('--json');
  try {
    // The script of -Command may have line breaks and tabs; the rest of the check still applies to it.
    checkArgs(argv.map((a, i) => (/^-(command|c)$/i.test(argv[i - 1] ?? '') ? a.replace(/[\r\n\t]/g, ' ') : a)));
    const config = loadConfig(env);
    holder = new ContextHolder(config);
    const { rest, tenant, json: leadingJson, report } = leadingGlobals(argv);
    const first = rest[0] ?? '';
    const firstWord = first.trim().split(/\s+/)[0] ?? '';
    if (/^-(command|c)$/i.test(first)) {
      // `dialin -Command '…'`, as `pwsh -Command`: the rest is one script.
      return await runScriptText(holder, rest.slice(1).join(' '), null, term, { tenant, json: leadingJson, report });
    }
    if (firstWord && isCmdletName(firstWord)) {
      const line = argvToLine(rest);
      const tokens = simpleLine(line);
      // A line with more PowerShell than `cmdlet -Param value | fl` goes to the script reader.
      if (!tokens) return await runScriptText(holder, line, null, term, { tenant, json: leadingJson });
      return await executeTokens(await holder.get(), holder.config, tokens, term, { tenant, json: leadingJson });
    }
    if (first && !first.startsWith('-') && !NATIVE.includes(first)) throw unknownCmdlet(first, NATIVE);
    const status = { code: 0 };
    const program = await buildProgram(holder, term, status, json, first);
    await program.parseAsync(['node', 'dialin', ...argv]);
    return status.code;
  } catch (e) {
    if ((e as { code?: string }).code === 'commander.helpDisplayed' || (e as { code?: string }).code === 'commander.version') return 0;
    if ((e as { code?: string }).code?.startsWith('commander.')) {
      if (json) term.err(formatError(fromCommander(e as { code: string; message: string }), true)); // commander printed nothing
      return 1;
    }
    term.err(formatError(e, json));
    return exitCodeOf(e);
  } finally {
    await holder?.close().catch(() => {});
  }
}

/** Parses a whole script (refusing it before anything runs if it is outside the subset), then runs it. */
async function runScriptText(holder: ContextHolder, text: string, file: string | null, term: Terminal, globals: { tenant: string | null; json: boolean; report?: string | null }): Promise<number> {
  const { parseScript } = await import('./ps/parser.ts');
  const { Evaluator } = await import('./ps/evaluate.ts');
  const script = parseScript(text);
  return await new Evaluator({ ctx: () => holder.get(), config: holder.config, term, globals, file }, script).run();
}

/** The tokens of a line the single-cmdlet path runs as it always did, or null for the script reader. */
function simpleLine(line: string): Token[] | null {
  let tokens: Token[];
  try {
    tokens = tokenize(line);
  } catch (e) {
    if (isAppError(e) && e.code === 'PIPELINE_NOT_SUPPORTED') return null;
    throw e;
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.t !== 'pipe') continue;
    const next = tokens[i + 1];
    if (!next || next.t !== 'word' || !/^(fl|ft|format-list|format-table|select|select-object)$/i.test(next.v)) return null;
  }
  return tokens;
}

async function buildProgram(holder: ContextHolder, term: Terminal, status: { code: number }, json: boolean, command: string): Promise<Command> {
  // Only the native commands parse with commander: a cmdlet call does not load it.
  const { Command, Option } = await import('commander');
  const program = new Command('dialin')
    .description('Self-hosted administration for dial-in (audio) conferencing.\nRun a cmdlet as `dialin <Cmdlet-Name> -Param value …` (names are case-insensitive); `dialin help` lists them.')
    .version(DIALIN_VERSION, '-V, --version', 'print the version of dialin')
    .exitOverride()
    // With --json, commander's usage errors are left to main, which prints them as JSON.
    .configureOutput({ writeOut: (s) => term.out(s), writeErr: (s) => term.err(s), outputError: (s, write) => (json ? undefined : write(s)) })
    .addHelpText(
      'after',
      `
Cmdlets (dialin help <cmdlet> for parameters and examples):
${cmdletListing()}

Environment: DIALIN_DATA_DIR (./data), DATABASE_URL (postgres://… for PostgreSQL), DIALIN_SMTP_URL,
DIALIN_MAIL_FROM, DIALIN_PUBLIC_URL, DIALIN_PIN_KEY, DIALIN_PIN_KEYS_FILE, PSEmailServer, PORT, DIALIN_BOUNCE_DOMAIN,
DIALIN_BOUNCE_LISTEN, DIALIN_BOUNCE_IMAP_URL, DIALIN_DNS_SERVERS, DIALIN_SMTP_HELO_NAME.`,
    );
  program.addOption(new Option('--tenant <name>', 'tenant name or id (default: the default tenant)'));
  program.addOption(new Option('--json', 'print JSON for scripts'));

  program
    .command('help')
    .description('List the cmdlets, or show one with its parameters and examples')
    .argument('[cmdlet]', 'cmdlet name')
    .option('--markdown', 'print the CLI reference as Markdown (for the README)')
    .action((name: string | undefined, o: { markdown?: boolean }) => {
      if (o.markdown) term.out(referenceMarkdown());
      else if (name) term.out(cmdletHelp(name));
      else program.outputHelp();
    });

  program
    .command('run')
    .description('Run a file of cmdlet lines (backtick continuation, # comments); stops at the first error with its line number')
    .argument('<file>', 'script, e.g. setup.ps1')
    .option('--report <file>', "one CSV line per user outcome of the script's cmdlets")
    .action(async (file: string, o: { report?: string }) => {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
      } catch {
        throw new AppError('FILE_NOT_FOUND', `Cannot read the script ${file}.`);
      }
      const text = decodeUtf8(bytes, 'file', `The script ${file}`);
      const g = program.opts<{ tenant?: string; json?: boolean }>();
      // A group that skipped users does not stop the script; the script then exits with that status.
      status.code = await runScriptText(holder, text, file, term, { tenant: g.tenant ?? null, json: !!g.json, report: o.report ?? null });
    });

  program
    .command('shell')
    .description('An interactive prompt like the Lync Server Management Shell: cmdlets, pipelines and variables, with history and Tab completion')
    .addHelpText('after', '\nType a cmdlet line or a script; a block left open continues on the next line (>>). exit or Ctrl-D leaves.\nHistory: DIALIN_SHELL_HISTORY (default ~/.dialin_history, lines with a PIN or password are not kept; off keeps none).')
    .action(async () => {
      const { runShell } = await import('./shell.ts');
      const g = program.opts<{ tenant?: string; json?: boolean }>();
      const tty = !!process.stdin.isTTY;
      const banner = tty ? 'dialin shell: the dial-in cmdlets and the PowerShell that scripts use. Tab completes names; `dialin help` lists the cmdlets; exit leaves.\n' : '';
      status.code = await runShell(
        { input: process.stdin, output: process.stdout, term, isTTY: tty },
        { ctx: () => holder.get(), config: holder.config, globals: { tenant: g.tenant ?? null, json: !!g.json }, historyFile: holder.config.shellHistory, banner },
      );
    });

  // Loaded only for dialin's own commands: a cmdlet line never pays for the web and mail modules.
  // `dialin directory …` (run every few minutes by cron or a timer) loads only its own commands: the rest of
  // the CLI is most of the start-up time. Anything else, `--help` included, gets them all.
  if (command === 'directory') {
    const { registerDirectoryCommands } = await import('./directory-commands.ts');
    registerDirectoryCommands(program, holder, term);
  } else {
    const { registerNativeCommands } = await import('./native-commands.ts');
    registerNativeCommands(program, holder, term, status);
  }
  return program;
}
