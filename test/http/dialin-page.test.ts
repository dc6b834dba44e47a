import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable, one } from '../support/fixtures.ts';
import { disableUsers } from '../../src/app/disable-user.ts';
import { mailEnv, type MailEnv } from '../mail/support/mail-env.ts';
import { parseMail } from '../mail/support/mime.ts';
import { registerServiceNumber } from '../../src/app/service-numbers.ts';
import { setPinPolicy } from '../../src/app/pin-policies.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { appFor, bearer, tokenFor } from './harness.ts';

const form = (o: Record<string, string>, cookie?: string) => ({
  payload: new URLSearchParams(o).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
});

for (const dialect of DIALECTS) {
  describe(`Dial-in Conferencing Settings page: mailed one-time link, numbers, own PIN (${dialect})`, () => {
    let m: MailEnv;
    let app: FastifyInstance;
    const clock = { t: Date.now() };
    const pins = new Map<string, { cid: string; pin: string }>();

    before(async () => {
      m = await mailEnv(dialect);
      app = await appFor(m.t, { now: () => clock.t });
      await registerServiceNumber(m.t.scope, { number: '+33170000000', bridge: { name: 'Conference Bridge' }, city: 'Paris', primaryLanguage: 'fr-FR', secondaryLanguages: ['en-GB'] });
      const sips = await addUsers(m.t.scope, 'dana', 2, { Language: 'fr' });
      for (const r of await enable(m.t.scope, sips)) pins.set(r.user!, { cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string });
      await setPinPolicy(m.t.scope, 'Global', { PINHistoryCount: 2 });
      await m.startWorker();
      await m.sink.waitFor(2);
      m.sink.received.length = 0;
    });
    after(async () => {
      await app.close();
      await m.cleanup();
    });

    /** Asks for a link for `email` and returns the link from the mail the relay receives. */
    const mailedLink = async (email: string): Promise<{ url: string; token: string; raw: string }> => {
      const before = m.sink.received.length;
      const res = await app.inject({ method: 'POST', url: '/dialin/sign-in-link', ...form({ email }), remoteAddress: `10.1.${Math.floor(Math.random() * 250)}.1` });
      assert.equal(res.statusCode, 200);
      const got = (await m.sink.waitFor(before + 1))[before]!;
      const text = parseMail(got.raw).text!;
      const url = /(https:\/\/dialin\.test\.example\/dialin\/sign-in\?token=[A-Za-z0-9_-]+)/.exec(text)?.[1];
      assert.ok(url, `a sign-in link in:\n${text}`);
      return { url, token: new URL(url).searchParams.get('token')!, raw: got.raw };
    };
    const signIn = async (token: string) => {
      const r = await app.inject({ method: 'POST', url: '/dialin/sign-in', ...form({ token }) });
      assert.equal(r.statusCode, 303, r.body.slice(0, 300));
      const c = r.cookies.find((x) => x.name === '__Host-dialin-user')!;
      assert.equal(c.httpOnly, true);
      assert.equal(c.secure, true);
      return `${c.name}=${c.value}`;
    };

    it('the same answer for an unknown address; a known one gets a mail with a one-time link and never the PIN', async () => {
      const unknown = await app.inject({ method: 'POST', url: '/dialin/sign-in-link', ...form({ email: 'nobody@contoso.com' }), remoteAddress: '10.2.0.1' });
      const known = await app.inject({ method: 'POST', url: '/dialin/sign-in-link', ...form({ email: 'DANA0@contoso.com' }), remoteAddress: '10.2.0.2' });
      assert.equal(unknown.statusCode, known.statusCode);
      assert.equal(unknown.body, known.body);
      const mail = (await m.sink.waitFor(1))[0]!;
      assert.deepEqual(mail.to, ['dana0@contoso.com']);
      const parsed = parseMail(mail.raw);
      assert.match(parsed.subject, /connexion/i, 'in the user’s language (fr)');
      assert.ok(!mail.raw.includes(pins.get('sip:dana0@contoso.com')!.pin), 'the PIN is never in the sign-in mail');
      const token = /token=([A-Za-z0-9_-]+)/.exec(parsed.text!)![1]!;
      const dump = JSON.stringify(await m.t.ctx.db.kysely.selectFrom('outbox').selectAll().execute()) + JSON.stringify(await m.t.ctx.db.kysely.selectFrom('login_links').selectAll().execute());
      assert.ok(!dump.includes(token), 'the token is in no table: only its digest is stored');
    });

    it('the link signs in once; the page shows the conference ID, the default numbers and every access number by city', async () => {
      const { url, token } = await mailedLink('dana1@contoso.com');
      const confirm = await app.inject({ method: 'GET', url: new URL(url).pathname + new URL(url).search });
      assert.equal(confirm.statusCode, 200);
      assert.match(confirm.body, /name="token" value="[A-Za-z0-9_-]+"/, 'opening the link only shows a button: a mail scanner cannot use it up');
      const cookie = await signIn(token);
      const again = await app.inject({ method: 'POST', url: '/dialin/sign-in', ...form({ token }) });
      assert.equal(again.statusCode, 401);
      assert.match(again.body, /LOGIN_LINK_INVALID/);
      const pageRes = await app.inject({ method: 'GET', url: '/dialin', headers: { cookie, 'accept-language': 'en' } });
      assert.equal(pageRes.statusCode, 200);
      assert.equal(pageRes.headers['cache-control'], 'no-store');
      const me = pins.get('sip:dana1@contoso.com')!;
      assert.ok(pageRes.body.includes(`data-testid="conference-id">${me.cid}<`));
      for (const n of ['+14255550100', '+14255550101', '+18005550199', '+33170000000']) assert.ok(pageRes.body.includes(n), n);
      assert.match(pageRes.body, /Paris/);
      assert.match(pageRes.body, /fr-FR, en-GB/);
      assert.ok(!pageRes.body.includes(me.pin), 'the page never shows the current PIN');
    });

    it('a link is good for 15 minutes only', async () => {
      const { token } = await mailedLink('dana0@contoso.com');
      clock.t += 15 * 60_000 + 1;
      const r = await app.inject({ method: 'POST', url: '/dialin/sign-in', ...form({ token }) });
      assert.equal(r.statusCode, 401);
      clock.t = Date.now();
    });

    it('the user sets their own PIN (typed twice, policy and history enforced): shown once, never mailed, a notice without it, and the bridge accepts it', async () => {
      const { token } = await mailedLink('dana0@contoso.com');
      const cookie = await signIn(token);
      const page = await app.inject({ method: 'GET', url: '/dialin', headers: { cookie } });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const post = (o: Record<string, string>) => app.inject({ method: 'POST', url: '/dialin/pin', ...form({ _csrf: csrf, action: 'set', ...o }, cookie), headers: { ...form({}, cookie).headers, 'accept-language': 'en' } });
      const noCsrf = await app.inject({ method: 'POST', url: '/dialin/pin', ...form({ pin: '264810', pin2: '264810' }, cookie) });
      assert.equal(noCsrf.statusCode, 403);
      for (const [pin, pin2, code] of [['264810', '264811', 'INVALID_ARGUMENT'], ['11111', '11111', 'PIN_COMMON_PATTERN'], ['12a45', '12a45', 'PIN_NOT_DIGITS'], ['135', '135', 'PIN_TOO_SHORT']] as const) {
        const r = await post({ pin, pin2 });
        assert.equal(r.statusCode, 400, `${pin}/${pin2}`);
        assert.match(r.body, new RegExp(code));
      }
      const otherBefore = await m.t.ctx.db.kysely.selectFrom('users').select('pin_hash').where('sip', '=', 'sip:dana1@contoso.com').executeTakeFirstOrThrow();
      const mailsBefore = m.sink.received.length;
      const outboxBefore = (await m.t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length;
      const ok = await post({ pin: '264810', pin2: '264810' });
      assert.equal(ok.statusCode, 200);
      assert.match(ok.body, /data-testid="new-pin">264810</);
      assert.equal(ok.headers['cache-control'], 'no-store');
      const reused = await post({ pin: '264810', pin2: '264810' });
      assert.match(reused.body, /PIN_REUSED/, 'the page enforces the history');
      const generated = await app.inject({ method: 'POST', url: '/dialin/pin', ...form({ _csrf: csrf, action: 'generate' }, cookie) });
      const newPin = /data-testid="new-pin">([0-9]+)</.exec(generated.body)![1]!;
      const bridge = await tokenFor(m.t.scope, 'bridge');
      const v = await app.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(bridge), payload: { conferenceId: pins.get('sip:dana0@contoso.com')!.cid, pin: newPin } });
      assert.equal(v.json().isLeader, true);
      // One security notice per change, to the user, in their language (French), never with the PIN.
      const notices = (await m.sink.waitFor(mailsBefore + 2)).slice(mailsBefore);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(m.sink.received.length, mailsBefore + 2, 'one notice per PIN change, nothing else');
      for (const n of notices) {
        assert.deepEqual(n.to, ['dana0@contoso.com']);
        assert.ok(!n.raw.includes('264810') && !n.raw.includes(newPin), 'the notice never carries the PIN');
        const p = parseMail(n.raw);
        assert.equal(p.subject, 'Votre code PIN de conférence téléphonique a été changé');
        assert.match(p.text!, /Si ce n'était pas vous/);
        assert.match(p.text!, /Changer de code PIN\s:\shttps:\/\/dialin\.test\.example\/dialin#pin-h/, 'what to do: choose a new PIN on the settings page');
      }
      const kinds = await m.t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'pin_enc']).orderBy('created_at').execute();
      assert.equal(kinds.length, outboxBefore + 2);
      assert.deepEqual(kinds.slice(outboxBefore).map((k) => [k.kind, k.pin_enc]), [['pin_changed_by_user', null], ['pin_changed_by_user', null]]);
      // The tenant's automatic-mail switch off: no notice.
      await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: false });
      const quiet = await app.inject({ method: 'POST', url: '/dialin/pin', ...form({ _csrf: csrf, action: 'generate' }, cookie) });
      assert.equal(quiet.statusCode, 200);
      await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: true });
      assert.equal((await m.t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length, outboxBefore + 2, 'no notice while automatic mails are off');
      const otherAfter = await m.t.ctx.db.kysely.selectFrom('users').select('pin_hash').where('sip', '=', 'sip:dana1@contoso.com').executeTakeFirstOrThrow();
      assert.equal(otherAfter.pin_hash, otherBefore.pin_hash, "the other user's PIN is untouched");
      const audit = await m.t.ctx.db.kysely.selectFrom('audit').select(['action', 'details']).where('action', '=', 'pin.self-set').execute();
      assert.equal(audit.length, 3);
      assert.ok(!JSON.stringify(audit).includes('264810'));
    });

    it('sign-out ends the session; a user whose dial-in is turned off can no longer use theirs', async () => {
      const { token } = await mailedLink('dana1@contoso.com');
      const cookie = await signIn(token);
      const page = await app.inject({ method: 'GET', url: '/dialin', headers: { cookie } });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      await app.inject({ method: 'POST', url: '/dialin/sign-out', ...form({ _csrf: csrf }, cookie) });
      const after = await app.inject({ method: 'GET', url: '/dialin', headers: { cookie } });
      assert.match(after.body, /action="\/dialin\/sign-in-link"/, 'back to the sign-in form');
      const second = await signIn((await mailedLink('dana1@contoso.com')).token);
      await one(m.t.scope, 'dana1@contoso.com', disableUsers(m.t.scope, {}));
      const off = await app.inject({ method: 'GET', url: '/dialin', headers: { cookie: second } });
      assert.equal(off.statusCode, 403);
      assert.match(off.body, /USER_NOT_ENABLED/);
    });
  });
}
