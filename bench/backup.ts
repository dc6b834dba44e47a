/**
 * `npm run bench -- backup [--users N] [--outbox M]`
 *
 * `dialin backup` on SQLite (issue 17): N users (default 1,000,000) and M outbox rows with a
 * sealed PIN (default 1,000,000), then `dialin backup FILE` in a process of its own, as an
 * administrator runs it, and the check a restore starts with (every member against SHA256SUMS).
 * The baseline in the same run is a plain copy of the database file (`fs.copyFileSync`): no
 * backup can be faster than reading and writing the bytes once. Goal: ≤ 30 s at 1,000,000 + 1,000,000.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import SqliteDatabase from 'better-sqlite3';
import { ROOT } from '../test/support/cli.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import { runInBatches } from '../src/app/bulk.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { newUserRow } from '../src/app/users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';
import { sqliteFile } from '../src/adapters/db/database.ts';
import { readBackupArchive } from '../src/adapters/files/backup-archive.ts';
import type { Goal, ScenarioReport } from './report.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${fmt(b / 2 ** 20)} MB`;

/** `dialin ARGS` in its own process; GNU time (when present) writes its CPU seconds to `cpuFile`. */
function dialin(env: Record<string, string>, args: string[], cpuFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const argv = [path.join(ROOT, 'bin/dialin.js'), ...args];
    const [cmd, cmdArgs] = fs.existsSync('/usr/bin/time') ? ['/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, ...argv]] : [process.execPath, argv];
    const child = spawn(cmd, cmdArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`dialin ${args.join(' ')} exited with ${code}`))));
  });
}

/** Inserts `n` rows made by `make(i)` in transactions of 10,000 (straight through better-sqlite3: seeding, not measured). */
function bulkInsert(file: string, table: string, n: number, make: (i: number) => Record<string, unknown>): void {
  const d = new SqliteDatabase(file);
  d.pragma('journal_mode = WAL');
  d.pragma('synchronous = OFF');
  const cols = Object.keys(make(0));
  const stmt = d.prepare(`insert into ${table} (${cols.map((c) => `"${c}"`).join(', ')}) values (${cols.map(() => '?').join(', ')})`);
  const chunk = d.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const r = make(i);
      stmt.run(cols.map((c) => r[c] ?? null));
    }
  });
  for (let i = 0; i < n; i += 10_000) chunk(i, Math.min(n, i + 10_000));
  d.pragma('wal_checkpoint(TRUNCATE)');
  d.close();
}

export async function run(args: string[]): Promise<ScenarioReport> {
  const users = Number(opt(args, 'users', '1000000'));
  const outbox = Number(opt(args, 'outbox', '1000000'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-backup-'));
  const env: Record<string, string> = { DIALIN_DATA_DIR: dataDir, DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'), DIALIN_LOG_LEVEL: 'warn' };
  try {
    const t0 = performance.now();
    const ctx = await createContext(loadConfig(env), { actor: 'bench' });
    const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
    await newBridge(s, { name: 'Conference Bridge' });
    await registerServiceNumber(s, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
    await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
    // One user enabled through the use-cases: the shape of every seeded user and outbox row.
    const first = newUserRow(s, { UserUri: 'user0@contoso.com', DisplayName: 'User 0' }, Date.now());
    await ctx.db.kysely.insertInto('users').values(first).execute();
    await runInBatches(s, [first.sip], enableUsers(s, { bridge: {} }), { batchSize: 1 });
    const user = await ctx.db.kysely.selectFrom('users').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
    const mail = await ctx.db.kysely.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
    const pinHash = user.pin_hash;
    const sealed = Array.from({ length: 64 }, () => ctx.keys.sealPin(String(crypto.randomInt(1000000, 9999999))));
    await ctx.db.close();
    const file = sqliteFile(dataDir);
    bulkInsert(file, 'users', users - 1, (i) => ({ ...user, id: `bench-u-${String(i).padStart(9, '0')}`, sip: `sip:user${i + 1}@contoso.com`, email: `user${i + 1}@contoso.com`, display_name: `User ${i + 1}`, conference_id: null, pin_hash: pinHash }));
    bulkInsert(file, 'outbox', outbox - 1, (i) => ({ ...mail, id: `bench-o-${String(i).padStart(9, '0')}`, message_id: `<bench-${i}@dialin.contoso.com>`, recipient: `user${i + 1}@contoso.com`, pin_enc: sealed[i % sealed.length] }));
    const dbBytes = fs.statSync(file).size;
    console.log(`${fmt(users)} users and ${fmt(outbox)} outbox rows with a sealed PIN: ${mb(dbBytes)} of SQLite (seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s)…`);

    // Baseline: the bytes copied once.
    const c0 = performance.now();
    fs.copyFileSync(file, path.join(dataDir, 'copy.sqlite'));
    const copySeconds = (performance.now() - c0) / 1000;
    fs.rmSync(path.join(dataDir, 'copy.sqlite'));

    const out = path.join(dataDir, 'backup.tar');
    const cpuFile = path.join(dataDir, 'backup.cpu');
    const b0 = performance.now();
    const res = JSON.parse(await dialin(env, ['--json', 'backup', out], cpuFile)) as { Bytes: number; Seconds: number; Users: number; Outbox: number };
    const wall = (performance.now() - b0) / 1000;
    const cpu = fs.existsSync(cpuFile) ? fs.readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).reduce((a, b) => a + Number(b), 0) : NaN;
    const v0 = performance.now();
    readBackupArchive(out);
    const verifySeconds = (performance.now() - v0) / 1000;

    console.log('');
    console.log('| what | size | time | rate |');
    console.log('|---|---:|---:|---:|');
    console.log(`| baseline: copy of the database file (copyFileSync) | ${mb(dbBytes)} | ${copySeconds.toFixed(1)} s | ${mb(dbBytes / copySeconds)}/s |`);
    console.log(`| dialin backup (online backup, counts, tar with SHA256SUMS), as it reports | ${mb(res.Bytes)} | ${res.Seconds.toFixed(1)} s | ${mb(res.Bytes / res.Seconds)}/s |`);
    console.log(`| the same, wall time seen from here (process start included) | ${mb(res.Bytes)} | ${wall.toFixed(1)} s | ${mb(res.Bytes / wall)}/s |`);
    if (Number.isFinite(cpu)) console.log(`| the same, CPU of the backup process (user + system) | ${mb(res.Bytes)} | ${cpu.toFixed(1)} s CPU | |`);
    console.log(`| the check a restore starts with (tar headers, SHA256SUMS) | ${mb(res.Bytes)} | ${verifySeconds.toFixed(1)} s | ${mb(res.Bytes / verifySeconds)}/s |`);
    console.log(`Machine load average while it ran: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores.`);
    const goals: Goal[] = [
      { goal: 'dialin backup of 1,000,000 users and 1,000,000 outbox rows on SQLite ≤ 30 s', measured: `${fmt(res.Users)} users + ${fmt(res.Outbox)} outbox rows, ${mb(res.Bytes)} in ${wall.toFixed(1)} s (file copy: ${copySeconds.toFixed(1)} s)`, met: wall <= 30 && res.Users >= 1_000_000 && res.Outbox >= 1_000_000 },
    ];
    return { goals };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
