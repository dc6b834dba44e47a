import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { BIN, ROOT } from '../support/cli.ts';

const PROBE = path.join(ROOT, 'test/support/load-probe.cjs');

/** Runs `node [pre…] script args` with the test's environment; resolves with the exit code and output. */
function run(pre: string[], script: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...pre, script, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The newest modification time under a directory. */
function newest(dir: string): number {
  let m = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return m;
}

// What a cmdlet reading one user must not load: the web server, mail, directory, bounce and
// metrics packages, the native-command parser, the progress bar, Argon2, and TypeScript itself.
const NOT_FOR_A_CMDLET = ['fastify', '@fastify', 'nodemailer', 'liquidjs', 'ldapts', 'pino', 'pino-pretty', 'imapflow', 'smtp-server', 'mailparser', 'mailauth', 'prom-client', 'commander', 'cli-progress', '@node-rs', 'tsx', 'esbuild', 'typescript'];

for (const dialect of DIALECTS) {
  describe(`A single cmdlet call runs the build and loads what it needs only (${dialect})`, () => {
    let t: TestEnv;
    let sip: string;
    let dir: string;
    before(async () => {
      t = await testEnv(dialect);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-startup-'));
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      [sip] = (await addUsers(t.scope, 'ken', 1)) as [string];
      await enable(t.scope, [sip]);
    });
    after(async () => {
      await t.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('Get-CsOnlineDialInConferencingUser loads dist/ and none of the server, mail or directory packages', async () => {
      assert.ok(fs.existsSync(path.join(ROOT, 'dist/BUILT')) && fs.statSync(path.join(ROOT, 'dist/BUILT')).mtimeMs >= newest(path.join(ROOT, 'src')), 'dist/ is built and newer than src/ (npm test builds it: scripts/test.sh)');
      const list = path.join(dir, 'loaded.txt');
      const r = await run(['--require', PROBE], BIN, ['Get-CsOnlineDialInConferencingUser', '-Identity', sip], { ...t.env, DIALIN_LOAD_PROBE_FILE: list });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ServiceNumber\s+: \+1 425-555-0100$/m);
      const loaded = fs.readFileSync(list, 'utf8').trim().split('\n').map((l) => l.replace(/^file:\/\//, ''));
      assert.ok(loaded.some((l) => l === path.join(ROOT, 'dist/main.js')), 'ran dist/main.js');
      assert.deepEqual(loaded.filter((l) => /\.ts$/.test(l)), [], 'no TypeScript source was loaded');
      const packages = new Set(loaded.map((l) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(l)?.[1]).filter((p): p is string => !!p));
      const banned = [...packages].filter((p) => NOT_FOR_A_CMDLET.some((b) => p === b || p.startsWith(`${b}/`)));
      assert.deepEqual(banned, [], `packages loaded: ${[...packages].join(', ')}`);
      // Only the driver of the database in use.
      assert.equal(packages.has('pg'), dialect === 'postgres');
      assert.equal(packages.has('better-sqlite3'), dialect === 'sqlite');
    });
  });
}

describe('bin/dialin.js runs dist/ only while it is newer than every source file', () => {
  let root: string;
  before(() => {
    // A copy of the project's layout: bin/dialin.js itself, a dist/ and a src/ entry that say which ran.
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bin-'));
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(BIN, path.join(root, 'bin/dialin.js'));
    fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    fs.mkdirSync(path.join(root, 'src/adapters/cli'), { recursive: true });
    fs.writeFileSync(path.join(root, 'src/adapters/cli/main.ts'), "export async function main(): Promise<number> { console.log('src'); return 0; }\n");
    fs.mkdirSync(path.join(root, 'dist'));
    fs.writeFileSync(path.join(root, 'dist/main.js'), "export async function main() { console.log('dist'); return 0; }\n");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const which = async () => (await run([], path.join(root, 'bin/dialin.js'), [], {})).stdout.trim();
  const past = (s: number) => new Date(Date.now() - s * 1000);

  it('without a build the sources run (through tsx)', async () => {
    assert.equal(await which(), 'src');
  });
  it('a build newer than src/ runs', async () => {
    fs.utimesSync(path.join(root, 'src/adapters/cli/main.ts'), past(60), past(60));
    fs.utimesSync(path.join(root, 'src/adapters/cli'), past(60), past(60));
    fs.writeFileSync(path.join(root, 'dist/BUILT'), 'now\n');
    assert.equal(await which(), 'dist');
  });
  it('a source file changed after the build: the sources run, never the stale build', async () => {
    fs.writeFileSync(path.join(root, 'src/adapters/cli/other.ts'), 'export {};\n');
    fs.utimesSync(path.join(root, 'dist/BUILT'), past(30), past(30));
    assert.equal(await which(), 'src');
  });
});
