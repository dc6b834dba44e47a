/**
 * Runs bench/http-load.ts, the closed-loop load generator, as a process of its own (so its CPU is
 * not the server's) and returns what it measured.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from '../test/support/cli.ts';

export interface HttpLoadOptions {
  port: number;
  token: string;
  /** One request body a line. */
  bodiesFile: string;
  connections: number;
  path: string;
  /** A timed run: bodies sent round and round for `seconds` after `warmupSeconds`. */
  seconds?: number;
  warmupSeconds?: number;
  /** Each body sent exactly once instead. */
  once?: boolean;
  contentType?: string;
  /** The answer's JSON field kept for each body, in order (with `once`). */
  idField?: string;
}

export interface HttpLoadResult {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ids?: string[];
}

export async function runHttpLoad(o: HttpLoadOptions): Promise<HttpLoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/http-load.ts'), JSON.stringify({ seconds: 0, warmupSeconds: 0, ...o })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await once(child, 'close');
  return JSON.parse(out) as HttpLoadResult;
}
