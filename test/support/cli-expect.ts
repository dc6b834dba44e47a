import assert from 'node:assert/strict';
import { runCli, type CliResult } from './cli.ts';
import { dumpDb } from './db-dump.ts';
import type { TestEnv } from './dialects.ts';

/**
 * Runs `dialin ARGS` and asserts it failed with the stable code (non-zero exit, `dialin: CODE:` on
 * stderr, the message matching) and that the database is exactly as it was (unless the caller
 * compares it around several commands run together: `checkDb: false`).
 */
export async function expectRefused(t: TestEnv, args: string[], code: string, message: RegExp, opts: { input?: string; cwd?: string; checkDb?: boolean } = {}): Promise<CliResult> {
  const checkDb = opts.checkDb ?? true;
  const before = checkDb ? await dumpDb(t.ctx.db) : null;
  const r = await runCli(args, t.env, opts);
  const what = `dialin ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.notEqual(r.code, 0, what);
  assert.match(r.stderr, new RegExp(`^dialin: ${code}: `, 'm'), what);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, `no stack trace: ${what}`);
  if (checkDb) assert.deepEqual(await dumpDb(t.ctx.db), before, `the database changed: ${what}`);
  return r;
}

/** Runs `dialin ARGS` and asserts it succeeded. */
export async function expectOk(t: TestEnv, args: string[], opts: { input?: string; cwd?: string } = {}): Promise<CliResult> {
  const r = await runCli(args, t.env, opts);
  assert.equal(r.code, 0, `dialin ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
