/**
 * `npm run bench -- import [--users N] [--dialects sqlite,postgres]`
 *
 * Imports N users from a generated CSV and enables them all for dial-in (bridge, numbers,
 * conference ID, PIN, welcome mail in the outbox, audit), each step as the real `dialin` command
 * in its own process, on SQLite and on PostgreSQL. Prints users/s and peak RSS, and, as the
 * baseline measured in the same run, the rate of enabling users one transaction per user.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createPgDatabase } from '../test/support/dialects.ts';
import { BIN } from '../test/support/cli.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import { runInBatches } from '../src/app/bulk.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { addUser } from '../src/app/users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';

export interface Step {
  seconds: number;
  rssMb: number | null;
}

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

export async function writeCsv(file: string, n: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write('UserUri,DisplayName,EmailAddress,Language,Phone,Extension\n');
  for (let i = 0; i < n; i++) {
    const line = `sip:user${i}@contoso.com,User ${i},user${i}@contoso.com,${i % 3 === 0 ? 'fr-FR' : 'en-US'},+1425${String(5000000 + i).slice(-7)},${1000 + (i % 9000)}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Runs `dialin ARGS` under /usr/bin/time for the peak RSS (when the machine has it). */
export async function timed(args: string[], env: Record<string, string>): Promise<Step> {
  const hasTime = fs.existsSync('/usr/bin/time');
  const rssFile = path.join(os.tmpdir(), `dialin-rss-${crypto.randomUUID()}`);
  const cmd = hasTime ? '/usr/bin/time' : process.execPath;
  const argv = hasTime ? ['-f', '%M', '-o', rssFile, process.execPath, BIN, ...args] : [BIN, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number];
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`dialin ${args.join(' ')} failed (${code}):\n${stderr.slice(-2000)}`);
  const rssMb = hasTime ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : null;
  fs.rmSync(rssFile, { force: true });
  return { seconds, rssMb };
}

/** Baseline: enabling users one transaction per user, in-process, on a small sample. */
async function oneAtATime(env: Record<string, string>, sample: number): Promise<number> {
  const ctx = await createContext(loadConfig(env), { actor: 'bench' });
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await newBridge(s, { name: 'Baseline Bridge' });
  await registerServiceNumber(s, { number: '+14255550999', bridge: { name: 'Baseline Bridge' } });
  await setBridge(s, { name: 'Baseline Bridge' }, { defaultServiceNumber: '+14255550999' });
  const uris: string[] = [];
  for (let i = 0; i < sample; i++) {
    uris.push(`baseline${i}@contoso.com`);
    await addUser(s, { UserUri: uris[i]!, DisplayName: `Baseline ${i}` });
  }
  const t0 = performance.now();
  await runInBatches(s, uris, enableUsers(s, { bridge: { name: 'Baseline Bridge' } }), { batchSize: 1 });
  const rate = sample / ((performance.now() - t0) / 1000);
  await ctx.db.close();
  return rate;
}

export async function run(args: string[]): Promise<void> {
  const n = Number(opt(args, 'users', '100000'));
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-import-'));
  const csv = path.join(dir, 'users.csv');
  console.log(`import: generating ${n.toLocaleString('en')} users…`);
  await writeCsv(csv, n);
  const setup = path.join(dir, 'setup.ps1');
  fs.writeFileSync(
    setup,
    [
      'New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"',
      'Register-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -BridgeName "Conference Bridge" -City Redmond',
      'Register-CsOnlineDialInConferencingServiceNumber -Identity +18005550100 -BridgeName "Conference Bridge" -Type TollFree',
      'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultServiceNumber +14255551234',
      // 7-digit IDs give 900,000 of them; a million users need longer ones.
      `Set-CsOnlineDialInConferencingTenantSettings -ConferenceIdLength ${n > 300_000 ? 9 : 7}`,
    ].join('\n'),
  );
  const rows: string[][] = [];
  for (const dialect of dialects) {
    const dataDir = path.join(dir, dialect);
    const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
    const env: Record<string, string> = { DIALIN_DATA_DIR: dataDir, DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'), ...(pgdb ? { DATABASE_URL: pgdb.url } : {}) };
    try {
      await timed(['run', setup], env);
      const imp = await timed(['users', 'import', csv], env);
      const en = await timed(['Enable-CsOnlineDialInConferencingUser', '-Identity', `@${csv}`, '-TollFreeServiceNumber', '+18005550100'], env);
      const total = imp.seconds + en.seconds;
      // The same work as one command: `dialin users import FILE --enable`, on a fresh database.
      const oneDir = path.join(dir, `${dialect}-one`);
      const pgOne = dialect === 'postgres' ? await createPgDatabase() : null;
      const envOne: Record<string, string> = { ...env, DIALIN_DATA_DIR: oneDir, ...(pgOne ? { DATABASE_URL: pgOne.url } : {}) };
      let one: Step;
      try {
        await timed(['run', setup], envOne);
        one = await timed(['users', 'import', csv, '--enable'], envOne);
      } finally {
        await pgOne?.drop();
      }
      const base = await oneAtATime(env, 300);
      rows.push([
        dialect,
        `${(n / imp.seconds).toFixed(0)}/s (${imp.seconds.toFixed(1)} s, ${imp.rssMb?.toFixed(0) ?? 'n/a'} MB)`,
        `${(n / en.seconds).toFixed(0)}/s (${en.seconds.toFixed(1)} s, ${en.rssMb?.toFixed(0) ?? 'n/a'} MB)`,
        `${(n / total).toFixed(0)} users/s`,
        `${(n / one.seconds).toFixed(0)} users/s (${one.seconds.toFixed(1)} s, ${one.rssMb?.toFixed(0) ?? 'n/a'} MB)`,
        `${Math.max(imp.rssMb ?? 0, en.rssMb ?? 0, one.rssMb ?? 0).toFixed(0)} MB`,
        `${base.toFixed(0)} users/s (${(n / total / base).toFixed(1)}×)`,
      ]);
    } finally {
      await pgdb?.drop();
    }
  }
  console.log(`\nimport + enable of ${n.toLocaleString('en')} users (goal: ≥ 10,000 users/s on SQLite, ≥ 5,000 on PostgreSQL, RSS ≤ 300 MB)`);
  const head = ['dialect', 'users import', 'Enable @file', 'two commands', 'users import --enable', 'peak RSS', 'baseline: enable 1 user/transaction'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  fs.rmSync(dir, { recursive: true, force: true });
}
