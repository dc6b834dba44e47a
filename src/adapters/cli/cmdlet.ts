import type { AppError } from '../../core/errors.ts';
import type { Config } from '../../config/config.ts';
import type { TenantScope } from '../../app/context.ts';
import type { ItemResult } from '../../app/bulk.ts';
import type { GlobalOptions } from './bind.ts';

export type ParamType = 'string' | 'int' | 'bool' | 'switch' | 'list' | 'identities';

export interface ParamDef {
  name: string;
  type: ParamType;
  mandatory?: boolean;
  /** Position for values given without a name (0 = first). */
  position?: number;
  aliases?: string[];
  help: string;
  /** Accepted for compatibility with Microsoft's scripts, ignored with this warning. */
  ignored?: string;
  /** A Microsoft parameter with no meaning here: refused with this reason. */
  unsupported?: string;
  /** A string that holds commas (a DN, a filter): a value the shell split at its commas is joined back. */
  keepCommas?: boolean;
  /** A -Filter that reads a script block's text itself (`-Filter {Department -eq "Finance"}`), before -ResultSize. */
  filterBlock?: boolean;
}

/** A list of identities: given inline (`a,b`) or read from `@FILE`; `group` tells the two apart. */
export interface Identities {
  values: AsyncIterable<string>;
  group: boolean;
  /** For messages: the single identity, or the file. */
  label: string;
  /** The file, when given as @FILE (its absolute path). */
  file?: string;
  /** How many identities there are (a file is read once more to count them), for the progress ETA; null when not known ahead (a pipeline's stream). */
  count(): Promise<number | null>;
}

export type ParamValue = string | number | boolean | string[] | Identities | null;
export type Params = Record<string, ParamValue | undefined>;

/**
 * What a cmdlet gives back: objects to print, or a summary of a run over a group. `failure` is
 * printed after the output and makes the command fail (a run interrupted, mail not delivered).
 */
export type CmdletOutput = (
  | { kind: 'objects'; objects: Record<string, unknown>[]; single?: boolean; note?: string }
  | {
      kind: 'group';
      verb: string;
      summary: { done: number; unchanged: number; skipped: number };
      /** Counts by finer outcome (sent, failed…) for the summary line, when done/unchanged/skipped say too little. */
      tally?: Record<string, number>;
      results: ItemResult[];
      objects?: Record<string, unknown>[];
      note?: string;
    }
  | { kind: 'none'; note?: string }
  /** Objects read page by page as the consumer asks (a whole tenant's users): a script pipeline streams them on. */
  | { kind: 'stream'; objects: AsyncIterable<Record<string, unknown>>; note?: string }
) & { failure?: AppError };

export interface CmdletIO {
  scope: TenantScope;
  config: Readonly<Config>;
  globals: Readonly<GlobalOptions>;
  /** Asks for a secret on the terminal without echoing it; null when there is no terminal. */
  askSecret(prompt: string): Promise<string | null>;
  /** A secret given as `-` (kept out of `ps` and shell history): typed without echo on a terminal, else stdin's next line; null at end of input. */
  readSecret(prompt: string): Promise<string | null>;
  /** Asks "are you sure?" when -Confirm was given; false when declined. */
  confirm(action: string, target: string): Promise<boolean>;
  warn(message: string): void;
  /** Called per result of a group run (progress bar, report). */
  onResult(r: ItemResult): void;
}

export interface CmdletDef {
  name: string;
  /** Other accepted spellings (the seed's singular ...TenantSetting). */
  aliases?: string[];
  synopsis: string;
  params: ParamDef[];
  examples: { command: string; effect: string }[];
  /** Supports -Confirm on a destructive change. */
  confirmImpact?: boolean;
  /** dialin options beyond --json/--tenant/--report/--yes that the cmdlet understands; others refuse them. */
  extraOptions?: readonly ('--dry-run' | '--password-file')[];
  /** A further section of `dialin help NAME` (e.g. the placeholders of a template). */
  notes?: { title: string; text: string };
  run(io: CmdletIO, p: Params): Promise<CmdletOutput>;
}

export const TENANT_PARAM: ParamDef = { name: 'Tenant', type: 'string', help: 'Tenant name or id (default: --tenant or the default tenant).' };
export const CONFIRM_PARAM: ParamDef = { name: 'Confirm', type: 'switch', help: 'Ask before making the change.' };
export const FORCE_PARAM: ParamDef = { name: 'Force', type: 'switch', help: 'Do not ask for confirmation.' };

export function str(p: Params, k: string): string | null {
  const v = p[k];
  return typeof v === 'string' ? v : v === null || v === undefined ? null : String(v);
}
export function bool(p: Params, k: string): boolean | null {
  const v = p[k];
  return typeof v === 'boolean' ? v : null;
}
export function int(p: Params, k: string): number | null {
  const v = p[k];
  return typeof v === 'number' ? v : null;
}
export function list(p: Params, k: string): string[] | null {
  const v = p[k];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : null;
}
export function ids(p: Params, k = 'Identity'): Identities {
  return p[k] as Identities;
}
