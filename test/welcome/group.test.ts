import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { BIN, ROOT, runCli, type CliResult } from '../support/cli.ts';
import { addUser } from '../../src/app/users.ts';
import { lockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { one, userRow } from '../support/fixtures.ts';
import { perUser } from '../../src/app/bulk.ts';
import { parseMail } from '../mail/support/mime.ts';
import { until } from '../mail/support/mail-env.ts';
import { enabledUsers, selfSigned, SMTP_PASSWORD, SMTP_USER, welcomeEnv, withoutPin, type TestCert, type WelcomeEnv } from './support/welcome-env.ts';

const USERS = 2000;

/** `dialin ARGS`, sent `signal` (SIGINT: Ctrl-C; SIGKILL: a crash) once `when` holds. */
function runUntil(args: string[], env: Record<string, string>, when: () => boolean, signal: NodeJS.Signals = 'SIGINT'): Promise<CliResult & { interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (!interrupted && when()) {
        interrupted = true;
        child.kill(signal);
      }
    }, 5);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, stdout, stderr, interrupted });
    });
  });
}

/** The --report file: outcome and reason by user address. */
function readReport(file: string): Map<string, { outcome: string; code: string; reason: string }> {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(head, 'Identity,User,Outcome,Code,Reason');
  return new Map(
    lines.map((l) => {
      const [identity, , outcome, code, ...reason] = l.split(',');
      return [identity!, { outcome: outcome!, code: code!, reason: reason.join(',').replace(/^"|"$/g, '') }];
    }),
  );
}

