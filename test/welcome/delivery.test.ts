import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { allCells, dumpDb } from '../support/db-dump.ts';
import { expectRefused } from '../support/cli-expect.ts';
import { runCli } from '../support/cli.ts';
import { userRow } from '../support/fixtures.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { TEMPLATE_VARIABLES } from '../../src/core/templates/variables.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';
import { parseMail } from '../mail/support/mime.ts';
import { until } from '../mail/support/mail-env.ts';
import { enabledUsers, selfSigned, SMTP_PASSWORD, SMTP_USER, welcomeEnv, type TestCert, type WelcomeEnv } from './support/welcome-env.ts';

const WELCOME = 'Set-CsPinSendCAWelcomeMail';

async function welcomeRows(w: WelcomeEnv, address: string): Promise<OutboxTable[]> {
  const u = await userRow(w.t.scope, `sip:${address}`);
  return w.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('user_id', '=', u.id).where('kind', '=', 'welcome').orderBy('created_at').orderBy('id').execute();
}

for (const dialect of DIALECTS) {
  describe(`${WELCOME}: delivery outcomes and secrets (${dialect})`, () => {
    let cert: TestCert;
    let w: WelcomeEnv;
    let passwordFile: string;
    let send: (users: string, more?: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
    before(async () => {
      cert = selfSigned();
      w = await welcomeEnv(dialect, cert);
      passwordFile = path.join(w.dir, 'smtp-password');
      fs.writeFileSync(passwordFile, `${SMTP_PASSWORD}\n`, { mode: 0o600 });
      send = (users, more = []) => w.welcome(['-UserUri', users, '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-Credential', SMTP_USER, '-UseSsl', '--password-file', passwordFile, ...more]);
    });
    after(async () => {
      await w.cleanup();
      cert.remove();
    });

    it('the SMTP password reaches the relay and nothing else: not the output, not the database once the mail is sent', async () => {
      const [sam] = await enabledUsers(w, 'sam', 1);
      const r = await send(sam!);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(w.sink.received.at(-1)!.authenticated, true);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(SMTP_PASSWORD));
      const [row] = await welcomeRows(w, sam!);
      assert.equal(row!.status, 'sent');
      assert.equal((JSON.parse(row!.payload) as { options: { relay: Record<string, unknown> } }).options.relay.passwordSealed, undefined, 'the sealed password is wiped once sent');
      for (const cell of await allCells(w.t.ctx.db)) assert.ok(!cell.value.includes(SMTP_PASSWORD), `${cell.table}.${cell.column} holds the password`);
      const pin = /PIN[^:\n]*:\s*(\d+)/.exec(parseMail(w.sink.received.at(-1)!.raw).text!)![1]!;
      for (const cell of await allCells(w.t.ctx.db)) assert.ok(!cell.value.includes(pin), `${cell.table}.${cell.column} holds the PIN`);
    });

    it('-Credential in a script without DIALIN_SMTP_PASSWORD or --password-file: refused, nothing changed (never a password on the command line)', async () => {
      await expectRefused(w.t, [WELCOME, '-UserUri', 'sam0@contoso.com', '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-Credential', SMTP_USER], 'MISSING_ARGUMENT', /needs a password: .*DIALIN_SMTP_PASSWORD or --password-file FILE/);
      const r = await w.welcome(['-UserUri', 'sam0@contoso.com', '-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, '-Credential', SMTP_USER], { DIALIN_SMTP_PASSWORD: SMTP_PASSWORD });
      assert.equal(r.code, 0, r.stderr);
    });

    it('550 for the recipient: the user is reported failed with the server reply and the command fails; the same command again issues a new PIN and sends it', async () => {
      const [gone] = await enabledUsers(w, 'gone', 1);
      w.sink.faults = { rcpt: (a) => (a === gone ? { code: 550, message: '5.1.1 <gone0@contoso.com>: Recipient address rejected: User unknown' } : null) };
      const r = await send(gone!);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /Mail\s+: failed\nReply\s+: the relay refused the message: 550 5\.1\.1 <gone0@contoso\.com>: Recipient address rejected: User unknown/);
      assert.match(r.stderr, /MAIL_NOT_DELIVERED: 1 welcome mail\(s\) not delivered: 1 refused by the relay/);
      const [failed] = await welcomeRows(w, gone!);
      assert.deepEqual([failed!.status, failed!.pin_enc], ['failed', null]);
      w.sink.faults = {};
      const again = await send(gone!);
      assert.equal(again.code, 0, again.stderr);
      const rows = await welcomeRows(w, gone!);
      assert.deepEqual(rows.map((x) => x.status), ['failed', 'sent']);
      const pin = /PIN[^:\n]*:\s*(\d+)/.exec(parseMail(w.sink.received.at(-1)!.raw).text!)![1]!;
      assert.equal((await verifyLeaderPin(w.t.scope, (await userRow(w.t.scope, `sip:${gone}`)).conference_id!, pin)).IsLeader, true);
    });

    it('451: reported as left to the worker, which delivers it later through the same relay, then wipes the PIN and the sealed password', async () => {
      const [grey] = await enabledUsers(w, 'grey', 1);
      let once = true;
      w.sink.faults = { rcpt: (a) => (a === grey && once ? ((once = false), { code: 451, message: '4.7.1 Greylisted, try again later' }) : null) };
      const r = await send(grey!);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /Mail\s+: retrying\nReply\s+: 451 4\.7\.1 Greylisted, try again later; dialin worker retries it/);
      assert.match(r.stderr, /1 left to dialin worker/);
      const [queued] = await welcomeRows(w, grey!);
      assert.equal(queued!.status, 'queued');
      assert.ok(queued!.pin_enc, 'the PIN waits sealed');
      assert.ok(!queued!.payload.includes(SMTP_PASSWORD));
      const worker = await w.startWorker();
      try {
        await until(async () => (await welcomeRows(w, grey!))[0]!.status === 'sent', 'the worker delivers the retry');
      } finally {
        await worker.stop();
      }
      const [sent] = await welcomeRows(w, grey!);
      assert.equal(sent!.pin_enc, null);
      assert.ok(!sent!.payload.includes('passwordSealed'));
      const last = w.sink.received.at(-1)!;
      assert.deepEqual([last.to, last.authenticated], [[grey], true]);
      w.sink.faults = {};
    });

    it('a mail left to the worker and then superseded (the PIN set again) loses its sealed password with its PIN', async () => {
      const [late] = await enabledUsers(w, 'late', 1);
      w.sink.faults = { rcpt: (a) => (a === late ? { code: 451, message: '4.3.2 Try again later' } : null) };
      const r = await send(late!);
      assert.equal(r.code, 3, r.stderr);
      w.sink.faults = {};
      const [queued] = await welcomeRows(w, late!);
      assert.ok(queued!.payload.includes('passwordSealed'), 'kept sealed for the retries');
      const reset = await runCli(['Set-CsClientPin', '-Identity', late!], w.t.env);
      assert.equal(reset.code, 0, reset.stderr);
      const [superseded] = await welcomeRows(w, late!);
      assert.deepEqual([superseded!.status, superseded!.pin_enc], ['superseded', null]);
      assert.ok(!superseded!.payload.includes('passwordSealed'));
      assert.equal((JSON.parse(superseded!.payload) as { options: { relay: { user: string } } }).options.relay.user, SMTP_USER, 'the rest of the payload is intact');
    });

    it('--dry-run shows who would get a new PIN and a mail, changes nothing and does not need the relay', async () => {
      const users = await enabledUsers(w, 'dry', 2);
      const list = path.join(w.dir, 'dry.txt');
      fs.writeFileSync(list, `${users.join('\n')}\nnobody@contoso.com\n`);
      const before = await dumpDb(w.t.ctx.db);
      const n = w.sink.received.length;
      const r = await w.welcome(['-UserUri', `@${list}`, '-From', 'it@contoso.com', '-Force', '-SmtpServer', '127.0.0.1:1', '-Credential', SMTP_USER, '--dry-run', '--report', path.join(w.dir, 'dry.csv')]);
      assert.equal(r.code, 0, `a dry run changes nothing and exits 0: ${r.stderr}`);
      assert.match(r.stdout, /sip:dry0@contoso\.com\s+True\s+new PIN and welcome mail to dry0@contoso\.com/);
      assert.match(r.stdout, /nobody@contoso\.com\s+False\s+No user matches/);
      assert.match(r.stderr, /3 user\(s\): 2 would send, 1 skipped\.\nDry run: nothing changed\./);
      assert.deepEqual(await dumpDb(w.t.ctx.db), before);
      assert.equal(w.sink.received.length, n);
      const report = fs.readFileSync(path.join(w.dir, 'dry.csv'), 'utf8');
      assert.match(report, /^dry1@contoso\.com,sip:dry1@contoso\.com,would send,,new PIN and welcome mail to dry1@contoso\.com$/m);
      await expectRefused(w.t, ['Set-CsClientPin', '-Identity', users[0]!, '--dry-run'], 'PARAMETER_NOT_SUPPORTED', /Set-CsClientPin does not support --dry-run/);
    });

    it('`dialin help Set-CsPinSendCAWelcomeMail` lists every parameter and the template placeholders', async () => {
      const r = await runCli(['help', WELCOME], w.t.env);
      assert.equal(r.code, 0, r.stderr);
      for (const p of ['UserUri', 'From', 'Subject', 'UserEmailAddress', 'Cc', 'Bcc', 'TemplatePath', 'SmtpServer', 'BodyAsPlainText', 'UseSsl', 'Pin', 'Force', 'Credential']) assert.match(r.stdout, new RegExp(`^  -${p} `, 'm'));
      for (const v of Object.keys(TEMPLATE_VARIABLES)) assert.match(r.stdout, new RegExp(`\\{\\{ ${v} \\}\\}`));
      assert.match(r.stdout, /\[--dry-run\] \[--password-file FILE\]/);
    });
  });
}
