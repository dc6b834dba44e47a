import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { startTestDns, type TestDns } from '../support/dnsmasq.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { appFor, signIn } from '../http/harness.ts';
import { createMetrics } from '../../src/adapters/http/metrics.ts';

/**
 * The admin center: saving a sender override checks its domain's DNS (from a dnsmasq of the
 * test's own) and says what to publish; a bounced PIN mail is shown on the Mail page and on the
 * user's page with what to do; /metrics counts returns by status.
 */
describe('deliverability in the admin center', () => {
  let dns: TestDns;
  before(async () => {
    dns = await startTestDns(['fabrikam.com'], { 'fabrikam.com': 'v=spf1 ip4:127.0.0.1 -all' });
  });
  after(async () => dns?.stop());

  for (const dialect of DIALECTS) {
    describe(dialect, () => {
      let t: TestEnv;
      let app: FastifyInstance;
      let a: { cookie: string; csrf: string };
      before(async () => {
        t = await testEnv(dialect, { DIALIN_MAIL_FROM: 'noreply@contoso.com', DIALIN_DNS_SERVERS: dns.server, DIALIN_SMTP_URL: 'smtp://127.0.0.1:25' });
        await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
        app = await appFor(t);
        a = await signIn(app, t.scope, 'admin@contoso.com');
      });
      after(async () => {
        await app?.close();
        await t?.cleanup();
      });

      it('saving a sender override shows what its DNS says, in plain words', async () => {
        const form = new URLSearchParams({ _csrf: a.csrf, AutomaticallySendEmailsToUsers: 'true', SendEmailFromOverride: 'true', SendEmailFromAddress: 'conferencing@fabrikam.com', SendEmailFromDisplayName: 'Fabrikam Conferencing', DefaultLanguage: 'en', PinLength: '5', EntryExitAnnouncementsType: 'UseNames' });
        const saved = await app.inject({ method: 'POST', url: '/admin/settings', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
        assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
        assert.equal(saved.headers.location, '/admin/settings?done=saved&dns=1');
        const page = await app.inject({ method: 'GET', url: saved.headers.location as string, headers: { cookie: a.cookie } });
        const panel = /<section class="card" aria-labelledby="dns-h"[^]*?<\/section>/.exec(page.body)?.[0] ?? '';
        assert.match(panel, /Can mail from fabrikam\.com be delivered\?/);
        assert.match(panel, /<li class="ok" data-check="spf"><strong>OK<\/strong> the SPF record of fabrikam\.com allows the relay 127\.0\.0\.1/);
        assert.match(panel, /<li class="problem" data-check="dmarc">.*publishes no DMARC policy.*_dmarc\.fabrikam\.com/);
        assert.match(panel, /<li class="warning" data-check="dkim">.*not DKIM-signed.*dialin dkim generate --domain fabrikam\.com/);
      });

      it('a bounced PIN mail: Mail page, the user\'s page with what to do, and the returns counter', async () => {
        const [sip] = await addUsers(t.scope, 'pat', 1);
        await enable(t.scope, [sip!]);
        const row = await t.ctx.db.kysely.selectFrom('outbox').select(['id', 'user_id']).where('kind', '=', 'welcome').executeTakeFirstOrThrow();
        await t.ctx.db.kysely.updateTable('outbox').set({ status: 'bounced', pin_enc: null, report_status: '5.1.1', report_diagnostic: 'smtp; 550 5.1.1 user unknown', report_mta: 'mx.contoso.com', reported_at: Date.now() }).where('id', '=', row.id).execute();
        const mail = await app.inject({ method: 'GET', url: '/admin/mail?status=bounced', headers: { cookie: a.cookie } });
        assert.match(mail.body, /data-testid="count-bounced">1</);
        assert.match(mail.body, /Reported by mx\.contoso\.com: 5\.1\.1 smtp; 550 5\.1\.1 user unknown/);
        const user = await app.inject({ method: 'GET', url: `/admin/users/${encodeURIComponent(row.user_id!)}`, headers: { cookie: a.cookie } });
        const notice = /data-testid="pin-bounced">[^]*?<\/div>/.exec(user.body)?.[0] ?? '';
        assert.match(notice, /The mail with the PIN never reached pat0@contoso\.com: the user does not know the PIN\. Correct the e-mail address, then reset the PIN/);
        const m = createMetrics(t.ctx, undefined, () => ({ bounced: 3, delayed: 1, complained: 0, ignored: 2, unrecognized: 0, unmatched: 4 }));
        const text = await m.registry.metrics();
        assert.match(text, /dialin_mail_returns_total\{status="bounced"\} 3/);
        assert.match(text, /dialin_mail_returns_total\{status="unmatched"\} 4/);
        assert.match(text, /dialin_outbox_messages\{status="bounced"\} 1/);
      });
    });
  }
});
