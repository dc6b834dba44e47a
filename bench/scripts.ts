/**
 * `npm run bench -- scripts [--users N] [--legacy N] [--calls N] [--loop N]`
 *
 * Issue 12's numbers, on SQLite:
 * 1. the pipeline `Get-CsUser | Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin` over
 *    N users (100,000) in ONE `dialin -Command` process (streamed, batched transactions): wall time
 *    and peak RSS; baseline in the same run: the bash loop admins write, one
 *    `dialin Set-CsClientPin -Identity … -Pin …` process per user over --legacy users (200),
 *    extrapolated to N (goal ≥ 100×);
 *    The loop admins write in PowerShell, `Import-Csv | ForEach-Object { Set-CsClientPin -Identity $_.UserUri }`,
 *    one call per user in the same process, over --loop users (5,000): users per second;
 * 2. a single CLI call: the median of --calls (20) runs of
 *    `dialin Get-CsOnlineDialInConferencingUser -Identity x` against `node -e 0` (goal ≤ 2×), and its RSS.
 */
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from '../test/support/cli.ts';
import type { ScenarioReport } from './report.ts';

/** The pipeline: every user without a PIN gets one, streamed through batched transactions. */
const PIPELINE = 'Get-CsUser | Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

interface Step {
  seconds: number;
  rssMb: number | null;
}

/** Runs a command to completion under /usr/bin/time (when there) for its peak RSS; stdout is discarded. */
async function timed(argv: string[], env: Record<string, string>, allowFail = false): Promise<Step> {
  const hasTime = fs.existsSync('/usr/bin/time');
  const rssFile = path.join(os.tmpdir(), `dialin-rss-${crypto.randomUUID()}`);
  const t0 = performance.now();
  const child = hasTime ? spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number];
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0 && !allowFail) throw new Error(`${argv.slice(1).join(' ')} failed (${code}):\n${stderr.slice(-2000)}`);
  const rssMb = hasTime ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : null;
  fs.rmSync(rssFile, { force: true });
  return { seconds, rssMb };
}

const dialin = (args: string[], env: Record<string, string>) => timed([process.execPath, BIN, ...args], env);

