import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/dialects.ts';
import { enable, one } from '../support/fixtures.ts';
import { addUser } from '../../src/app/users.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { setTemplate } from '../../src/app/templates.ts';
import { AppError } from '../../src/core/errors.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';
import { parseMail } from './support/mime.ts';

/** Display names that pass the directory's checks but are hostile in a header or in HTML. */
const NAMES = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '<a href="https://evil.example">click</a>',
  '{{ pin }} {{7*7}} {% for x in (1..3) %}x{% endfor %} ${7*7}',
  'Evil, Person; <evil@attacker.invalid>',
  'Bcc: evil@attacker.invalid',
  '"victim@gmail.com x"@internal.domain',
  'group: a@b.com, c@d.com;',
  '=?utf-8?B?QmNjOiBldmlsQGF0dGFja2VyLmludmFsaWQ=?=',
  `Ünïcødé ${'x'.repeat(200)}`,
];

/** Addresses a command may be given; each must be refused before anything is written. */
const ADDRESSES = [
  'x@contoso.com\r\nBcc: evil@attacker.invalid',
  'x@contoso.com\nBcc: evil@attacker.invalid',
  'x@contoso.com%0d%0aBcc: evil@attacker.invalid',
  'x@contoso.com, evil@attacker.invalid',
  'x@contoso.com; evil@attacker.invalid',
  '"victim@gmail.com x"@internal.domain',
  'user@example.com(x)evil.com',
  'Evil <evil@attacker.invalid>',
  'g: evil@attacker.invalid;',
  'x@contoso.com\u2028Bcc: evil@attacker.invalid',
  'x@contoso.com\u0085',
  'x@contoso.com\u0000',
  `${'a'.repeat(65)}@contoso.com`,
];

const ONCE = ['from', 'to', 'subject', 'message-id', 'date'];
const NEVER = ['cc', 'bcc', 'reply-to', 'sender'];

for (const dialect of DIALECTS) {
  describe(`header and HTML injection (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      m = await mailEnv(dialect);
      await m.startWorker();
      // The tenant's subject carries the name too: it must stay one Subject line.
      await setTemplate(m.t.scope, 'welcome', 'en', 'subject', 'Welcome, {{ displayName }}');
      await setTenantSettings(m.t.scope, { SendEmailFromOverride: true, SendEmailFromAddress: 'audio@contoso.com', SendEmailFromDisplayName: 'Audio "Team", <b>Contoso</b>: x@y.com' });
    });
    after(() => m.cleanup());

    it('hostile display names: one From, To and Subject, no added recipient, markup shown as text', async () => {
      const sips: string[] = [];
      for (const [i, name] of NAMES.entries()) sips.push((await addUser(m.t.scope, { UserUri: `inj${i}@contoso.com`, DisplayName: name })).sip);
      await enable(m.t.scope, sips);
      await m.sink.waitFor(NAMES.length);
      for (const [i, name] of NAMES.entries()) {
        const got = m.sink.received.find((r) => r.to.includes(`inj${i}@contoso.com`))!;
        assert.deepEqual(got.to, [`inj${i}@contoso.com`], 'the envelope has exactly the recipient');
        assert.equal(got.from, 'audio@contoso.com');
        assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(got.raw), 'CRLF line ends only');
        assert.ok(got.raw.split('\r\n').every((l) => Buffer.byteLength(l) <= 998), 'lines of at most 998 octets');
        const mail = parseMail(got.raw);
        for (const h of ONCE) assert.equal(mail.fields.filter((f) => f.name === h).length, 1, `one ${h} header for ${JSON.stringify(name)}`);
        for (const h of NEVER) assert.equal(mail.fields.filter((f) => f.name === h).length, 0, `no ${h} header for ${JSON.stringify(name)}`);
        // A literal encoded word in a name is shown decoded by mail readers: text, never a header.
        if (!name.includes('=?')) assert.equal(mail.subject, `Welcome, ${name}`);
        assert.ok(mail.text!.includes(name), 'the text part shows the name as it is (Liquid in data is never evaluated)');
        assert.ok(!mail.html!.includes(name) || !/[<>"&]/.test(name), 'the HTML part never has the raw markup');
        assert.ok(mail.html!.includes(name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;')), 'the HTML part shows it escaped');
        assert.ok(!mail.html!.includes('<script>') && !mail.html!.includes('<img') && !mail.html!.includes('href="https://evil'));
      }
      assert.equal(m.sink.received.filter((r) => r.to.some((a) => a.includes('attacker'))).length, 0);
    });

    it('hostile addresses for -SendEmailToAddress are refused with EMAIL_INVALID; nothing is queued or sent', async () => {
      await enable(m.t.scope, [(await addUser(m.t.scope, { UserUri: 'target@contoso.com', DisplayName: 'Target' })).sip]);
      await until(() => m.sink.received.some((r) => r.to.includes('target@contoso.com')), 'the welcome');
      const before = await m.t.ctx.db.kysely.selectFrom('outbox').select('id').execute();
      const sent = m.sink.received.length;
      for (const address of ADDRESSES) {
        await assert.rejects(
          async () => {
            const r = await one(m.t.scope, 'target@contoso.com', setDialInUsers(m.t.scope, { sendEmail: true, sendEmailToAddress: address }));
            if (r.error) throw r.error;
          },
          (e: unknown) => e instanceof AppError && e.code === 'EMAIL_INVALID' && e.field === 'SendEmailToAddress',
          JSON.stringify(address),
        );
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await m.t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length, before.length);
      assert.equal(m.sink.received.length, sent);
    });

    it('a name with a line break that reached the database anyway fails the message instead of adding a header', async () => {
      const u = await addUser(m.t.scope, { UserUri: 'broken@contoso.com', DisplayName: 'Broken' });
      await m.t.ctx.db.kysely.updateTable('users').set({ display_name: 'Broken\r\nBcc: evil@attacker.invalid' }).where('id', '=', u.id).execute();
      await enable(m.t.scope, [u.sip]);
      await until(async () => (await m.t.ctx.db.kysely.selectFrom('outbox').select('status').where('recipient', '=', 'broken@contoso.com').executeTakeFirst())?.status === 'failed', 'the failure');
      const row = await m.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('recipient', '=', 'broken@contoso.com').executeTakeFirstOrThrow();
      assert.match(row.last_error!, /could not be built: DISPLAY_NAME_INVALID/);
      assert.equal(m.sink.received.filter((r) => r.to.includes('evil@attacker.invalid') || r.to.includes('broken@contoso.com')).length, 0);
    });
  });
}
