import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { ImapFlow } from 'imapflow';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startTestImap, type TestImap } from '../support/dovecot.ts';
import { captureLog } from '../mail/support/mail-env.ts';
import { corpusMessage } from './support/corpus.ts';
import { addUser } from '../../src/app/users.ts';
import { mailRow } from '../../src/app/mail-queue.ts';
import { DEFAULT_TENANT_SETTINGS } from '../../src/core/tenant-settings.ts';
import { returnPathOf } from '../../src/app/return-path.ts';
import { startBounceReceivers, type BounceReceivers } from '../../src/main/bounces.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';

const BOUNCE_DOMAIN = 'bounces.contoso.com';

/** One SMTP transaction with the null reverse path, as an MTA returns mail; resolves with the reply or rejects with the error. */
function sendReturn(port: number, to: string, raw: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, logger: false, name: 'mx.fabrikam.org' });
    c.on('error', reject);
    c.connect(() =>
      c.send({ from: '', to: [to] }, raw, (err, info) => {
        c.quit();
        if (err) reject(err);
        else resolve(info.response);
      }),
    );
  });
}

/** `n` sent messages to one user (conference information: no PIN), as the worker left them. */
async function sentRows(t: TestEnv, n: number): Promise<OutboxTable[]> {
  const u = await addUser(t.scope, { UserUri: `bob${Math.random().toString(36).slice(2, 8)}@tailspin.com`, DisplayName: 'Bob Kelly' });
  const rows = Array.from({ length: n }, () => ({ ...mailRow(t.scope, DEFAULT_TENANT_SETTINGS, { kind: 'conference_info', user: { id: u.id, email: u.email, language: 'en-US' }, data: { displayName: 'Bob Kelly', sipAddress: u.sip, conferenceId: null, tollNumber: null, tollFreeNumber: null, bridgeName: null } })!, status: 'sent', sent_at: Date.now() }));
  for (let i = 0; i < rows.length; i += 200) await t.ctx.db.kysely.insertInto('outbox').values(rows.slice(i, i + 200)).execute();
  return rows;
}