for (const dialect of DIALECTS) {
  describe(`Set-CsPinSendCAWelcomeMail over a group (${dialect})`, () => {
    let cert: TestCert;
    let w: WelcomeEnv;
    let passwordFile: string;
    before(async () => {
      cert = selfSigned();
      w = await welcomeEnv(dialect, cert);
      passwordFile = path.join(w.dir, 'smtp-password');
      fs.writeFileSync(passwordFile, `${SMTP_PASSWORD}\n`, { mode: 0o600 });
    });
    after(async () => {
      await w.cleanup();
      cert.remove();
    });

    it(`${USERS} users, Ctrl-C half-way, then the same command again: every user gets exactly one mail, and the reports say what the relay got`, async () => {
      const csv = path.join(w.dir, 'group.csv');
      const lines = ['UserUri,DisplayName,EmailAddress,Language'];
      for (let i = 0; i < USERS; i++) lines.push(`g${i}@contoso.com,Group ${i},g${i}@contoso.com,${i % 3 === 0 ? 'fr' : 'en'}`);
      fs.writeFileSync(csv, `${lines.join('\n')}\n`);
      const imported = await runCli(['users', 'import', csv, '--enable'], w.t.env);
      assert.equal(imported.code, 0, imported.stderr);
      const args = ['Set-CsPinSendCAWelcomeMail', '-UserUri', `@${csv}`, '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-Credential', SMTP_USER, '-UseSsl', '--password-file', passwordFile];
      // A relay that takes a few milliseconds per message, so that Ctrl-C lands mid-run.
      w.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? 3 : 0) };
      const start = w.sink.received.length;
      const first = await runUntil([...args, '--report', path.join(w.dir, 'first.csv')], w.t.env, () => w.sink.received.length - start >= USERS / 2);
      assert.ok(first.interrupted);
      assert.equal(first.code, 1, first.stderr);
      assert.match(first.stderr, /WARNING: Interrupted: no more users are started/);
      assert.match(first.stderr, /dialin: RUN_INTERRUPTED: Interrupted after \d+ user\(s\); run the same command again/);
      const firstReport = readReport(path.join(w.dir, 'first.csv'));
      const sentFirst = [...firstReport].filter(([, r]) => r.outcome === 'sent').map(([a]) => a);
      assert.deepEqual(new Set(sentFirst), new Set(w.sink.received.slice(start).map((r) => r.to[0]!)), 'the first report lists as sent exactly what the relay received');
      assert.ok(sentFirst.length < USERS, `interrupted before the end (${sentFirst.length} sent)`);
      for (const [, r] of firstReport) assert.ok(['sent', 'queued'].includes(r.outcome), JSON.stringify(r));

      w.sink.faults = {};
      const second = await runCli([...args, '--report', path.join(w.dir, 'second.csv')], w.t.env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`sent\\s+${USERS}\\s`));
      const got = w.sink.received.slice(start);
      const perUser = new Map<string, number>();
      for (const r of got) perUser.set(r.to[0]!, (perUser.get(r.to[0]!) ?? 0) + 1);
      assert.equal(perUser.size, USERS, 'every user got a mail');
      assert.deepEqual([...new Set(perUser.values())], [1], 'and only one');
      const secondReport = readReport(path.join(w.dir, 'second.csv'));
      assert.equal(secondReport.size, USERS);
      for (const [address, r] of secondReport) {
        assert.equal(r.outcome, 'sent', address);
        assert.equal(/earlier run/.test(r.reason), sentFirst.includes(address), `${address}: ${r.reason}`);
      }
      // The PIN each mail carries is the PIN the user has (a sample: the check is one transaction each).
      for (const r of got.filter((_, i) => i % 97 === 0)) {
        const mail = parseMail(r.raw);
        const pin = /PIN[^:\n]*:\s*(\d+)/.exec(mail.text!)![1]!;
        const u = await userRow(w.t.scope, `sip:${r.to[0]}`);
        assert.equal((await verifyLeaderPin(w.t.scope, u.conference_id!, pin)).IsLeader, true, r.to[0]);
        assert.equal(mail.subject, u.language === 'fr' ? 'Bienvenue dans les conférences rendez-vous' : 'Welcome to Dial-In Conferencing');
      }
    });

    it('the command killed mid-run (a crash): no user is left with a PIN nobody was told, dialin worker sends what the command had not', async () => {
      const users = await enabledUsers(w, 'crash', 300);
      const list = path.join(w.dir, 'crash.txt');
      fs.writeFileSync(list, users.join('\n'));
      w.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? 5 : 0) };
      const start = w.sink.received.length;
      const args = ['Set-CsPinSendCAWelcomeMail', '-UserUri', `@${list}`, '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-Credential', SMTP_USER, '-UseSsl', '--password-file', passwordFile];
      const killed = await runUntil(args, w.t.env, () => w.sink.received.length - start >= 50, 'SIGKILL');
      assert.ok(killed.interrupted && killed.code !== 0);
      w.sink.faults = {};
      // The worker takes the rows the command held or had claimed once their hold or lease runs out.
      const worker = await w.startWorker();
      try {
        await until(async () => (await w.t.ctx.db.kysely.selectFrom('outbox').select('status').where('kind', '=', 'welcome').where('recipient', 'like', 'crash%').execute()).every((r) => r.status === 'sent'), 'every welcome of the killed run sent', 30_000);
      } finally {
        await worker.stop();
      }
      const got = w.sink.received.slice(start);
      const written = await w.t.ctx.db.kysely.selectFrom('outbox').select('recipient').where('kind', '=', 'welcome').where('recipient', 'like', 'crash%').execute();
      assert.deepEqual(new Set(got.map((r) => r.to[0])), new Set(written.map((r) => r.recipient)), 'every user given a new PIN got a mail');
      // A message the relay had taken when the command died may come twice (at least once), always with the PIN that works.
      assert.ok(got.length - written.length <= 16, `${got.length - written.length} duplicates`);
      for (const r of got.filter((_, i) => i % 10 === 0)) {
        const pin = /PIN[^:\n]*:\s*(\d+)/.exec(parseMail(r.raw).text!)![1]!;
        assert.equal((await verifyLeaderPin(w.t.scope, (await userRow(w.t.scope, `sip:${r.to[0]}`)).conference_id!, pin)).IsLeader, true, r.to[0]);
      }
    });

    it('a mixed group: sent, PIN kept without -Force, not found, not enabled, locked, listed twice; a summary table and a report line each', async () => {
      const [fresh, keeps, locked] = await enabledUsers(w, 'mix', 3);
      await withoutPin(w, fresh!);
      await one(w.t.scope, locked!, perUser(async (trx, u) => (await lockPin(trx, w.t.scope, u), { outcome: 'done' })));
      await withoutPin(w, locked!);
      await addUser(w.t.scope, { UserUri: 'notenabled@contoso.com', DisplayName: 'Not Enabled' });
      const list = path.join(w.dir, 'mix.txt');
      fs.writeFileSync(list, [fresh, keeps, 'ghost@contoso.com', 'notenabled@contoso.com', locked, fresh].join('\n'));
      const n = w.sink.received.length;
      const report = path.join(w.dir, 'mix.csv');
      const r = await w.welcome(['-UserUri', `@${list}`, '-From', 'it@contoso.com', '-SmtpServer', w.server, '-Credential', SMTP_USER, '-UseSsl', '--password-file', passwordFile, '--report', report]);
      assert.equal(r.code, 2, `three users were skipped: ${r.stderr}`);
      assert.match(r.stdout, /^Outcome\s+Users\s+Meaning/m);
      assert.match(r.stdout, /^sent\s+1\s/m);
      assert.match(r.stdout, /^unchanged\s+2\s/m);
      assert.match(r.stdout, /^skipped\s+3\s/m);
      assert.match(r.stderr, /6 user\(s\): 1 sent, 2 unchanged, 3 skipped\./);
      assert.deepEqual(w.sink.received.slice(n).map((x) => x.to), [[fresh]]);
      const lines = fs.readFileSync(report, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(',').slice(0, 4).join(','));
      assert.deepEqual(lines.sort(), [
        `${fresh},sip:${fresh},sent,`,
        `${fresh},sip:${fresh},unchanged,`,
        `${keeps},sip:${keeps},unchanged,`,
        `${locked},sip:${locked},skipped,PIN_LOCKED`,
        'ghost@contoso.com,,skipped,USER_NOT_FOUND',
        'notenabled@contoso.com,sip:notenabled@contoso.com,skipped,USER_NOT_ENABLED',
      ].sort());
      assert.match(fs.readFileSync(report, 'utf8'), new RegExp(`^${keeps},sip:${keeps},unchanged,,PIN already set; use -Force to reset$`, 'm'));
    });

    it('a relay that refuses to send (login required) stops the run after the first batch; the same command with the login finishes it', async () => {
      const users = await enabledUsers(w, 'stop', 400);
      const list = path.join(w.dir, 'stop.txt');
      fs.writeFileSync(list, users.join('\n'));
      const before = new Map(await Promise.all(users.map(async (u) => [u, (await userRow(w.t.scope, `sip:${u}`)).pin_hash] as const)));
      // Without -Credential the relay check passes (no login is tried) and the first messages are refused.
      const args = ['-UserUri', `@${list}`, '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-UseSsl'];
      const r = await w.welcome(args);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /dialin: SMTP_UNAVAILABLE: The relay refused to send \(the relay refused the login: 530 .*\); the run stopped after \d+ user\(s\)/);
      const changed = [];
      for (const u of users) if ((await userRow(w.t.scope, `sip:${u}`)).pin_hash !== before.get(u)) changed.push(u);
      assert.ok(changed.length > 0 && changed.length <= 250, `at most one batch got new PINs (${changed.length})`);
      const n = w.sink.received.length;
      const again = await w.welcome([...args, '-Credential', SMTP_USER, '--password-file', passwordFile]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(new Set(w.sink.received.slice(n).map((x) => x.to[0])).size, users.length);
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`Set-CsClientPin over a group (${dialect})`, () => {
    let cert: TestCert;
    let w: WelcomeEnv;
    before(async () => {
      cert = selfSigned();
      w = await welcomeEnv(dialect, cert);
    });
    after(async () => {
      await w.cleanup();
      cert.remove();
    });

    it('@FILE: a PIN each, printed once, a report without PINs, and -Pin refused for a list', async () => {
      const users = await enabledUsers(w, 'cp', 30);
      const csv = path.join(w.dir, 'cp.csv');
      fs.writeFileSync(csv, `UserUri,Department\n${users.map((u) => `${u},Sales`).join('\n')}\nghost@contoso.com,Sales\n`);
      const report = path.join(w.dir, 'cp-report.csv');
      const r = await runCli(['Set-CsClientPin', '-Identity', `@${csv}`, '--report', report], w.t.env);
      assert.equal(r.code, 2, `ghost was skipped: ${r.stderr}`);
      assert.match(r.stderr, /31 user\(s\): 30 given a PIN, 0 unchanged, 1 skipped\./);
      const printed = new Map([...r.stdout.matchAll(/^(sip:cp\d+@contoso\.com)\s+(\d+)$/gm)].map((m) => [m[1]!, m[2]!]));
      assert.equal(printed.size, 30);
      for (const [sip, pin] of [...printed].slice(0, 5)) assert.equal((await verifyLeaderPin(w.t.scope, (await userRow(w.t.scope, sip)).conference_id!, pin)).IsLeader, true);
      const text = fs.readFileSync(report, 'utf8');
      assert.equal(text.trimEnd().split('\n').length, 32);
      assert.match(text, /^ghost@contoso\.com,,skipped,USER_NOT_FOUND,/m);
      for (const pin of printed.values()) assert.ok(!text.includes(pin), 'no PIN in the report');
      const refused = await runCli(['Set-CsClientPin', '-Identity', `@${csv}`, '-Pin', '13572468'], w.t.env);
      assert.match(refused.stderr, /^dialin: CONFLICTING_PARAMETERS: -Pin cannot be given with a list of users/m);
      assert.equal(w.sink.received.length, 0, 'Set-CsClientPin sends no mail');
    });
  });
}
