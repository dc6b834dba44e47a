import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable } from '../support/fixtures.ts';
import { deliveryStatus } from '../../src/app/mail-admin.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';
import { OutboxStore } from '../../src/worker/outbox-store.ts';
import { insertMailRows, mailRow } from '../../src/app/mail-queue.ts';
import { readSettings } from '../../src/app/tenant-settings.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';

async function rowsTo(m: MailEnv, prefix: string): Promise<OutboxTable[]> {
  return m.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('recipient', 'like', `${prefix}%`).execute();
}

async function allSent(m: MailEnv, prefix: string, n: number): Promise<void> {
  await until(async () => (await rowsTo(m, prefix)).filter((r) => r.status === 'sent').length === n, `${n} ${prefix}… mails sent`);
}

/** A self-signed certificate for 127.0.0.1 (the test relay's STARTTLS), and its file for DIALIN_SMTP_CA_FILE. */
function selfSigned(): { key: string; cert: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(`${dir}/key.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/cert.pem`, 'utf8'), file: `${dir}/cert.pem` };
}

for (const dialect of DIALECTS) {
  describe(`delivery faults (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      m = await mailEnv(dialect);
      await m.startWorker();
    });
    after(() => m.cleanup());

    it('relay down for a while, then back: the breaker stops sending and checks the relay; everything delivered once', async () => {
      await m.sink.down();
      const from = m.log.lines.length;
      const opened = () => m.log.lines.slice(from).filter((l) => l.includes('The relay cannot be reached'));
      await enable(m.t.scope, await addUsers(m.t.scope, 'down', 20));
      await until(async () => opened().length > 0, 'the breaker opens');
      // Without the breaker each message would be tried again every 200 ms to 1 s (the test's backoff).
      await new Promise((r) => setTimeout(r, 3000));
      const rows = await rowsTo(m, 'down');
      assert.ok(rows.every((r) => r.status === 'queued'), 'all waiting');
      const attempts = rows.map((r) => r.attempts);
      assert.ok(Math.max(...attempts) <= 1, `no message tried twice while the relay is down (${attempts.join(',')})`);
      assert.ok(attempts.reduce((a, b) => a + b, 0) < 20, 'messages not yet sent when it opened were held, not tried');
      assert.match(rows.find((r) => r.attempts === 1)!.last_error!, /ECONNREFUSED/);
      assert.equal(opened().length, 1, 'one warning, not one per message');
      await m.sink.up();
      await allSent(m, 'down', 20);
      assert.ok(m.log.lines.slice(from).some((l) => l.includes('The relay answers again')));
      const ids = m.sink.received.filter((x) => x.to[0]!.startsWith('down')).map((x) => x.messageId);
      assert.equal(ids.length, 20, 'no duplicate: a refused connection delivered nothing');
      assert.equal(new Set(ids).size, 20);
    });

    it('451: retried, delivered at the next attempt', async () => {
      const seen = new Set<string>();
      m.sink.faults = { rcpt: (a) => (a.startsWith('grey') && !seen.has(a) ? (seen.add(a), { code: 451, message: '4.7.1 Greylisted, try again later' }) : null) };
      await enable(m.t.scope, await addUsers(m.t.scope, 'grey', 3));
      await allSent(m, 'grey', 3);
      for (const r of await rowsTo(m, 'grey')) assert.equal(r.attempts, 2);
      m.sink.faults = {};
    });

    it('550: failed after exactly one attempt with the reply kept, PIN wiped; the others are delivered', async () => {
      m.sink.faults = { rcpt: (a) => (a === 'bounce1@contoso.com' ? { code: 550, message: '5.1.1 <bounce1@contoso.com>: Recipient address rejected: User unknown' } : null) };
      await enable(m.t.scope, await addUsers(m.t.scope, 'bounce', 3));
      await until(async () => (await rowsTo(m, 'bounce')).every((r) => r.status === 'sent' || r.status === 'failed'), 'final states');
      const rows = await rowsTo(m, 'bounce');
      const failed = rows.find((r) => r.recipient === 'bounce1@contoso.com')!;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts, 1);
      assert.match(failed.last_reply!, /^550 5\.1\.1 <bounce1@contoso.com>: Recipient address rejected: User unknown/);
      assert.equal(failed.pin_enc, null);
      assert.equal(rows.filter((r) => r.status === 'sent').length, 2);
      m.sink.faults = {};
    });

    it('connection dropped after the data: retried, marked uncertain, delivered', async () => {
      const dropped = new Set<string | null>();
      m.sink.faults = { dropAfterData: (id) => (id !== null && !dropped.has(id) && dropped.size < 2 ? (dropped.add(id), true) : false) };
      await enable(m.t.scope, await addUsers(m.t.scope, 'drop', 2));
      await allSent(m, 'drop', 2);
      for (const r of await rowsTo(m, 'drop')) {
        assert.equal(r.attempts, 2);
        assert.ok(dropped.has(r.message_id), 'the retry reuses the Message-ID');
      }
      m.sink.faults = {};
    });

    it('copies refused while the recipient is accepted: sent, with a note (a retry would send twice); the recipient refused: failed', async () => {
      m.sink.faults = { rcpt: (a) => (a === 'copy.refused@contoso.com' || a === 'primary.refused@contoso.com' ? { code: 550, message: '5.1.1 User unknown' } : null) };
      const settings = await readSettings(m.t.ctx.db.kysely, m.t.scope.tenant.id);
      const data = { displayName: 'Copy Test', sipAddress: 'sip:copy@contoso.com', conferenceId: '1234567', tollNumber: '+14255550100', tollFreeNumber: null, bridgeName: 'Conference Bridge' };
      const mail = (to: string, cc: string[]) => mailRow(m.t.scope, settings, { kind: 'conference_info', user: { id: crypto.randomUUID(), email: to, language: 'en' }, data, options: { cc, bcc: ['audit@contoso.com'] } })!;
      const a = mail('copyok@contoso.com', ['copy.refused@contoso.com']);
      const b = mail('primary.refused@contoso.com', ['copy2@contoso.com']);
      await m.t.ctx.db.kysely.transaction().execute((trx) => insertMailRows(trx, [a, b]));
      const final = async (id: string) => m.t.ctx.db.kysely.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      await until(async () => (await final(a.id)).status === 'sent' && (await final(b.id)).status === 'failed', 'the two outcomes');
      assert.equal((await final(a.id)).last_error, 'accepted for the recipient; not for copy.refused@contoso.com');
      assert.equal((await final(b.id)).last_error, 'the relay did not accept the recipient primary.refused@contoso.com');
      assert.equal((await final(b.id)).attempts, 1);
      const got = m.sink.received.find((r) => r.messageId === a.message_id)!;
      assert.deepEqual(got.to, ['copyok@contoso.com', 'audit@contoso.com']);
      assert.match(got.raw, /^Cc: copy\.refused@contoso\.com\r$/m);
      assert.doesNotMatch(got.raw, /^Bcc:/im, 'Bcc only in the envelope');
      m.sink.faults = {};
    });

    it('a message whose lease ran out (its worker died) is claimed again; a late result from the dead worker is ignored', async () => {
      await m.sink.down();
      await enable(m.t.scope, await addUsers(m.t.scope, 'lease', 1));
      const [row] = await rowsTo(m, 'lease');
      await m.t.ctx.db.kysely.updateTable('outbox').set({ status: 'sending', lease_owner: 'dead-worker#1', lease_until: Date.now() - 1, attempts: 1 }).where('id', '=', row!.id).execute();
      await m.sink.up();
      await allSent(m, 'lease', 1);
      const after = (await rowsTo(m, 'lease'))[0]!;
      assert.equal(after.attempts, 2);
      const stale = await new OutboxStore(m.t.ctx.db).record([{ kind: 'failed', id: row!.id, owner: 'dead-worker#1', error: 'late', reply: null }]);
      assert.equal(stale, 1, 'the fencing check ignores it');
      assert.equal((await rowsTo(m, 'lease'))[0]!.status, 'sent');
    });

    it('expired once its lifetime is over: kept, visible, with the reason', async () => {
      const t = await mailEnv(dialect, { env: () => ({ DIALIN_MAIL_LIFETIME_MS: '1200' }) });
      try {
        await t.sink.down();
        await t.startWorker();
        await enable(t.t.scope, await addUsers(t.t.scope, 'old', 2));
        await until(async () => (await rowsTo(t, 'old')).every((r) => r.status === 'expired'), 'expiry');
        const r = (await rowsTo(t, 'old'))[0]!;
        assert.match(r.last_error!, /^gave up after \d+ attempt\(s\) over 0\.0 day\(s\); last error: .*ECONNREFUSED/);
        assert.equal(r.pin_enc, null);
      } finally {
        await t.cleanup();
      }
    });

    it('535: the tenant is paused with the reason, nothing fails; deliveries resume once the relay accepts the login', async () => {
      const t = await mailEnv(dialect, { sink: { auth: { user: 'relay-user', pass: 'canary-smtp-password-7f3a' } }, env: (s) => ({ DIALIN_SMTP_URL: `smtp://relay-user:canary-smtp-password-7f3a@127.0.0.1:${s.port}?requireTLS=false` }) });
      try {
        t.sink.faults = { authFails: true };
        await t.startWorker();
        await enable(t.t.scope, await addUsers(t.t.scope, 'auth', 5));
        await until(async () => (await deliveryStatus(t.t.scope)).Paused, 'the pause');
        const st = await deliveryStatus(t.t.scope);
        assert.match(st.PauseReason!, /the relay refused the login: .*535/);
        await new Promise((r) => setTimeout(r, 300));
        const rows = await rowsTo(t, 'auth');
        assert.ok(rows.every((r) => r.status === 'queued' && r.pin_enc !== null), 'all still queued with their PIN');
        t.sink.faults = {};
        await allSent(t, 'auth', 5);
        assert.equal((await deliveryStatus(t.t.scope)).Paused, false);
        assert.ok(t.sink.received.every((x) => x.authenticated));
        assert.ok(!t.log.lines.join('\n').includes('canary-smtp-password-7f3a'), 'the password is never logged');
      } finally {
        await t.cleanup();
      }
    });

    it('credentials are never sent without TLS: a relay without STARTTLS pauses the tenant and gets no AUTH', async () => {
      const t = await mailEnv(dialect, { sink: { auth: { user: 'u', pass: 'p' } }, env: (s) => ({ DIALIN_SMTP_URL: `smtp://u:p@127.0.0.1:${s.port}` }) });
      try {
        await t.startWorker();
        await enable(t.t.scope, await addUsers(t.t.scope, 'plain', 1));
        await until(async () => (await deliveryStatus(t.t.scope)).Paused, 'the pause');
        assert.match((await deliveryStatus(t.t.scope)).PauseReason!, /TLS/);
        assert.deepEqual(t.sink.authAttempts, []);
        assert.equal(t.sink.received.length, 0);
      } finally {
        await t.cleanup();
      }
    });

    it('TLS certificates are verified: a self-signed relay pauses the tenant, unless its CA is given in DIALIN_SMTP_CA_FILE', async () => {
      const tls = selfSigned();
      const untrusted = await mailEnv(dialect, { sink: { tls, auth: { user: 'u', pass: 'p' } }, env: (s) => ({ DIALIN_SMTP_URL: `smtp://u:p@127.0.0.1:${s.port}` }) });
      try {
        await untrusted.startWorker();
        await enable(untrusted.t.scope, await addUsers(untrusted.t.scope, 'tls', 1));
        await until(async () => (await deliveryStatus(untrusted.t.scope)).Paused, 'the pause');
        assert.match((await deliveryStatus(untrusted.t.scope)).PauseReason!, /TLS with the relay failed: .*certificate/i);
        assert.deepEqual(untrusted.sink.authAttempts, []);
      } finally {
        await untrusted.cleanup();
      }
      const trusted = await mailEnv(dialect, { sink: { tls, auth: { user: 'u', pass: 'p' } }, env: (s) => ({ DIALIN_SMTP_URL: `smtp://u:p@127.0.0.1:${s.port}`, DIALIN_SMTP_CA_FILE: tls.file }) });
      try {
        await trusted.startWorker();
        await enable(trusted.t.scope, await addUsers(trusted.t.scope, 'tls', 1));
        await allSent(trusted, 'tls', 1);
        assert.ok(trusted.sink.received[0]!.authenticated);
      } finally {
        await trusted.cleanup();
        fs.rmSync(path.dirname(tls.file), { recursive: true, force: true });
      }
    });
  });
}