for (const dialect of DIALECTS) {
  describe(`bounce receivers (${dialect})`, () => {
    let t: TestEnv;
    let receivers: BounceReceivers;
    let imap: TestImap;
    let port: number;
    before(async () => {
      port = await freePort();
      imap = await startTestImap();
      t = await testEnv(dialect, {
        DIALIN_MAIL_FROM: 'noreply@contoso.com',
        DIALIN_BOUNCE_DOMAIN: BOUNCE_DOMAIN,
        DIALIN_BOUNCE_LISTEN: `127.0.0.1:${port}`,
        DIALIN_BOUNCE_IMAP_URL: `imap://${imap.user}:${imap.pass}@127.0.0.1:${imap.port}/INBOX?requireTLS=false`,
        DIALIN_BOUNCE_IMAP_POLL_MS: '3600000',
      });
      // The listener only (the mailbox is polled by `dialin bounces --once` below).
      receivers = await startBounceReceivers({ ctx: t.ctx, config: { ...t.config, bounces: { ...t.config.bounces, imapUrl: null } }, log: captureLog() });
    });
    after(async () => {
      await receivers?.close();
      await t?.cleanup();
      await imap?.stop();
    });

    const status = async (id: string) => (await t.ctx.db.kysely.selectFrom('outbox').select(['status', 'report_status']).where('id', '=', id).executeTakeFirstOrThrow());

    it('refuses at RCPT other domains, forged tokens and tokens of no message; 10 MB and malformed MIME refused; it keeps working', async () => {
      const [row] = await sentRows(t, 1);
      const good = returnPathOf(t.ctx.keys, row!.id, BOUNCE_DOMAIN);
      const dsn = corpusMessage('postfix-unknown-user', { returnPath: good, recipient: row!.recipient, messageId: row!.message_id });
      const refused = async (to: string, raw: Buffer, code: number) => {
        await assert.rejects(sendReturn(port, to, raw), (e: { responseCode?: number; response?: string }) => e.responseCode === code || assert.fail(`expected ${code}, got ${e.responseCode} ${e.response}`));
      };
      await refused(`postmaster@fabrikam.org`, dsn, 550);
      await refused(`bounce+${row!.id.replace(/-/g, '')}-aaaaaaaaaaaaaaaa@${BOUNCE_DOMAIN}`, dsn, 550);
      await refused(returnPathOf(t.ctx.keys, '01900000-0000-7000-8000-000000000000', BOUNCE_DOMAIN), dsn, 550);
      await refused(good, Buffer.concat([dsn, Buffer.alloc(10 * 1024 * 1024, 'a')]), 552);
      await refused(good, Buffer.from('From: a@b.c\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n--nothing\r\n'), 554);
      await refused(good, Buffer.from('garbage without any header\r\n\r\n\u0000\u0001'), 554);
      assert.equal((await status(row!.id)).status, 'sent', 'nothing recorded by refused returns');
      assert.match(await sendReturn(port, good, dsn), /^250 .*recorded: bounced/);
      assert.deepEqual(await status(row!.id), { status: 'bounced', report_status: '5.1.1' });
      // A late delay report never hides the bounce.
      await sendReturn(port, good, corpusMessage('delay-4xx', { returnPath: good, recipient: row!.recipient, messageId: row!.message_id }));
      assert.equal((await status(row!.id)).status, 'bounced');
    });

    it('1,000 returns in a burst over 8 connections: every one recorded on its own message', async () => {
      const rows = await sentRows(t, 1000);
      const before = receivers.counts();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, () =>
          new Promise<void>((resolve, reject) => {
            const c = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, logger: false });
            c.on('error', reject);
            const one = () => {
              const r = rows[next++];
              if (!r) return c.quit(), resolve();
              const rp = returnPathOf(t.ctx.keys, r.id, BOUNCE_DOMAIN);
              c.send({ from: '', to: [rp] }, corpusMessage(next % 2 ? 'gmail-no-such-user' : 'exchange-ndr', { returnPath: rp, recipient: r.recipient, messageId: r.message_id }), (err) => (err ? reject(err) : one()));
            };
            c.connect(one);
          }),
        ),
      );
      const counts = await t.ctx.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).where('id', 'in', rows.map((r) => r.id)).groupBy('status').execute();
      assert.deepEqual(counts.map((c) => [c.status, Number(c.n)]), [['bounced', 1000]]);
      assert.equal(receivers.counts().bounced - before.bounced, 1000);
    });

    it('`dialin bounces --once` reads the bounce mailbox (Dovecot over IMAP): matched by return path or quoted Message-ID, the rest counted and dropped', async () => {
      const rows = await sentRows(t, 3);
      const client = new ImapFlow({ host: '127.0.0.1', port: imap.port, secure: false, auth: { user: imap.user, pass: imap.pass }, logger: false });
      await client.connect();
      const v = (r: OutboxTable, returnPath: string) => ({ returnPath, recipient: r.recipient, messageId: r.message_id });
      await client.append('INBOX', corpusMessage('qmail-failure', v(rows[0]!, returnPathOf(t.ctx.keys, rows[0]!.id, BOUNCE_DOMAIN))));
      // Forwarded into the mailbox without its return path: the Message-ID it quotes, for its recipient.
      await client.append('INBOX', corpusMessage('exchange-ndr', v(rows[1]!, 'it-bounces@contoso.com')));
      // Quotes rows[2]'s Message-ID but is about somebody else: never put on that mail.
      await client.append('INBOX', corpusMessage('exim-failed', { ...v(rows[2]!, 'it-bounces@contoso.com'), recipient: 'someone.else@fabrikam.org' }));
      await client.append('INBOX', corpusMessage('arf-abuse', v(rows[2]!, returnPathOf(t.ctx.keys, rows[2]!.id, BOUNCE_DOMAIN))));
      await client.append('INBOX', corpusMessage('auto-reply', v(rows[2]!, returnPathOf(t.ctx.keys, rows[2]!.id, BOUNCE_DOMAIN))));
      await client.logout();
      const r = await runCli(['--json', 'bounces', '--once'], t.env);
      assert.equal(r.code, 0, r.stderr);
      const c = JSON.parse(r.stdout) as Record<string, number>;
      assert.deepEqual([c.bounced, c.complained, c.unmatched, c.ignored], [2, 1, 1, 1], r.stdout);
      assert.deepEqual(await status(rows[0]!.id), { status: 'bounced', report_status: '5.1.1' });
      assert.deepEqual(await status(rows[1]!.id), { status: 'bounced', report_status: '5.1.10' });
      assert.deepEqual(await status(rows[2]!.id), { status: 'complained', report_status: 'abuse' });
      assert.ok(!`${r.stdout}${r.stderr}`.includes(imap.pass), 'the mailbox password is never printed');
      const again = JSON.parse((await runCli(['--json', 'bounces', '--once'], t.env)).stdout) as Record<string, number>;
      assert.equal(Object.values(again).reduce((a, b) => a + b, 0), 0, 'read messages are marked seen and not read again');
    });
  });
}
