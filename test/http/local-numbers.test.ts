import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { mailEnv, type MailEnv } from '../mail/support/mail-env.ts';
import { parseMail } from '../mail/support/mime.ts';
import { registerServiceNumber } from '../../src/app/service-numbers.ts';
import { getBridges } from '../../src/app/bridges.ts';
import { appFor, bearer, json, tokenFor } from './harness.ts';

const URL_ONE = /https:\/\/dialin\.test\.example\/numbers\/[A-Za-z0-9_-]{43}/;
const URL_RE = new RegExp(URL_ONE.source, 'g');

for (const dialect of DIALECTS) {
  describe(`"Find a local number": the public page of a bridge's numbers, linked from every mail (${dialect})`, () => {
    let m: MailEnv;
    let app: FastifyInstance;
    let admin: string;
    /** What must never show on the public page: names, accounts, conference IDs (as digits and grouped), PINs. */
    const secrets: string[] = [];
    let mails: { text: string; html: string; to: string }[] = [];

    before(async () => {
      m = await mailEnv(dialect);
      app = await appFor(m.t);
      admin = await tokenFor(m.t.scope, 'admin');
      await registerServiceNumber(m.t.scope, { number: '+33170000000', bridge: { name: 'Conference Bridge' }, city: 'Paris', primaryLanguage: 'fr-FR', secondaryLanguages: ['en-GB'] });
      await registerServiceNumber(m.t.scope, { number: '+442034430000', bridge: { name: 'Conference Bridge' }, city: 'London', primaryLanguage: 'en-GB' });
      // A second bridge: its users' mails link to its own page.
      await bridgeWithNumbers(m.t.scope, 'Europe', '+4930123456789');
      const sips = await addUsers(m.t.scope, 'lena', 2, { Language: 'fr' });
      const europe = await addUsers(m.t.scope, 'otto', 1);
      for (const r of [...(await enable(m.t.scope, sips)), ...(await enable(m.t.scope, europe, { bridge: { name: 'Europe' } }))]) {
        const o = r.output!;
        secrets.push(r.user!, String(o.ConferenceId), String(o.ConferenceId).replace(/(\d{3})(?=\d)/g, '$1 '), String(o.LeaderPin));
      }
      secrets.push('Lena 0', 'Lena 1', 'Otto 0', 'contoso.com');
      await m.startWorker();
      const got = await m.sink.waitFor(3);
      mails = got.map((g) => {
        const p = parseMail(g.raw);
        return { text: p.text!, html: String(p.html), to: g.to.join(',') };
      });
    });
    after(async () => {
      await app.close();
      await m.cleanup();
    });

    const bridgeUrl = async (name: string) => (await getBridges(m.t.scope, { name }))[0]!.LocalNumbersUrl;
    const path = (url: string) => new URL(url).pathname;

    it('every welcome links to the page of the user\'s own bridge, in the HTML and the text, labelled "Find a local number"', async () => {
      const main = await bridgeUrl('Conference Bridge');
      const europe = await bridgeUrl('Europe');
      assert.match(main, URL_ONE);
      assert.notEqual(main, europe);
      assert.equal(mails.length, 3);
      for (const mail of mails) {
        const want = mail.to.includes('otto') ? europe : main;
        assert.deepEqual([...new Set(mail.text.match(URL_RE))], [want], mail.text);
        assert.ok(mail.html.includes(`href="${want}"`), 'a link in the HTML');
        assert.match(mail.text, mail.to.includes('lena') ? /Trouver un numéro local/ : /Find a local number/);
        assert.ok(!/See all access numbers|Tous les numéros d'accès et la gestion/.test(mail.text), 'the sign-in-gated "see all numbers" line is gone');
      }
    });

    it('the page, without signing in: every number by country and city with languages, tappable, and nothing of any user', async () => {
      const res = await app.inject({ method: 'GET', url: path(await bridgeUrl('Conference Bridge')), headers: { 'accept-language': 'en-GB,en;q=0.8' } });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.equal(res.headers['x-robots-tag'], 'noindex, nofollow');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      const body = res.body;
      const tels = [...body.matchAll(/href="(tel:[^"]*)"/g)].map((x) => x[1]);
      assert.deepEqual(tels.sort(), ['tel:+14255550100', 'tel:+14255550101', 'tel:+18005550199', 'tel:+33170000000', 'tel:+442034430000'].sort());
      for (const shown of ['+1 425-555-0100', '+1 800-555-0199', '+33 1 70 00 00 00', '+44 20 3443 0000']) assert.ok(body.includes(shown), shown);
      assert.ok(!body.includes('+49 30'), "another bridge's numbers are not listed");
      // Countries in order of their names, cities inside them, languages named.
      const h2 = [...body.matchAll(/<h2 id="c-[^"]+">([^<]+)<\/h2>/g)].map((x) => x[1]);
      assert.deepEqual(h2, ['France', 'United Kingdom', 'United States']);
      assert.match(body, /Paris<\/th><td><a href="tel:\+33170000000"[^>]*>\+33 1 70 00 00 00<\/a><\/td><td>Toll<\/td><td class="languages">French \(France\), British English<\/td>/);
      assert.match(body, /<h1>Find a local number<\/h1>/);
      for (const s of secrets) assert.ok(!body.includes(s), `the page shows ${s}`);
      assert.ok(!/,,\d/.test(body), 'no conference ID in a dial string');
    });

    it("in the reader's language: Accept-Language, and ?lang= before it", async () => {
      const url = path(await bridgeUrl('Conference Bridge'));
      const fr = await app.inject({ method: 'GET', url, headers: { 'accept-language': 'fr-FR,fr;q=0.9' } });
      assert.equal(fr.statusCode, 200);
      assert.match(fr.body, /<html lang="fr">/);
      assert.match(fr.body, /<h1>Trouver un numéro local<\/h1>/);
      assert.deepEqual([...fr.body.matchAll(/<h2 id="c-[^"]+">([^<]+)<\/h2>/g)].map((x) => x[1]), ['États-Unis', 'France', 'Royaume-Uni']);
      assert.match(fr.body, /Gratuit|gratuit/);
      assert.match(fr.body, /français \(France\)/);
      const en = await app.inject({ method: 'GET', url: `${url}?lang=en`, headers: { 'accept-language': 'fr' } });
      assert.match(en.body, /<html lang="en">/);
      const fr2 = await app.inject({ method: 'GET', url: `${url}?lang=FR` });
      assert.match(fr2.body, /<html lang="fr">/);
    });

    it('an unknown or malformed token is 404 (the same answer), a bad language 400 naming lang; nothing answers 500', async () => {
      const url = path(await bridgeUrl('Conference Bridge'));
      const unknown = await app.inject({ method: 'GET', url: `/numbers/${'A'.repeat(43)}` });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.body, /LOCAL_NUMBERS_NOT_FOUND/);
      for (const bad of ['/numbers/short', `/numbers/${'A'.repeat(44)}`, `/numbers/${'A'.repeat(42)}%2B`, `${url.slice(0, -1)}`]) {
        const r = await app.inject({ method: 'GET', url: bad });
        assert.equal(r.statusCode, 404, bad);
        assert.match(r.body, /LOCAL_NUMBERS_NOT_FOUND/, bad);
      }
      for (const q of ['?lang=de', '?lang=', '?lang=en&lang=fr', `?lang=${'x'.repeat(5000)}`]) {
        const r = await app.inject({ method: 'GET', url: `${url}${q}` });
        assert.equal(r.statusCode, 400, q);
        assert.match(r.body, /LANGUAGE_INVALID/, q);
      }
      const ctl = await app.inject({ method: 'GET', url: `/numbers/%00${'A'.repeat(42)}` });
      assert.ok(ctl.statusCode >= 400 && ctl.statusCode < 500, `control character: ${ctl.statusCode}`);
      const post = await app.inject({ method: 'POST', url });
      assert.ok(post.statusCode >= 400 && post.statusCode < 500, `POST: ${post.statusCode}`);
    });

    it('a new link (API, admin only): the old one stops working at once, the new one works, the audit keeps no token', async () => {
      const old = await bridgeUrl('Conference Bridge');
      const id = (await getBridges(m.t.scope, { name: 'Conference Bridge' }))[0]!.Identity;
      const helpdesk = await tokenFor(m.t.scope, 'helpdesk');
      const refused = await app.inject({ method: 'PATCH', url: `/api/v1/bridges/${id}`, headers: bearer(helpdesk), payload: { NewLocalNumbersLink: true } });
      assert.equal(refused.statusCode, 403);
      assert.equal(await bridgeUrl('Conference Bridge'), old);
      const res = await app.inject({ method: 'PATCH', url: `/api/v1/bridges/${id}`, headers: bearer(admin), payload: { NewLocalNumbersLink: true } });
      assert.equal(res.statusCode, 200, res.body);
      const fresh = json<{ LocalNumbersUrl: string }>(res).LocalNumbersUrl;
      assert.match(fresh, URL_ONE);
      assert.notEqual(fresh, old);
      assert.equal((await app.inject({ method: 'GET', url: path(old) })).statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: path(fresh) })).statusCode, 200);
      const europe = await bridgeUrl('Europe');
      assert.equal((await app.inject({ method: 'GET', url: path(europe) })).statusCode, 200, 'the other bridge keeps its link');
      const audit = await m.t.ctx.db.kysely.selectFrom('audit').select(['action', 'details']).where('action', '=', 'bridge.set').execute();
      assert.ok(audit.length >= 1);
      for (const a of audit) for (const t of [old, fresh].map((u) => u.split('/').pop()!)) assert.ok(!a.details.includes(t), 'no token in the audit');
      const bad = await app.inject({ method: 'PATCH', url: `/api/v1/bridges/${id}`, headers: bearer(admin), payload: { NewLocalNumbersLink: 'yes' } });
      assert.equal(bad.statusCode, 400);
    });
  });
}
