import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers } from '../support/fixtures.ts';
import { appFor, bearer, signIn, tokenFor } from './harness.ts';

for (const dialect of DIALECTS) {
  describe(`REST API flows: import, enable, PINs shown once, templates, mail (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: Record<string, string>;

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['tf:+18005550100']);
      admin = bearer(await tokenFor(t.scope, 'admin'));
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('imports a CSV and enables the new users in one call; each gets a welcome mail in the outbox', async () => {
      const csv = 'UserUri,DisplayName,EmailAddress,Language\n' + Array.from({ length: 25 }, (_, i) => `csv${i}@contoso.com,Csv ${i},csv${i}@contoso.com,${i % 2 ? 'fr' : 'en'}`).join('\n') + '\n';
      const r = await app.inject({ method: 'POST', url: '/api/v1/users/import?Enable=true', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { Imported: 25, Skipped: 0, Problems: [] });
      const listed = await app.inject({ method: 'GET', url: '/api/v1/dialin-users', headers: admin });
      assert.equal(listed.json().length, 25);
      assert.ok(listed.json().every((u: { LeaderPin: string }) => u.LeaderPin === '*****'), 'PINs are masked in listings');
      const outbox = await app.inject({ method: 'GET', url: '/api/v1/outbox?Kind=welcome&Limit=100', headers: admin });
      assert.equal(outbox.json().length, 25);
      assert.ok(!outbox.body.includes('pin_enc'));
    });

    it('a PIN reset answers the new PIN once, and the next read masks it; Set-CsClientPin with a chosen PIN works the same', async () => {
      const reset = await app.inject({ method: 'POST', url: '/api/v1/users/csv0@contoso.com/dialin/reset-pin', headers: admin });
      assert.equal(reset.statusCode, 200);
      assert.equal(reset.headers['cache-control'], 'no-store');
      const pin = reset.json().Result.LeaderPin as string;
      assert.match(pin, /^[0-9]{5}$/);
      const read = await app.inject({ method: 'GET', url: '/api/v1/users/csv0@contoso.com/dialin', headers: admin });
      assert.equal(read.json().LeaderPin, '*****');
      assert.ok(!read.body.includes(pin));
      const chosen = await app.inject({ method: 'POST', url: '/api/v1/users/csv0@contoso.com/pin', headers: admin, payload: { Pin: '240681357' } });
      assert.deepEqual(chosen.json(), { Identity: 'sip:csv0@contoso.com', Pin: '240681357' });
      const info = await app.inject({ method: 'GET', url: '/api/v1/users/csv0@contoso.com/pin', headers: admin });
      assert.equal(info.json().IsPinSet, true);
      assert.ok(!info.body.includes('240681357'));
    });

    it('templates: save with validation (error names the line), preview a draft, reset', async () => {
      const bad = await app.inject({ method: 'PUT', url: '/api/v1/templates/info_changed/en/text', headers: admin, payload: { Body: 'Hello\n{{ pin }}' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'TEMPLATE_INVALID');
      assert.match(bad.json().error.message, /line 2/);
      const ok = await app.inject({ method: 'PUT', url: '/api/v1/templates/info_changed/en/subject', headers: admin, payload: { Body: 'New details for {{ displayName }}' } });
      assert.deepEqual(ok.json(), { Source: 'tenant', Body: 'New details for {{ displayName }}' });
      const preview = await app.inject({ method: 'POST', url: '/api/v1/templates/preview', headers: admin, payload: { Kind: 'info_changed', Language: 'en', Identity: 'csv1@contoso.com' } });
      assert.equal(preview.json().subject, 'New details for Csv 1');
      const draft = await app.inject({ method: 'POST', url: '/api/v1/templates/preview', headers: admin, payload: { Kind: 'welcome', Language: 'fr', Draft: { subject: 'PIN {{ pin }}' } } });
      assert.doesNotMatch(draft.json().subject, /[0-9]{5}/, 'a preview never shows a real PIN');
      const reset = await app.inject({ method: 'DELETE', url: '/api/v1/templates/info_changed/en', headers: admin });
      assert.deepEqual(reset.json(), { Reset: 1 });
      const list = await app.inject({ method: 'GET', url: '/api/v1/templates', headers: admin });
      assert.equal(list.json().length, 8 * 2 * 3, 'eight kinds (the invitation block too), two languages, three parts');
    });

    it('a test mail from a browser session goes to the signed-in administrator only; with a token, To is required', async () => {
      const session = await signIn(app, t.scope, 'author@contoso.com');
      const other = await app.inject({ method: 'POST', url: '/api/v1/templates/test-send', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { Kind: 'welcome', Language: 'en', To: 'victim@example.com' } });
      assert.equal(other.statusCode, 403);
      const own = await app.inject({ method: 'POST', url: '/api/v1/templates/test-send', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { Kind: 'welcome', Language: 'en' } });
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().Recipient, 'author@contoso.com');
      const noTo = await app.inject({ method: 'POST', url: '/api/v1/templates/test-send', headers: admin, payload: { Kind: 'welcome', Language: 'en' } });
      assert.equal(noTo.json().error.code, 'MISSING_ARGUMENT');
      for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: '/api/v1/templates/test-send', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { Kind: 'welcome', Language: 'en' } });
      const sixth = await app.inject({ method: 'POST', url: '/api/v1/templates/test-send', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { Kind: 'welcome', Language: 'en' } });
      assert.equal(sixth.statusCode, 429);
    });

    it('mail: status, retry of a failed message (never one that carried a PIN), purge', async () => {
      const rows = await t.ctx.db.kysely.selectFrom('outbox').select(['id', 'kind', 'payload']).orderBy('created_at').orderBy('id').execute();
      // A user's welcome (with a PIN), not one of the test mails sent above (welcome samples, which can be sent again).
      const info = rows.find((r) => r.kind === 'welcome' && !(JSON.parse(r.payload) as { options?: { sample?: boolean } }).options?.sample)!;
      await t.ctx.db.kysely.updateTable('outbox').set({ status: 'failed', last_reply: '550 5.1.1 no such user' }).execute();
      const status = await app.inject({ method: 'GET', url: '/api/v1/mail/status', headers: admin });
      assert.equal(status.json().Counts.failed, rows.length);
      const pinMail = await app.inject({ method: 'POST', url: '/api/v1/outbox/retry', headers: admin, payload: { Ids: [info.id] } });
      assert.equal(pinMail.statusCode, 409);
      assert.equal(pinMail.json().error.code, 'MAIL_NOT_RETRYABLE');
      const all = await app.inject({ method: 'POST', url: '/api/v1/outbox/retry', headers: admin, payload: { Status: 'failed' } });
      assert.ok(all.json().Queued >= 1, 'the sample test mails can be sent again');
      const purge = await app.inject({ method: 'POST', url: '/api/v1/outbox/purge', headers: admin, payload: { OlderThanDays: 0 } });
      assert.ok(purge.json().Deleted >= 1);
    });
  });
}
