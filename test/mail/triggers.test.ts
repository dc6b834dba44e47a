import { groupConferenceId } from '../../src/core/phone-number.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable, one, userRow } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { addUser } from '../../src/app/users.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { disableUsers } from '../../src/app/disable-user.ts';
import { setUserAcp } from '../../src/app/acp.ts';
import { swapDefaultNumber } from '../../src/app/default-number.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { DEFAULT_TEMPLATES } from '../../src/core/templates/defaults.ts';
import type { MailKind } from '../../src/core/mail-kinds.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';
import { parseMail, type ParsedMail } from './support/mime.ts';

/** The one new message the relay got since `from`, parsed. */
async function onlyNew(m: MailEnv, from: number, n = 1): Promise<ParsedMail[]> {
  await m.sink.waitFor(from + n, 10_000).catch(async (e: Error) => {
    const open = await m.t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'recipient', 'status', 'attempts', 'last_error']).where('status', '!=', 'sent').execute();
    throw new Error(`${e.message}; messages not sent: ${JSON.stringify(open)}`);
  });
  await new Promise((r) => setTimeout(r, 150)); // nothing more arrives
  assert.equal(m.sink.received.length, from + n, 'exactly the expected number of mails');
  return m.sink.received.slice(from).map((r) => parseMail(r.raw));
}

function expectMail(mail: ParsedMail, o: { kind: MailKind; lang: 'en' | 'fr'; to: string; from?: string; pin: string | null; absentPin?: string; conferenceId?: string | null }): void {
  assert.equal(mail.subject, DEFAULT_TEMPLATES[o.kind][o.lang].subject, `subject of ${o.kind}/${o.lang}`);
  assert.match(mail.header('to')!, new RegExp(`<${o.to}>$`));
  // The built-in sender name is in the mail's language; mailparser decodes the encoded word.
  assert.equal(mail.header('from'), o.from ?? (o.lang === 'fr' ? '=?UTF-8?Q?Conf=C3=A9rences_rendez-vous?= <noreply@dialin.contoso.com>' : '"Dial-in Conferencing" <noreply@dialin.contoso.com>'));
  assert.equal(mail.header('content-language'), o.lang);
  for (const body of [mail.text!, mail.html!]) {
    if (o.pin) assert.ok(body.includes(o.pin), `the PIN is in the ${o.kind} mail`);
    if (o.absentPin) assert.ok(!body.includes(o.absentPin), `no PIN in the ${o.kind} mail`);
    if (o.conferenceId) assert.ok(body.includes(groupConferenceId(o.conferenceId)), 'the conference ID is in the mail, grouped for reading');
    // Those whose dial-in was turned off can no longer open the settings page.
    assert.equal(body.includes('https://dialin.test.example/dialin'), o.kind !== 'turned_off', 'the settings page link');
  }
}