async function writeCsv(file: string, prefix: string, n: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write('UserUri,DisplayName,EmailAddress,Language\n');
  for (let i = 0; i < n; i++) if (!out.write(`${prefix}${i}@contoso.com,User ${i},${prefix}${i}@contoso.com,en\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(0)} MB`);

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export async function run(args: string[]): Promise<ScenarioReport> {
  const n = Number(opt(args, 'users', '100000'));
  const legacyN = Number(opt(args, 'legacy', '200'));
  const calls = Number(opt(args, 'calls', '20'));
  const loopN = Math.min(Number(opt(args, 'loop', '5000')), n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-scripts-'));
  const env = { DIALIN_DATA_DIR: path.join(dir, 'data'), DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex') };
  try {
    const csv = path.join(dir, 'users.csv');
    const legacyCsv = path.join(dir, 'legacy.csv');
    await writeCsv(csv, 'user', n);
    await writeCsv(legacyCsv, 'legacy', legacyN);
    await dialin(['users', 'import', csv], env);
    await dialin(['users', 'import', legacyCsv], env);
    // The legacy users get their PINs first, so the pipeline has exactly N users to give one to.
    console.log(`scripts: the bash loop, ${legacyN} processes of dialin Set-CsClientPin…`);
    const loop = path.join(dir, 'loop.sh');
    fs.writeFileSync(loop, `#!/bin/bash\nset -e\nfor i in $(seq 0 ${legacyN - 1}); do\n  "${process.execPath}" "${BIN}" Set-CsClientPin -Identity "legacy$i@contoso.com" -Pin "$((739100 + i))" > /dev/null\ndone\n`, { mode: 0o755 });
    const legacy = await timed(['/bin/bash', loop], env);
    console.log(`scripts: the pipeline over ${n.toLocaleString('en')} users in one process…`);
    const pipeline = await dialin(['-Command', PIPELINE], env);
    console.log(`scripts: the ForEach-Object loop over ${loopN.toLocaleString('en')} users, one call each…`);
    const loopCsv = path.join(dir, 'loop.csv');
    fs.writeFileSync(loopCsv, fs.readFileSync(csv, 'utf8').split('\n').slice(0, loopN + 1).join('\n') + '\n');
    const foreach = await dialin(['-Command', `Import-Csv '${loopCsv}' | ForEach-Object { Set-CsClientPin -Identity $_.UserUri }`], env);

    console.log(`scripts: ${calls} single calls against node -e 0…`);
    const single: Step[] = [];
    const bare: Step[] = [];
    for (let i = 0; i < calls; i++) {
      // Interleaved, so both see the same load.
      bare.push(await timed([process.execPath, '-e', '0'], {}));
      // `x` is no user: the call answers USER_NOT_FOUND, as the measure has it (start, read, answer).
      single.push(await timed([process.execPath, BIN, 'Get-CsOnlineDialInConferencingUser', '-Identity', 'x'], env, true));
    }
    const perUser = legacy.seconds / legacyN;
    const extrapolated = perUser * n;
    const ratio = extrapolated / pipeline.seconds;
    const singleMs = median(single.map((s) => s.seconds)) * 1000;
    const bareMs = median(bare.map((s) => s.seconds)) * 1000;
    const singleRss = median(single.map((s) => s.rssMb ?? NaN));
    console.log(`\nThe pipeline over ${n.toLocaleString('en')} users (SQLite, one process) against the bash loop of one process per user (${legacyN}, extrapolated); goal ≥ 100×, ≤ 60 s, ≤ 300 MB`);
    console.log(table(['pipeline', 'peak RSS', `bash loop (${legacyN} users)`, `loop extrapolated to ${n.toLocaleString('en')}`, 'ratio'], [[`${pipeline.seconds.toFixed(1)} s (${(n / pipeline.seconds).toFixed(0)} users/s)`, mb(pipeline.rssMb), `${legacy.seconds.toFixed(1)} s (${perUser.toFixed(2)} s each)`, `${(extrapolated / 60).toFixed(0)} min`, `${ratio.toFixed(0)}×`]]));
    console.log(`\nThe loop of one call per user in one process (Import-Csv | ForEach-Object { Set-CsClientPin -Identity $_.UserUri }), ${loopN.toLocaleString('en')} users`);
    console.log(table(['ForEach-Object loop', 'peak RSS', 'per user', 'against the bash loop'], [[`${foreach.seconds.toFixed(1)} s (${(loopN / foreach.seconds).toFixed(0)} users/s)`, mb(foreach.rssMb), `${((foreach.seconds / loopN) * 1000).toFixed(1)} ms`, `${(perUser / (foreach.seconds / loopN)).toFixed(0)}×`]]));
    console.log(`\nA single CLI call, median of ${calls}, against node -e 0 in the same run; goal ≤ 2×, RSS ≤ 80 MB`);
    console.log(table(['dialin Get-CsOnlineDialInConferencingUser -Identity x', 'node -e 0', 'ratio', 'RSS (median)'], [[`${singleMs.toFixed(0)} ms`, `${bareMs.toFixed(0)} ms`, `${(singleMs / bareMs).toFixed(1)}×`, mb(singleRss)]]));
    return {
      goals: [
        { goal: `Get-CsUser | Get-CsClientPinInfo | Where-Object … | Set-CsClientPin over ${n.toLocaleString('en')} users ≤ 60 s, RSS ≤ 300 MB (SQLite)`, measured: `${pipeline.seconds.toFixed(1)} s, ${mb(pipeline.rssMb)}`, met: pipeline.seconds <= 60 && (pipeline.rssMb ?? 0) <= 300 },
        { goal: 'the pipeline ≥ 100× a bash loop of one dialin process per user', measured: `${ratio.toFixed(0)}×`, met: ratio >= 100 },
        { goal: 'a single cmdlet call ≤ 2× node -e 0, RSS ≤ 80 MB', measured: `${(singleMs / bareMs).toFixed(1)}×, ${mb(singleRss)}`, met: singleMs / bareMs <= 2 && singleRss <= 80 },
      ],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
