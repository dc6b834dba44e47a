import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { expectRefused } from '../support/cli-expect.ts';
import { runCli } from '../support/cli.ts';
import { enable, one, userRow } from '../support/fixtures.ts';
import { perUser } from '../../src/app/bulk.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { grantPinPolicy, newPinPolicy } from '../../src/app/pin-policies.ts';
import { addUser } from '../../src/app/users.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';
import { parseMail, type ParsedMail } from '../mail/support/mime.ts';
import { enabledUsers, runOnTerminal, selfSigned, SMTP_PASSWORD, SMTP_USER, welcomeEnv, withoutPin, type TestCert, type WelcomeEnv } from './support/welcome-env.ts';

const WELCOME = 'Set-CsPinSendCAWelcomeMail';
const LOGIN = ['-Credential', SMTP_USER, '-UseSsl'];

/** The PIN a welcome mail carries (English or French label). */
function pinIn(text: string): string {
  const m = /PIN[^:\n]*:\s*(\d{4,})/.exec(text);
  assert.ok(m, `a PIN in:\n${text}`);
  return m[1]!;
}

function mailsTo(sink: SmtpSink, address: string): ParsedMail[] {
  return sink.received.filter((r) => r.to[0] === address).map((r) => parseMail(r.raw));
}

for (const dialect of DIALECTS) {
  describe(`${WELCOME}: the seed's examples and every parameter (${dialect})`, () => {
    let cert: TestCert;
    let w: WelcomeEnv;
    let env: Record<string, string>;
    before(async () => {
      cert = selfSigned();
      w = await welcomeEnv(dialect, cert);
      env = { DIALIN_SMTP_PASSWORD: SMTP_PASSWORD };
      await addUser(w.t.scope, { UserUri: 'bob@contoso.com', DisplayName: 'Bob Kelly' });
      await enable(w.t.scope, ['bob@contoso.com']);
    });
    after(async () => {
      await w.cleanup();
      cert.remove();
    });

    it("the seed's first example: a user without a PIN gets one and the default HTML welcome, through PSEmailServer", async () => {
      await withoutPin(w, 'bob@contoso.com');
      // A relay without login, as the example gives no -Credential: STARTTLS is used since it is offered.
      const open = await SmtpSink.start({ tls: cert });
      try {
        const r = await runCli([WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'marco@contoso.com'], { ...w.t.env, PSEmailServer: `127.0.0.1:${open.port}` });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Mail\s+: sent/);
        assert.equal(open.received.length, 1);
        const got = open.received[0]!;
        assert.deepEqual([got.from, got.to], ['marco@contoso.com', ['bob@contoso.com']]);
        const mail = parseMail(got.raw);
        assert.equal(mail.subject, 'Welcome to Dial-In Conferencing');
        assert.ok(mail.html && mail.text, 'HTML with a text alternative');
        const bob = await userRow(w.t.scope, 'sip:bob@contoso.com');
        const pin = pinIn(mail.text!);
        for (const body of [mail.text!, mail.html!]) {
          for (const part of [pin, bob.conference_id!, '+1 425-555-0100', 'https://dialin.test.example/dialin']) assert.ok(body.includes(part), `${part} in the mail`);
        }
        assert.equal((await verifyLeaderPin(w.t.scope, bob.conference_id!, pin)).IsLeader, true, 'the PIN in the mail is the PIN set');
        const row = await w.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('user_id', '=', bob.id).executeTakeFirstOrThrow();
        assert.deepEqual([row.status, row.pin_enc, row.kind], ['sent', null, 'welcome']);
      } finally {
        await open.stop();
      }
    });

    it("the seed's second example: -Pin forced over the PIN, own subject, STARTTLS, and the password typed at a prompt that does not echo it", async () => {
      const r = await runOnTerminal(
        [WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'marco@contoso.com', '-Subject', 'Your new dial-in conferencing PIN', '-Pin', '383042650', '-Force', '-Credential', 'Admin@contoso.com', '-UseSsl', '-SmtpServer', w.server],
        w.t.env,
        /Password for Admin@contoso\.com/,
        SMTP_PASSWORD,
      );
      assert.equal(r.code, 0, r.screen);
      assert.ok(!r.screen.includes(SMTP_PASSWORD), `the password is not shown: ${r.screen}`);
      const [mail] = mailsTo(w.sink, 'bob@contoso.com');
      assert.ok(mail, 'the mail arrived');
      assert.equal(w.sink.received.at(-1)!.authenticated, true, 'logged in (which this relay allows only after STARTTLS)');
      assert.equal(mail.subject, 'Your new dial-in conferencing PIN');
      assert.equal(pinIn(mail.text!), '383042650');
      const bob = await userRow(w.t.scope, 'sip:bob@contoso.com');
      assert.equal((await verifyLeaderPin(w.t.scope, bob.conference_id!, '383042650')).IsLeader, true);
    });

    it('without -Force a user who has a PIN keeps it and gets no mail', async () => {
      const before = await dumpDb(w.t.ctx.db);
      const n = w.sink.received.length;
      const r = await w.welcome(['-UserUri', 'bob@contoso.com', '-From', 'marco@contoso.com', '-SmtpServer', w.server, ...LOGIN], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /sip:bob@contoso\.com: PIN already set; use -Force to reset; nothing changed\./);
      assert.deepEqual(await dumpDb(w.t.ctx.db), before);
      assert.equal(w.sink.received.length, n);
    });

    it('-Cc and -Bcc are on the envelope, Bcc in no header; -UserEmailAddress replaces the recipient', async () => {
      const [ann] = await enabledUsers(w, 'ann', 1);
      const r = await w.welcome(['-UserUri', ann!, '-From', '"IT Desk" <it@contoso.com>', '-UserEmailAddress', 'ann.private@fabrikam.com', '-Cc', 'manager@contoso.com,hr@contoso.com', '-Bcc', 'audit@contoso.com', '-Force', '-SmtpServer', w.server, ...LOGIN], env);
      assert.equal(r.code, 0, r.stderr);
      const got = w.sink.received.at(-1)!;
      assert.deepEqual(got.to, ['ann.private@fabrikam.com', 'manager@contoso.com', 'hr@contoso.com', 'audit@contoso.com']);
      const mail = parseMail(got.raw);
      assert.match(mail.header('to')!, /<ann\.private@fabrikam\.com>$/);
      assert.match(mail.header('cc')!, /manager@contoso\.com.*hr@contoso\.com/);
      assert.equal(mail.header('bcc'), null);
      assert.ok(!got.raw.includes('audit@contoso.com'), 'the Bcc address is nowhere in the message');
      assert.equal(mail.header('from'), 'IT Desk <it@contoso.com>');
    });

    it('-TemplatePath: an HTML template with the documented placeholders (values escaped); a French user gets the French default subject', async () => {
      const marie = 'marie@contoso.com';
      await addUser(w.t.scope, { UserUri: marie, DisplayName: 'Marie <Dupont>', Language: 'fr-CA' });
      await enable(w.t.scope, [marie]);
      const file = path.join(w.dir, 'CAWelcomeEmailTemplate.html');
      fs.writeFileSync(file, '<h1>Bienvenue {{ displayName }}</h1><p>ID {{ conferenceId }}, PIN {{ pin }}, {{ tollNumber }}{% if tollFreeNumber %} / {{ tollFreeNumber }}{% endif %}</p><a href="{{ settingsUrl }}">Paramètres</a>');
      const r = await w.welcome(['-UserUri', marie, '-From', 'it@contoso.com', '-TemplatePath', file, '-Force', '-SmtpServer', w.server, ...LOGIN], env);
      assert.equal(r.code, 0, r.stderr);
      const [mail] = mailsTo(w.sink, marie);
      assert.equal(mail!.subject, 'Bienvenue dans les conférences rendez-vous');
      const row = await userRow(w.t.scope, `sip:${marie}`);
      const pin = /PIN (\d+)/.exec(mail!.html!)![1]!;
      assert.equal(mail!.html, `<h1>Bienvenue Marie &lt;Dupont&gt;</h1><p>ID ${row.conference_id}, PIN ${pin}, +1 425-555-0100</p><a href="https://dialin.test.example/dialin">Paramètres</a>`);
      assert.equal((await verifyLeaderPin(w.t.scope, row.conference_id!, pin)).IsLeader, true);
    });

    it('-BodyAsPlainText with a text -TemplatePath: one text part, no HTML', async () => {
      const [tom] = await enabledUsers(w, 'tom', 1);
      const file = path.join(w.dir, 'welcome.txt');
      fs.writeFileSync(file, 'Hi {{ displayName }}, call {{ tollNumber }}, ID {{ conferenceId }}, PIN {{ pin }}. {{ settingsUrl }}\n');
      const r = await w.welcome(['-UserUri', tom!, '-From', 'it@contoso.com', '-TemplatePath', file, '-BodyAsPlainText', '-Subject', 'Dial-in', '-Force', '-SmtpServer', w.server, ...LOGIN], env);
      assert.equal(r.code, 0, r.stderr);
      const got = w.sink.received.at(-1)!;
      const mail = parseMail(got.raw);
      assert.match(mail.header('content-type')!, /^text\/plain/);
      assert.equal(mail.html, null);
      assert.ok(!/text\/html/i.test(got.raw));
      assert.match(mail.text!, /^Hi Tom 0, call \+1 425-555-0100, ID \d+, PIN \d+\. https:\/\/dialin\.test\.example\/dialin/);
      assert.equal(mail.subject, 'Dial-in');
    });

    it('a template with an unknown placeholder is refused before anything changes', async () => {
      const file = path.join(w.dir, 'bad.html');
      fs.writeFileSync(file, '<p>Hello {{ firstName }}, your PIN is {{ pin }}</p>');
      const n = w.sink.received.length;
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'it@contoso.com', '-TemplatePath', file, '-Force', '-SmtpServer', w.server], 'TEMPLATE_INVALID', /\{\{ firstName \}\} is not a known placeholder/);
      assert.equal(w.sink.received.length, n);
    });

    it('-Pin is checked against the PIN policy before the relay is even tried; -Pin and -UserEmailAddress are for one user', async () => {
      await newPinPolicy(w.t.scope, 'tag:Strict', { MinPasswordLength: 8 });
      const logins = w.sink.authAttempts.length;
      const args = ['-From', 'it@contoso.com', '-Force', '-SmtpServer', w.server, ...LOGIN];
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-Pin', '123456', ...args], 'PIN_COMMON_PATTERN', /Pin is a common pattern/);
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-Pin', '12a45', ...args], 'PIN_NOT_DIGITS', /Pin must contain only the digits/);
      const grant = (policy: string | null) => one(w.t.scope, 'bob@contoso.com', perUser(async (trx, u) => (await grantPinPolicy(trx, w.t.scope, u, policy), { outcome: 'done' })));
      await grant('Strict');
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-Pin', '1357924', ...args], 'PIN_TOO_SHORT', /at least 8 digits/);
      await grant(null);
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com,ann0@contoso.com', '-Pin', '13579246', ...args], 'CONFLICTING_PARAMETERS', /-Pin cannot be given with a list of users/);
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com,ann0@contoso.com', '-UserEmailAddress', 'x@contoso.com', ...args], 'CONFLICTING_PARAMETERS', /-UserEmailAddress cannot be given with a list/);
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-Cc', 'not an address', ...args], 'EMAIL_INVALID', /Cc "not an address" is not a valid e-mail address/);
      assert.equal(w.sink.authAttempts.length, logins, 'the relay was not contacted');
    });

    it('no -SmtpServer and no PSEmailServer: a clear error before anything changes', async () => {
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'it@contoso.com', '-Force'], 'MISSING_ARGUMENT', /needs -SmtpServer \(host or host:port\), or the PSEmailServer environment variable/);
      await expectRefused(w.t, [WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'it@contoso.com', '-Force', '-SmtpServer', 'smtp://relay'], 'SMTP_CONFIG_INVALID', /-SmtpServer "smtp:\/\/relay"/);
    });

    it('a relay that refuses the login, lacks STARTTLS or cannot be reached: a clear error and no PIN changes', async () => {
      const args = [WELCOME, '-UserUri', 'bob@contoso.com', '-From', 'it@contoso.com', '-Force'];
      const wrong = path.join(w.dir, 'wrong-password');
      fs.writeFileSync(wrong, 'not-the-password\n');
      const r = await expectRefused(w.t, [...args, '-SmtpServer', w.server, ...LOGIN, '--password-file', wrong], 'SMTP_UNAVAILABLE', /relay smtp:\/\/Admin%40contoso\.com:\*\*\*\*@127\.0\.0\.1:\d+ \(STARTTLS required, private CA\) refused the login of Admin@contoso\.com: 535/);
      assert.ok(!r.stderr.includes('not-the-password'));
      const plain = await SmtpSink.start({ auth: { user: SMTP_USER, pass: SMTP_PASSWORD } });
      try {
        await expectRefused(w.t, [...args, '-SmtpServer', `127.0.0.1:${plain.port}`, '-UseSsl'], 'SMTP_UNAVAILABLE', /does not offer STARTTLS, which -UseSsl requires/);
        // A password is never sent in clear, -UseSsl or not.
        const right = path.join(w.dir, 'password');
        fs.writeFileSync(right, `${SMTP_PASSWORD}\n`);
        await expectRefused(w.t, [...args, '-SmtpServer', `127.0.0.1:${plain.port}`, '-Credential', SMTP_USER, '--password-file', right], 'SMTP_UNAVAILABLE', /does not offer STARTTLS, which -Credential needs/);
        assert.equal(plain.authAttempts.length, 0);
      } finally {
        await plain.stop();
      }
      const gone = await SmtpSink.start();
      const port = gone.port;
      await gone.stop();
      await expectRefused(w.t, [...args, '-SmtpServer', `127.0.0.1:${port}`], 'SMTP_UNAVAILABLE', /cannot be reached: .*ECONNREFUSED/);
    });
  });
}
