import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS } from '../support/dialects.ts';
import { addUser } from '../../src/app/users.ts';
import { enable, one } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { appFor, signIn } from '../http/harness.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { setTemplate } from '../../src/app/templates.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';

/**
 * Issue 10, defect 5: a tenant template that passed the save-time check on the sample data hits
 * the render memory limit for one user's data. That message fails at once, with the reason, and
 * is not retried for days; the others are sent. Shown in `dialin mail list` and the admin center.
 */
for (const dialect of DIALECTS) {
  describe(`a template that cannot render for one user (${dialect})`, () => {
    let m: MailEnv;
    let app: FastifyInstance;
    before(async () => {
      m = await mailEnv(dialect);
      app = await appFor(m.t);
      await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: false });
    });
    after(async () => {
      await app.close();
      await m.cleanup();
    });

    it('fails that message at its first attempt with the reason; the others are sent', async () => {
      // Each "e" of the display name becomes 20,000 characters: 2 in the sample name ("Alex
      // Example"), 60 in Eeee's; the memory limit is 1,000,000 per render.
      const source = `Hello {{ displayName | replace: "e", "${'-'.repeat(20_000)}" | truncate: 40 }}, your conference ID is {{ conferenceId }}.`;
      await setTemplate(m.t.scope, 'conference_info', 'en', 'text', source);
      await addUser(m.t.scope, { UserUri: 'plain@contoso.com', DisplayName: 'Plain User' });
      await addUser(m.t.scope, { UserUri: 'eeee@contoso.com', DisplayName: `E${'e'.repeat(60)}` });
      await enable(m.t.scope, ['sip:plain@contoso.com', 'sip:eeee@contoso.com']);
      await m.startWorker();
      for (const who of ['sip:plain@contoso.com', 'sip:eeee@contoso.com']) await one(m.t.scope, who, setDialInUsers(m.t.scope, { sendEmail: true }));

      const k = m.t.ctx.db.kysely;
      const rowOf = (to: string) => k.selectFrom('outbox').select(['status', 'attempts', 'last_error', 'id']).where('recipient', '=', to).where('kind', '=', 'conference_info').executeTakeFirstOrThrow();
      await until(async () => (await rowOf('eeee@contoso.com')).status !== 'queued' && (await rowOf('eeee@contoso.com')).status !== 'sending' && (await rowOf('plain@contoso.com')).status === 'sent', 'both messages to be handled');
      const failed = await rowOf('eeee@contoso.com');
      assert.equal(failed.status, 'failed', 'failed, not queued for another try');
      assert.equal(failed.attempts, 1, 'after exactly one attempt');
      assert.match(failed.last_error ?? '', /^The text template takes too much memory to render \(line 1, column \d+: memory alloc limit exceeded\)\. \(TEMPLATE_LIMIT_EXCEEDED: this mail cannot be rendered; it is not tried again\)$/);
      assert.equal(m.sink.received.filter((r) => r.to.includes('eeee@contoso.com')).length, 0, 'nothing sent to that user');
      assert.equal(m.sink.received.filter((r) => r.to.includes('plain@contoso.com')).length, 1, 'the other user got the mail');

      // Still failed after a few retry intervals (200 ms base here): no later attempt.
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(await rowOf('eeee@contoso.com'), failed);

      const list = await runCli(['--json', 'mail', 'list', '--status', 'failed'], m.t.env);
      assert.equal(list.code, 0, list.stderr);
      const rows = JSON.parse(list.stdout) as { Id: string; Status: string; LastError: string }[];
      assert.deepEqual(rows.map((r) => [r.Id, r.Status]), [[failed.id, 'failed']]);
      assert.match(rows[0]!.LastError, /memory alloc limit exceeded/);
      const table = await runCli(['mail', 'list', '--status', 'failed'], m.t.env);
      assert.match(table.stdout, /failed/);
      assert.match(table.stdout, /takes too much memory to render/, 'the reason in the table too');

      const { cookie } = await signIn(app, m.t.scope, 'mail.admin@contoso.com');
      const page = await app.inject({ method: 'GET', url: '/admin/mail?status=failed', headers: { cookie } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /eeee@contoso\.com/);
      assert.match(page.body, /memory alloc limit exceeded/, 'the reason in the admin center outbox');
    });
  });
}
