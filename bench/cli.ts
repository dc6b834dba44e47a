/**
 * `npm run bench -- cli [--runs N]`
 *
 * The start-up of a single CLI call (issue 12, item 5): `dialin Get-CsOnlineDialInConferencingUser
 * -Identity …` for an enabled user on SQLite, through bin/dialin.js running the build in dist/
 * (rebuilt first), against `node -e 0` in the same run: N runs of each (default 20), interleaved so
 * a change in the machine's load falls on both. Prints the median wall time, CPU time and the
 * largest RSS of each, and the same call through the sources (tsx, what every call paid before the
 * build) as the older baseline (5 runs). Goals: median ≤ 2 × `node -e 0`, RSS ≤ 80 MB.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from '../test/support/dialects.ts';
import { ROOT } from '../test/support/cli.ts';
import { addUsers, bridgeWithNumbers, enable } from '../test/support/fixtures.ts';
import type { Goal, ScenarioReport } from './report.ts';

interface Run {
  wallMs: number;
  cpuMs: number | null;
  rssMb: number | null;
  code: number;
}

// GNU time reports a child's CPU time and peak RSS; without it only the wall time is measured.
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function once(args: string[], env: Record<string, string>): Promise<Run> {
  const stats = path.join(os.tmpdir(), `dialin-bench-cli-${process.pid}.time`);
  const [cmd, argv] = GNU_TIME ? [GNU_TIME, ['-o', stats, '-f', '%U %S %M', process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      let cpuMs: number | null = null;
      let rssMb: number | null = null;
      if (GNU_TIME) {
        const m = /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(fs.readFileSync(stats, 'utf8'));
        if (m) {
          cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
          rssMb = Number(m[3]) / 1024;
        }
        fs.rmSync(stats, { force: true });
      }
      resolve({ wallMs, cpuMs, rssMb, code: code ?? -1 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (runs: Run[]) => {
  const cpu = runs.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  const rss = runs.map((r) => r.rssMb).filter((x): x is number => x !== null);
  return { wall: median(runs.map((r) => r.wallMs)), cpu: cpu.length ? median(cpu) : null, rss: rss.length ? Math.max(...rss) : null };
};

export async function run(args: string[]): Promise<ScenarioReport> {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Math.max(1, Number(args[i + 1])) : 20;
  const b0 = performance.now();
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
  const buildMs = performance.now() - b0;

  const t = await testEnv('sqlite');
  try {
    await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
    const [sip] = await addUsers(t.scope, 'ken', 1);
    await enable(t.scope, [sip!]);
    const cmdlet = [path.join(ROOT, 'bin/dialin.js'), 'Get-CsOnlineDialInConferencingUser', '-Identity', sip!];
    // The sources through tsx, as bin/dialin.js ran every call before the build.
    const fromSource = ['--import', 'tsx', '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(path.join(ROOT, 'src/adapters/cli/main.ts'))}); process.exitCode = await main(process.argv.slice(1));`, 'Get-CsOnlineDialInConferencingUser', '-Identity', sip!];

    const first = await once(cmdlet, t.env);
    if (first.code !== 0) throw new Error(`the cmdlet exited with ${first.code}`);
    const node0: Run[] = [];
    const cli: Run[] = [];
    for (let k = 0; k < runs; k++) {
      node0.push(await once(['-e', '0'], t.env));
      cli.push(await once(cmdlet, t.env));
    }
    const src: Run[] = [];
    for (let k = 0; k < 5; k++) src.push(await once(fromSource, t.env));

    const n = fmt(node0);
    const c = fmt(cli);
    const s = fmt(src);
    const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(0)} ms`);
    const mb = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} MB`);
    console.log(`Build (scripts/build.mjs): ${(buildMs / 1000).toFixed(1)} s. Load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs.`);
    console.log('');
    console.log('| command | runs | median wall | × node -e 0 | median CPU | × node -e 0 (CPU) | peak RSS |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| \`node -e 0\` (baseline) | ${runs} | ${ms(n.wall)} | 1.00 | ${ms(n.cpu)} | 1.00 | ${mb(n.rss)} |`);
    const row = (name: string, r: ReturnType<typeof fmt>, count: number) =>
      console.log(`| ${name} | ${count} | ${ms(r.wall)} | ${(r.wall / n.wall).toFixed(2)} | ${ms(r.cpu)} | ${r.cpu !== null && n.cpu ? (r.cpu / n.cpu).toFixed(2) : 'n/a'} | ${mb(r.rss)} |`);
    row('`dialin Get-CsOnlineDialInConferencingUser -Identity …` (dist/)', c, runs);
    row('the same through the sources (tsx, before the build)', s, 5);
    const goals: Goal[] = [
      { goal: 'A single CLI call ≤ 2 × the wall time of `node -e 0` (median of 20, same run)', measured: `${ms(c.wall)} vs ${ms(n.wall)} (${(c.wall / n.wall).toFixed(2)}×)`, met: c.wall <= 2 * n.wall },
      { goal: 'A single CLI call: RSS ≤ 80 MB', measured: mb(c.rss), met: c.rss !== null && c.rss <= 80 },
    ];
    return { goals };
  } finally {
    await t.cleanup();
  }
}
