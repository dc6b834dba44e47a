/**
 * `npm run bench -- directory [--entries N] [--licensed L] [--changed C] [--dialects sqlite,postgres]`
 *
 * The directory as the source of people (issue 11): a private slapd loaded with N people by
 * slapadd (default 100,000), L of them in the licence group (default 80,000), then each step as
 * the real `dialin directory sync` command in its own process (wall time and peak RSS): the first
 * sync (creates N users, enables L, queues L welcome mails), an incremental sync after C entries
 * changed (default 1,000), another after C more changed, and a sync with nothing changed. The baseline in the same run: the
 * same people from a CSV file, `dialin users import` then `Enable-CsOnlineDialInConferencingUser
 * -Identity @file` for the L licensed ones.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { createPgDatabase } from '../test/support/dialects.ts';
import { LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, groupLdif, personLdif, startSlapd } from '../test/support/slapd.ts';
import { timed, type Step } from './import.ts';
import type { Goal, ScenarioReport } from './report.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const step = (s: Step) => `${s.seconds.toFixed(1)} s, ${s.rssMb?.toFixed(0) ?? 'n/a'} MB`;

export async function run(args: string[]): Promise<ScenarioReport> {
  const n = Number(opt(args, 'entries', '100000'));
  const licensed = Number(opt(args, 'licensed', String(Math.round(n * 0.8))));
  const changed = Number(opt(args, 'changed', String(Math.min(1000, n))));
  const dialects = opt(args, 'dialects', 'sqlite,postgres').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-directory-'));
  const uid = (i: number) => `uid=user${i},${PEOPLE}`;
  console.log(`directory: ${fmt(n)} people, ${fmt(licensed)} in the licence group, loading slapd…`);
  const people: string[] = [];
  for (let i = 0; i < n; i++) people.push(personLdif({ uid: `user${i}`, cn: `User ${i}`, mail: `user${i}@contoso.com`, lang: i % 3 ? 'en-US' : 'fr-FR', phone: `+1 425 ${String(5000000 + i).slice(-7)}`, title: 'Engineer' }));
  const ldap = await startSlapd(`${people.join('\n')}\n${groupLdif('dialin', Array.from({ length: licensed }, (_, i) => uid(i)))}`, { maxSizeMb: Math.max(100, Math.ceil(n / 100_000) * 1024) });
  people.length = 0;
  // The baseline's files: the same people, and the licensed ones as an @file list.
  const csv = path.join(dir, 'users.csv');
  fs.writeFileSync(csv, `UserUri,DisplayName,EmailAddress,Language,Phone\n${Array.from({ length: n }, (_, i) => `sip:user${i}@contoso.com,User ${i},user${i}@contoso.com,${i % 3 ? 'en-US' : 'fr-FR'},+1425${String(5000000 + i).slice(-7)}`).join('\n')}\n`);
  const list = path.join(dir, 'licensed.txt');
  fs.writeFileSync(list, `${Array.from({ length: licensed }, (_, i) => `sip:user${i}@contoso.com`).join('\n')}\n`);
  const setup = path.join(dir, 'setup.ps1');
  fs.writeFileSync(setup, ['New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"', 'Register-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -BridgeName "Conference Bridge" -City Redmond', 'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultServiceNumber +14255551234'].join('\n'));

  const rows: string[][] = [];
  const goals: Goal[] = [];
  const admin = await ldap.admin();
  try {
    let round = 0;
    for (const dialect of dialects) {
      const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
      const env: Record<string, string> = { DIALIN_DATA_DIR: path.join(dir, dialect), DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'), DIALIN_LOG_LEVEL: 'warn', ...(pgdb ? { DATABASE_URL: pgdb.url } : {}) };
      const pgBase = dialect === 'postgres' ? await createPgDatabase() : null;
      const envBase: Record<string, string> = { ...env, DIALIN_DATA_DIR: path.join(dir, `${dialect}-csv`), ...(pgBase ? { DATABASE_URL: pgBase.url } : {}) };
      try {
        await timed(['run', setup], env);
        await timed(['directory', 'add', 'corp', '--url', ldap.url, '--base', SUFFIX, '--bind-dn', SYNC_DN, '--password-file', ldap.passwordFile, '--licence-group', LICENCE_GROUP, '--ca-file', ldap.caFile], env);
        console.log(`${dialect}: first sync…`);
        const first = await timed(['directory', 'sync', 'corp'], env);
        // C entries change (a new title each round, so every round changes them again); the
        // directory's modifyTimestamp has one-second steps: wait for the next second first.
        const change = async () => {
          round++;
          await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
          for (let i = 0; i < changed; i++) await admin.modify(uid(i), new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: [`Engineer ${round}`] }) }));
          await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
        };
        await change();
        console.log(`${dialect}: incremental sync of ${fmt(changed)} changed entries…`);
        // The first incremental pass also reads again every entry stamped in the second of the first
        // pass's newest change (slapadd stamps most of the load with one second); the second one does not.
        const incremental = await timed(['directory', 'sync', 'corp'], env);
        await change();
        const again = await timed(['directory', 'sync', 'corp'], env);
        const nothing = await timed(['directory', 'sync', 'corp'], env);
        console.log(`${dialect}: baseline from CSV…`);
        await timed(['run', setup], envBase);
        const imp = await timed(['users', 'import', csv], envBase);
        const en = await timed(['Enable-CsOnlineDialInConferencingUser', '-Identity', `@${list}`], envBase);
        const peak = Math.max(first.rssMb ?? 0, incremental.rssMb ?? 0, again.rssMb ?? 0, nothing.rssMb ?? 0);
        rows.push([dialect, step(first), step(incremental), step(again), step(nothing), `${(imp.seconds + en.seconds).toFixed(1)} s (${step(imp)} + ${step(en)})`, `${peak.toFixed(0)} MB`]);
        const firstGoal = dialect === 'sqlite' ? 60 : 120;
        goals.push(
          { goal: `directory: first sync of ${fmt(n)} entries (${fmt(licensed)} licensed) ≤ ${firstGoal} s on ${dialect}`, measured: `${first.seconds.toFixed(1)} s`, met: first.seconds <= firstGoal },
          { goal: `directory: ${fmt(changed)} changed entries synced incrementally ≤ 5 s on ${dialect} (the first incremental pass after the load)`, measured: `${incremental.seconds.toFixed(1)} s`, met: incremental.seconds <= 5 },
          { goal: `directory: ${fmt(changed)} changed entries synced incrementally ≤ 5 s on ${dialect} (a later pass)`, measured: `${again.seconds.toFixed(1)} s`, met: again.seconds <= 5 },
          { goal: `directory: a sync with nothing changed ≤ 2 s on ${dialect}`, measured: `${nothing.seconds.toFixed(1)} s`, met: nothing.seconds <= 2 },
          { goal: `directory: RSS ≤ 300 MB throughout on ${dialect}`, measured: `${peak.toFixed(0)} MB`, met: peak > 0 && peak <= 300 },
        );
      } finally {
        await pgdb?.drop();
        await pgBase?.drop();
      }
    }
  } finally {
    await admin.unbind().catch(() => {});
    await ldap.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\ndirectory sync of ${fmt(n)} entries, ${fmt(licensed)} licensed, ${fmt(changed)} changed (wall time with process start, peak RSS)`);
  const head = ['dialect', 'first sync', `incremental (${fmt(changed)} changed)`, `again (${fmt(changed)} changed)`, 'nothing changed', 'baseline: users import + Enable @file', 'peak RSS (syncs)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  return { goals };
}