for (const dialect of DIALECTS) {
  describe(`the mail of each trigger (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      m = await mailEnv(dialect);
      await m.startWorker();
    });
    after(() => m.cleanup());

    it('licence assigned (Enable): welcome with the PIN, in the user\'s language', async () => {
      await addUser(m.t.scope, { UserUri: 'marie@contoso.com', DisplayName: 'Marie Dupont', Language: 'fr-CA' });
      const n = m.sink.received.length;
      const [r] = await enable(m.t.scope, ['marie@contoso.com']);
      const [mail] = await onlyNew(m, n);
      expectMail(mail!, { kind: 'welcome', lang: 'fr', to: 'marie@contoso.com', pin: r!.output!.LeaderPin as string, conferenceId: r!.output!.ConferenceId as string });
      assert.ok(mail!.text!.includes(`+1 425-555-0100,,${r!.output!.ConferenceId}#`), 'the default toll number, formatted, one tap');
      assert.ok(mail!.html!.includes(`href="tel:+14255550100,,${r!.output!.ConferenceId}%23"`), 'a tel: link that dials into the meeting');
    });

    it('provider changed to Microsoft (Enable -ReplaceProvider): welcome with the PIN', async () => {
      await addUser(m.t.scope, { UserUri: 'ken@contoso.com', DisplayName: 'Ken Myer', Language: 'de' });
      const ken = await userRow(m.t.scope, 'sip:ken@contoso.com');
      await m.t.ctx.db.kysely.transaction().execute((trx) => setUserAcp(trx, m.t.scope, ken, { name: 'InterCall', domain: 'intercall.com', tollNumber: '+14255550999' }));
      const n = m.sink.received.length;
      const [r] = await enable(m.t.scope, ['ken@contoso.com'], { replaceProvider: true });
      const [mail] = await onlyNew(m, n);
      // German is not a mail language: the tenant default (English) is used.
      expectMail(mail!, { kind: 'welcome', lang: 'en', to: 'ken@contoso.com', pin: r!.output!.LeaderPin as string });
    });

    it('admin PIN reset: "PIN changed" with the new PIN, not the old one', async () => {
      const [old] = await enable(m.t.scope, (await addUsers(m.t.scope, 'pinny', 1)));
      await until(() => m.sink.received.some((x) => x.to.includes('pinny0@contoso.com')), 'the welcome');
      const n = m.sink.received.length;
      const r = await one(m.t.scope, 'pinny0@contoso.com', setDialInUsers(m.t.scope, { resetLeaderPin: true }));
      const [mail] = await onlyNew(m, n);
      expectMail(mail!, { kind: 'pin_changed', lang: 'en', to: 'pinny0@contoso.com', pin: r.output!.LeaderPin as string, absentPin: old!.output!.LeaderPin as string });
    });

    it('conference ID reset: "information changed" with the new ID, no PIN', async () => {
      const [e] = await enable(m.t.scope, await addUsers(m.t.scope, 'cid', 1));
      await until(() => m.sink.received.some((x) => x.to.includes('cid0@contoso.com')), 'the welcome');
      const n = m.sink.received.length;
      const r = await one(m.t.scope, 'cid0@contoso.com', setDialInUsers(m.t.scope, { resetConferenceId: true }));
      const [mail] = await onlyNew(m, n);
      expectMail(mail!, { kind: 'info_changed', lang: 'en', to: 'cid0@contoso.com', pin: null, absentPin: e!.output!.LeaderPin as string, conferenceId: r.output!.ConferenceId as string });
    });

    it('default number changed for a group: one "information changed" each, no PIN', async () => {
      const ids = await addUsers(m.t.scope, 'swap', 3);
      const pins = (await enable(m.t.scope, ids)).map((r) => r.output!.LeaderPin as string);
      await until(() => ids.every((id) => m.sink.received.some((x) => x.to.includes(id.replace('sip:', '')))), 'the welcomes');
      const n = m.sink.received.length;
      const res = await swapDefaultNumber(m.t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+14255550100', toNumber: '+14255550101', numberType: 'Toll' });
      assert.ok(res.MovedUsers >= 3);
      const mails = await onlyNew(m, n, res.MovedUsers);
      for (const [i, id] of ids.entries()) {
        const mail = mails.find((x) => x.header('to')!.includes(id.replace('sip:', '')))!;
        expectMail(mail, { kind: 'info_changed', lang: 'en', to: id.replace('sip:', ''), pin: null, absentPin: pins[i] });
        assert.ok(mail.text!.includes('+1 425-555-0101'));
      }
    });

    it('licence removed (Disable): "turned off", no PIN', async () => {
      const [e] = await enable(m.t.scope, await addUsers(m.t.scope, 'gone', 1, { Language: 'fr' }));
      await until(() => m.sink.received.some((x) => x.to.includes('gone0@contoso.com')), 'the welcome');
      const n = m.sink.received.length;
      await one(m.t.scope, 'gone0@contoso.com', disableUsers(m.t.scope, {}));
      const [mail] = await onlyNew(m, n);
      expectMail(mail!, { kind: 'turned_off', lang: 'fr', to: 'gone0@contoso.com', pin: null, absentPin: e!.output!.LeaderPin as string, conferenceId: e!.output!.ConferenceId as string });
    });

    it('provider changed away (Set-CsUserAcp on an enabled user): "turned off", no PIN', async () => {
      const [e] = await enable(m.t.scope, await addUsers(m.t.scope, 'away', 1));
      await until(() => m.sink.received.some((x) => x.to.includes('away0@contoso.com')), 'the welcome');
      const n = m.sink.received.length;
      const u = await userRow(m.t.scope, 'sip:away0@contoso.com');
      await m.t.ctx.db.kysely.transaction().execute((trx) => setUserAcp(trx, m.t.scope, u, { name: 'InterCall', domain: 'intercall.com' }));
      const [mail] = await onlyNew(m, n);
      expectMail(mail!, { kind: 'turned_off', lang: 'en', to: 'away0@contoso.com', pin: null, absentPin: e!.output!.LeaderPin as string });
      assert.match(mail!.text!, /now provided by InterCall\./, 'names the provider moved to');
      assert.ok(!/licence/.test(mail!.text!), 'not the licence sentence');
    });

    it('with the tenant sender override on, the mail comes from the tenant address and name', async () => {
      await setTenantSettings(m.t.scope, { SendEmailFromOverride: true, SendEmailFromAddress: 'audio@contoso.com', SendEmailFromDisplayName: 'Contoso Audio' });
      try {
        const n = m.sink.received.length;
        const [r] = await enable(m.t.scope, await addUsers(m.t.scope, 'sender', 1));
        const [mail] = await onlyNew(m, n);
        expectMail(mail!, { kind: 'welcome', lang: 'en', to: 'sender0@contoso.com', from: 'Contoso Audio <audio@contoso.com>', pin: r!.output!.LeaderPin as string });
        assert.equal(m.sink.received.at(-1)!.from, 'audio@contoso.com', 'the envelope sender too');
      } finally {
        await setTenantSettings(m.t.scope, { SendEmailFromOverride: false });
      }
    });

    it('with AutomaticallySendEmailsToUsers off, no trigger mails; -SendEmail still sends the conference info (from another process), never the PIN', async () => {
      const ids = await addUsers(m.t.scope, 'quiet', 2);
      await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: false });
      try {
        const n = m.sink.received.length;
        const [e] = await enable(m.t.scope, ids);
        await one(m.t.scope, ids[0]!, setDialInUsers(m.t.scope, { resetLeaderPin: true }));
        await one(m.t.scope, ids[0]!, setDialInUsers(m.t.scope, { resetConferenceId: true }));
        await swapDefaultNumber(m.t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+14255550101', toNumber: '+14255550100', numberType: 'Toll' });
        await one(m.t.scope, ids[1]!, disableUsers(m.t.scope, {}));
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(m.sink.received.length, n, 'no mail at all while the switch is off');
        const cli = await runCli(['Set-CsOnlineDialInConferencingUser', '-Identity', 'quiet0@contoso.com', '-SendEmail', '-SendEmailToAddress', 'quiet.home@fabrikam.com'], m.t.env);
        assert.equal(cli.code, 0, cli.stderr);
        const [mail] = await onlyNew(m, n);
        const u = await userRow(m.t.scope, ids[0]!);
        expectMail(mail!, { kind: 'conference_info', lang: 'en', to: 'quiet.home@fabrikam.com', pin: null, absentPin: e!.output!.LeaderPin as string, conferenceId: u.conference_id });
        assert.deepEqual(m.sink.received.at(-1)!.to, ['quiet.home@fabrikam.com']);
      } finally {
        await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: true });
      }
    });
  });
}
