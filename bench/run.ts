/**
 * `npm run bench -- <scenario> [args]`: runs one benchmark scenario.
 * `npm run bench`: runs them all with the sizes the project's goals speak of, and writes
 * docs/benchmarks.md: the goals with what was measured, then each scenario's figures next to the
 * baselines it measured in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { PG_ADMIN_URL } from '../test/support/dialects.ts';
import { ROOT } from '../test/support/cli.ts';
import { capture, renderReport, tablesOf, type Goal, type ScenarioReport, type Section } from './report.ts';

type Scenario = { run(args: string[]): Promise<void | ScenarioReport> };

const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  import: () => import('./import.ts'),
  bounces: () => import('./bounces.ts'),
  mail: () => import('./mail.ts'),
  'mail-workers': () => import('./mail-workers.ts'),
  verify: () => import('./verify.ts'),
  welcome: () => import('./welcome.ts'),
  keys: () => import('./keys.ts'),
  directory: () => import('./directory.ts'),
  web: () => import('./web.ts'),
  cli: () => import('./cli.ts'),
  scim: () => import('./scim.ts'),
  backup: () => import('./backup.ts'),
  scripts: () => import('./scripts.ts'),
};

/** A cell of the first row of a printed table whose `column` matches, or null. */
function cell(lines: string[], column: string): string | null {
  for (const t of tablesOf(lines)) if (t[0]?.[column] !== undefined) return t[0][column]!;
  return null;
}

/** The goals the issue states for scenarios that do not report them: read from their tables. */
const rssAtAMillion = (lines: string[]): Goal[] => {
  const rss = cell(lines, 'peak RSS');
  const mb = rss ? Number(/([\d,.]+)\s*MB/.exec(rss)?.[1]?.replace(/,/g, '')) : NaN;
  return [{ goal: 'RSS ≤ 300 MB at 1,000,000 users (import and enable, SQLite)', measured: rss ?? 'not printed', met: mb <= 300 }];
};
const welcomeIn60s = (lines: string[]): Goal[] => {
  const c = cell(lines, 'one command over @FILE');
  const s = c ? Number(/\(([\d.]+) s\)/.exec(c)?.[1]) : NaN;
  return [{ goal: '100,000 welcome mails (Set-CsPinSendCAWelcomeMail over a file) ≤ 60 s', measured: c ?? 'not printed', met: s <= 60 }];
};

/** Everything, in order: sections of one or more runs. */
const PLAN: { title: string; runs: { scenario: string; args: string[]; goals?: (lines: string[]) => Goal[] }[] }[] = [
  {
    title: 'import — import and enable users',
    runs: [
      { scenario: 'import', args: ['--users', '100000'] },
      { scenario: 'import', args: ['--users', '1000000', '--dialects', 'sqlite'], goals: rssAtAMillion },
    ],
  },
  { title: 'mail — welcome mails through the delivery worker', runs: [{ scenario: 'mail', args: ['--users', '100000'] }] },
  {
    title: 'mail-workers — several `dialin worker` processes on one PostgreSQL database',
    runs: [
      { scenario: 'mail-workers', args: [] },
      { scenario: 'mail-workers', args: ['--mails', '6000', '--rtt', '10'] },
    ],
  },
  { title: 'welcome — Set-CsPinSendCAWelcomeMail over a file', runs: [{ scenario: 'welcome', args: ['--users', '100000'], goals: welcomeIn60s }] },
  { title: 'verify — the bridge PIN check over HTTP', runs: [{ scenario: 'verify', args: [] }] },
  { title: 'bounces — the bounce listener recording delivery status notifications', runs: [{ scenario: 'bounces', args: [] }] },
  { title: 'directory — LDAP directory sync (slapd), against a CSV import of the same people', runs: [{ scenario: 'directory', args: [] }] },
  { title: 'web — the admin center at 100,000 users and 1,000,000 outbox rows', runs: [{ scenario: 'web', args: [] }] },
  { title: 'keys — re-sealing secrets after a key rotation, while the PIN check answers', runs: [{ scenario: 'keys', args: [] }] },
  { title: 'cli — the start-up of a single CLI call', runs: [{ scenario: 'cli', args: [] }] },
  { title: 'scim — SCIM provisioning over HTTP, against the REST API\'s user create', runs: [{ scenario: 'scim', args: [] }] },
  { title: 'backup — dialin backup of a SQLite deployment', runs: [{ scenario: 'backup', args: [] }] },
  { title: 'scripts — a PowerShell pipeline over 100,000 users in one process, and a single CLI call', runs: [{ scenario: 'scripts', args: [] }] },
];

async function machine(): Promise<string[]> {
  const cpus = os.cpus();
  const sqlite = (new SqliteDatabase(':memory:').prepare('select sqlite_version() as v').get() as { v: string }).v;
  let postgres = 'not reachable';
  try {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    postgres = String((await c.query('show server_version')).rows[0].server_version);
    await c.end();
  } catch {
    // reported as not reachable
  }
  const [l1] = os.loadavg();
  return [
    `Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}.`,
    `Node ${process.version}, SQLite ${sqlite}, PostgreSQL ${postgres} on loopback.`,
    `Load average when the run started: ${l1!.toFixed(1)} (other work on the machine lowers every figure; CPU per mail is the steadier one).`,
  ];
}

async function runAll(): Promise<void> {
  const started = new Date();
  const info = await machine();
  const sections: Section[] = [];
  const goals: Goal[] = [];
  for (const part of PLAN) {
    const lines: string[] = [];
    const errors: string[] = [];
    const t0 = performance.now();
    for (const r of part.runs) {
      const res = await capture(async () => (await SCENARIOS[r.scenario]!()).run(r.args));
      lines.push(...res.lines, '');
      if (res.error) errors.push(res.error);
      // A scenario's own goals; else those read from its table.
      goals.push(...(res.value?.goals?.length ? res.value.goals : (r.goals?.(res.lines) ?? [])));
    }
    sections.push({ title: part.title, command: part.runs.map((r) => [r.scenario, ...r.args].join(' ')).join('` and `npm run bench -- '), seconds: (performance.now() - t0) / 1000, lines, ...(errors.length ? { error: errors.join('\n') } : {}) });
  }
  const file = path.join(ROOT, 'docs/benchmarks.md');
  fs.writeFileSync(file, renderReport({ date: started.toISOString().slice(0, 16).replace('T', ' ') + ' UTC', machine: info, goals, sections }) + '\n');
  console.log(`\nWrote ${path.relative(process.cwd(), file)}.`);
}

const [name, ...args] = process.argv.slice(2);
if (!name) await runAll();
else {
  const load = SCENARIOS[name];
  if (!load) {
    console.error(`Unknown scenario "${name}". Scenarios: ${Object.keys(SCENARIOS).join(', ')}.`);
    process.exit(2);
  }
  await (await load()).run(args);
}
