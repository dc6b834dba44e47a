import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable, one } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { getTemplate } from '../../src/app/templates.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { DEFAULT_TEMPLATES } from '../../src/core/templates/defaults.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';
import { parseMail } from './support/mime.ts';

for (const dialect of DIALECTS) {
  describe(`dialin template and dialin mail (${dialect})`, () => {
    let m: MailEnv;
    let file: (name: string, text: string) => string;
    before(async () => {
      m = await mailEnv(dialect);
      await m.startWorker();
      file = (name, text) => {
        const f = path.join(m.t.dataDir, name);
        fs.writeFileSync(f, text);
        return f;
      };
    });
    after(() => m.cleanup());

    it('template set refuses an unknown placeholder with its line and changes nothing; a valid one is saved, shown, previewed and reset', async () => {
      const bad = await runCli(['template', 'set', 'welcome', 'fr', 'html', '--file', file('bad.html', '<p>Bonjour</p>\n<p>{{ displayName }}</p>\n<p>{{ motDePasse }}</p>\n')], m.t.env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /TEMPLATE_INVALID: The html template is not valid: line 3, column \d+: \{\{ motDePasse \}\} is not a known placeholder/);
      assert.equal((await getTemplate(m.t.scope, 'welcome', 'fr', 'html')).Source, 'built-in');

      const set = await runCli(['template', 'set', 'welcome', 'fr', 'subject', '--file', '-'], m.t.env, { input: 'Bienvenue, {{ displayName }} !' });
      assert.equal(set.code, 0, set.stderr);
      const [u] = await addUsers(m.t.scope, 'tpl', 1, { DisplayName: 'Éloïse Martin', Language: 'fr' });
      const [get, preview, list] = await Promise.all([
        runCli(['template', 'get', 'welcome', 'fr', 'subject'], m.t.env),
        runCli(['template', 'preview', 'welcome', 'fr', '--part', 'subject', '--user', u!], m.t.env),
        runCli(['--json', 'template', 'list'], m.t.env),
      ]);
      assert.equal(get.stdout.trim(), 'Bienvenue, {{ displayName }} !');
      assert.equal(preview.stdout.trim(), 'Bienvenue, Éloïse Martin !');
      const rows = JSON.parse(list.stdout) as { Kind: string; Language: string; Part: string; Source: string }[];
      assert.equal(rows.find((r) => r.Kind === 'welcome' && r.Language === 'fr' && r.Part === 'subject')!.Source, 'tenant');
      assert.equal(rows.filter((r) => r.Source === 'tenant').length, 1);

      const n = m.sink.received.length;
      await enable(m.t.scope, [u!]);
      await m.sink.waitFor(n + 1);
      assert.equal(parseMail(m.sink.received.at(-1)!.raw).subject, 'Bienvenue, Éloïse Martin !', 'the worker uses the tenant template');

      const reset = await runCli(['template', 'reset', 'welcome', 'fr'], m.t.env);
      assert.equal(reset.code, 0, reset.stderr);
      assert.equal((await getTemplate(m.t.scope, 'welcome', 'fr', 'subject')).Body, DEFAULT_TEMPLATES.welcome.fr.subject);
    });

    it('template test-send mails a draft with sample data through the worker, never a PIN', async () => {
      const r = await runCli(['--json', 'template', 'test-send', 'welcome', 'en', '--to', 'admin@contoso.com', '--text-file', file('draft.txt', 'Draft for {{ displayName }}: your PIN is {{ pin }}.\n')], m.t.env);
      assert.equal(r.code, 0, r.stderr);
      const { Id } = JSON.parse(r.stdout) as { Id: string };
      await until(() => m.sink.received.some((x) => x.to.includes('admin@contoso.com')), 'the test mail');
      const mail = parseMail(m.sink.received.find((x) => x.to.includes('admin@contoso.com'))!.raw);
      assert.equal(mail.text!.trim(), 'Draft for Alex Example: your PIN is ••••••.');
      assert.equal(mail.subject, DEFAULT_TEMPLATES.welcome.en.subject);
      const row = await m.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('id', '=', Id).executeTakeFirstOrThrow();
      assert.equal(row.pin_enc, null);
      assert.equal(row.user_id, null);
    });

    it('mail list, show and status: status, attempts, last reply, recipient; a failed message retried; a PIN mail not retryable; purge keeps what is not final', async () => {
      const [u] = await addUsers(m.t.scope, 'ops', 1);
      m.sink.faults = { rcpt: (a) => (a.startsWith('bounce') || a === 'ops0@contoso.com' ? { code: 550, message: '5.1.1 Recipient address rejected: User unknown' } : null) };
      await enable(m.t.scope, [u!]);
      const sendInfo = await one(m.t.scope, u!, setDialInUsers(m.t.scope, { sendEmail: true, sendEmailToAddress: 'bounce.home@fabrikam.com' }));
      assert.equal(sendInfo.outcome, 'done');
      await until(async () => (await m.t.ctx.db.kysely.selectFrom('outbox').select('id').where('status', '=', 'failed').execute()).length === 2, 'two failures');
      m.sink.faults = {};

      const [list, status] = await Promise.all([runCli(['--json', 'mail', 'list', '--status', 'failed'], m.t.env), runCli(['--json', 'mail', 'status'], m.t.env)]);
      const failed = JSON.parse(list.stdout) as { Id: string; Kind: string; Status: string; Attempts: number; Recipient: string; LastReply: string; CarriesPin: boolean }[];
      assert.deepEqual(failed.map((f) => [f.Kind, f.Recipient, f.Attempts, f.CarriesPin]).sort(), [['conference_info', 'bounce.home@fabrikam.com', 1, false], ['welcome', 'ops0@contoso.com', 1, false]]);
      assert.ok(failed.every((f) => /^550 5\.1\.1 Recipient address rejected/.test(f.LastReply)));
      assert.equal((JSON.parse(status.stdout) as { Counts: Record<string, number>; Paused: boolean }).Counts.failed, 2);

      const welcome = failed.find((f) => f.Kind === 'welcome')!;
      const info = failed.find((f) => f.Kind === 'conference_info')!;
      const [show, noRetry] = await Promise.all([runCli(['mail', 'show', info.Id], m.t.env), runCli(['mail', 'retry', welcome.Id], m.t.env)]);
      assert.match(show.stdout, /Status\s+: failed/);
      assert.match(show.stdout, /LastReply\s+: 550 5\.1\.1/);
      assert.equal(noRetry.code, 1);
      assert.match(noRetry.stderr, /MAIL_NOT_RETRYABLE: .*carried a PIN.*reset the PIN/);

      const retry = await runCli(['mail', 'retry', info.Id], m.t.env);
      assert.equal(retry.code, 0, retry.stderr);
      await until(async () => (await m.t.ctx.db.kysely.selectFrom('outbox').select('status').where('id', '=', info.Id).executeTakeFirstOrThrow()).status === 'sent', 'the retried mail sent');
      assert.ok(m.sink.received.some((x) => x.to.includes('bounce.home@fabrikam.com')));

      await m.sink.down();
      await enable(m.t.scope, await addUsers(m.t.scope, 'later', 1));
      const purge = await runCli(['mail', 'purge', '--older-than', '0'], m.t.env);
      assert.equal(purge.code, 0, purge.stderr);
      const left = await m.t.ctx.db.kysely.selectFrom('outbox').select('status').execute();
      assert.ok(left.length >= 1 && left.every((r) => r.status === 'queued' || r.status === 'sending'), 'only mail still to be sent is left');
      await m.sink.up();
    });
  });
}
