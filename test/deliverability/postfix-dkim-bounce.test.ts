import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { dkimVerify } from 'mailauth';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startTestDns, type TestDns } from '../support/dnsmasq.ts';
import { startTestPostfix, type TestPostfix } from '../support/postfix.ts';
import { bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { captureLog, FAST_DELIVERY, until } from '../mail/support/mail-env.ts';
import { addUser } from '../../src/app/users.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { startBounceReceivers, type BounceReceivers } from '../../src/main/bounces.ts';

/**
 * The whole way past the relay, with real parts: dialin signs (RSA and Ed25519 keys made by
 * `dialin dkim generate`) and sends with a VERP return path to Debian's Postfix, run from a private
 * configuration; Postfix delivers alice's mail and bounces bob's (unknown user) with its own DSN to
 * dialin's bounce listener, which marks bob's mail bounced. The delivered mail is verified by
 * mailauth and by python3-dkim against the TXT records dkim generate printed; the doctor reads
 * SPF, DMARC and DKIM from a DNS server of the test's own (dnsmasq).
 */
const DOMAIN = 'contoso.com';

/** python3-dkim's verdict on a message, with DNS answered from the given records. */
function pythonDkim(message: Buffer, records: Record<string, string>): boolean {
  const script = `
import sys, json, re, dkim
records = json.loads(sys.argv[1])
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return records.get(n.rstrip('.'), '').encode()
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = len(re.findall(rb'^dkim-signature:', re.split(rb'\\r?\\n\\r?\\n', msg)[0], re.I | re.M))
ok = n == 2 and all(d.verify(idx=i, dnsfunc=dnsfunc) for i in range(n))
print('pass' if ok else 'fail')`;
  return execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(records)], { input: message }).toString().trim() === 'pass';
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

describe('deliverability with Postfix, DKIM and bounces', () => {
  let postfix: TestPostfix;
  let dns: TestDns;
  const listenPorts: Record<string, number> = {};
  before(async () => {
    for (const d of DIALECTS) listenPorts[d] = await freePort();
    postfix = await startTestPostfix(Object.fromEntries(DIALECTS.map((d) => [`bounces-${d}.${DOMAIN}`, listenPorts[d]!])));
    await listening(postfix.port);
    dns = await startTestDns([DOMAIN]);
  });
  after(async () => {
    postfix?.stop();
    await dns?.stop();
  });

  for (const dialect of DIALECTS) {
    describe(dialect, () => {
      let t: TestEnv;
      let worker: DeliveryWorker;
      let bounces: BounceReceivers;
      const log = captureLog();
      const records: Record<string, string> = {};
      before(async () => {
        t = await testEnv(dialect, {
          ...FAST_DELIVERY,
          DIALIN_SMTP_URL: `smtp://127.0.0.1:${postfix.port}`,
          DIALIN_MAIL_FROM: `"Dial-in Conferencing" <noreply@${DOMAIN}>`,
          DIALIN_BOUNCE_DOMAIN: `bounces-${dialect}.${DOMAIN}`,
          DIALIN_BOUNCE_LISTEN: `127.0.0.1:${listenPorts[dialect]}`,
          DIALIN_DNS_SERVERS: dns.server,
          DIALIN_SMTP_HELO_NAME: `dialin.${DOMAIN}`,
          DIALIN_PUBLIC_URL: `https://dialin.${DOMAIN}`,
        });
        await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      });
      after(async () => {
        await worker?.stop();
        await bounces?.close();
        await t?.cleanup();
      });

      it('dkim generate prints the records; a malformed domain or selector is refused with the field named', async () => {
        const r = await runCli(['--json', 'dkim', 'generate', '--domain', DOMAIN, '--ed25519'], t.env);
        assert.equal(r.code, 0, r.stderr);
        const keys = JSON.parse(r.stdout) as { RecordName: string; RecordValue: string; Algorithm: string; State: string }[];
        assert.deepEqual(keys.map((k) => [k.Algorithm, k.State]), [['rsa-sha256 (2048)', 'active'], ['ed25519-sha256', 'active']]);
        for (const k of keys) records[k.RecordName] = k.RecordValue;
        assert.match(keys[0]!.RecordValue, /^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]{300,}$/);
        assert.match(keys[1]!.RecordValue, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
        const sealed = await t.ctx.db.kysely.selectFrom('dkim_keys').select('private_key_sealed').execute();
        assert.ok(sealed.every((k) => !k.private_key_sealed.includes('PRIVATE KEY')), 'private keys are sealed, never in clear');
        const bad = await runCli(['dkim', 'generate', '--domain', 'contoso..com'], t.env);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /DKIM_DOMAIN_INVALID: Domain "contoso\.\.com" is not a domain name/);
        const badSel = await runCli(['dkim', 'generate', '--domain', DOMAIN, '--selector', 'bad_selector!'], t.env);
        assert.match(badSel.stderr, /DKIM_SELECTOR_INVALID: Selector "bad_selector!"/);
        assert.equal(Number((await t.ctx.db.kysely.selectFrom('dkim_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 2, 'nothing half-made');
      });

      it('alice gets a signed mail that mailauth and python3-dkim verify; bob\'s bounce comes back from Postfix to his message', async () => {
        bounces = await startBounceReceivers({ ctx: t.ctx, config: t.config, log });
        worker = await startDeliveryWorker({ ctx: t.ctx, config: t.config, log });
        const alice = await addUser(t.scope, { UserUri: 'alice@deliver.test', DisplayName: 'Alice Ciccu' });
        const bob = await addUser(t.scope, { UserUri: 'bob@deliver.test', DisplayName: 'Bob Kelly' });
        await enable(t.scope, [alice.sip, bob.sip]);
        worker.wake();
        const rowOf = (email: string) => t.ctx.db.kysely.selectFrom('outbox').selectAll().where('recipient', '=', email).executeTakeFirstOrThrow();
        await until(async () => (await rowOf('bob@deliver.test')).status === 'bounced', `bob's mail bounced (postfix log:\n${postfix.log().slice(-2000)})`, 30_000);
        const b = await rowOf('bob@deliver.test');
        assert.equal(b.report_status, '5.1.1');
        assert.match(b.report_diagnostic ?? '', /unknown user/);
        assert.equal(b.report_mta, postfix.hostname);
        assert.equal(b.pin_enc, null, 'the PIN was wiped when the relay took the mail');
        assert.equal((await rowOf('alice@deliver.test')).status, 'sent', 'the other mail is untouched');

        const a = await rowOf('alice@deliver.test');
        // The mailbox is shared by the dialects' runs: this run's mail is the one with its Message-ID.
        const mine = () => postfix.delivered('alice').find((m) => m.includes(`<${a.id}@`));
        await until(() => !!mine(), 'alice has her mail');
        const mail = mine()!;
        const text = mail.toString('latin1');
        assert.match(text, new RegExp(`^Return-Path: <bounce\\+${a.id.replace(/-/g, '')}-[a-z2-7]{16}@bounces-${dialect}\\.contoso\\.com>`, 'm'), 'the envelope sender is the VERP return path');
        assert.match(text, new RegExp(`^Message-ID: <${a.id}@contoso\\.com>`, 'mi'), 'the Message-ID is on the sender domain');
        assert.doesNotMatch(text, /^Content-Transfer-Encoding: base64/im, 'Latin text goes as 7bit or quoted-printable');
        assert.match(postfix.log(), /helo=<dialin\.contoso\.com>|client=localhost\[127\.0\.0\.1\]/);
        const resolver = async (name: string, rr: string) => {
          if (rr === 'TXT' && records[name]) return [[records[name]!]];
          throw Object.assign(new Error(`no ${rr} ${name}`), { code: 'ENOTFOUND' });
        };
        const v = await dkimVerify(mail, { resolver });
        assert.deepEqual(v.results.map((r) => [r.signingDomain, r.status.result]), [[DOMAIN, 'pass'], [DOMAIN, 'pass']], JSON.stringify(v.results.map((r) => r.status)));
        assert.ok(pythonDkim(mail, records), 'python3-dkim verifies both signatures');
        const altered = Buffer.from(text.replace(/Alice Ciccu/, 'Alice Cicco'), 'latin1');
        const v2 = await dkimVerify(altered, { resolver });
        assert.ok(v2.results.every((r) => r.status.result !== 'pass'), 'a mail altered after signing fails');
        assert.equal(pythonDkim(altered, records), false);
        const addedFrom = Buffer.concat([Buffer.from('From: ceo@contoso.com\r\n'), mail]);
        assert.ok((await dkimVerify(addedFrom, { resolver })).results.every((r) => r.status.result !== 'pass'), 'From is oversigned: one added on the way breaks the signature');
        assert.equal(bounces.counts().bounced, 1);
      });

      it('mail list --status bounced, Get-CsOnlineDialInConferencingUser LastMailStatus, and what to do', async () => {
        const list = await runCli(['--json', 'mail', 'list', '--status', 'bounced'], t.env);
        const rows = JSON.parse(list.stdout) as { Recipient: string; ReportStatus: string; ReportedBy: string; Advice: string }[];
        assert.deepEqual(rows.map((r) => [r.Recipient, r.ReportStatus, r.ReportedBy]), [['bob@deliver.test', '5.1.1', postfix.hostname]]);
        assert.match(rows[0]!.Advice, /never reached bob@deliver\.test.*Correct the user's e-mail address, then reset the PIN/);
        const u = await runCli(['Get-CsOnlineDialInConferencingUser', '-Identity', 'bob@deliver.test', '--json'], t.env);
        const out = JSON.parse(u.stdout) as { LastMailStatus: string } | { LastMailStatus: string }[];
        assert.equal((Array.isArray(out) ? out[0]! : out).LastMailStatus, 'bounced', u.stdout + u.stderr);
      });

      it('the doctor reads SPF, DMARC and DKIM from DNS, and says what to publish when a record is wrong', async () => {
        const spfDmarc = { [DOMAIN]: 'v=spf1 ip4:127.0.0.1 -all', [`_dmarc.${DOMAIN}`]: 'v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com' };
        await dns.serve({ ...records, ...spfDmarc });
        const byCheck = async () => {
          const r = await runCli(['--json', 'doctor'], t.env);
          return (JSON.parse(r.stdout) as { Check: string; Status: string; Detail: string; Fix: string | null }[]).filter((f) => ['spf', 'dmarc', 'dkim'].includes(f.Check));
        };
        let f = await byCheck();
        assert.deepEqual(f.map((x) => [x.Check, x.Status]), [['spf', 'OK'], ['dmarc', 'OK'], ['dkim', 'OK'], ['dkim', 'OK']], JSON.stringify(f));
        const [rsaName] = Object.keys(records);
        await dns.serve({ ...spfDmarc, [rsaName!]: 'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong' });
        f = await byCheck();
        const dkim = f.filter((x) => x.Check === 'dkim');
        assert.deepEqual(dkim.map((x) => x.Status), ['PROBLEM', 'PROBLEM']);
        assert.match(dkim[0]!.Detail, /publishes another key than dialin signs with/);
        assert.ok(dkim[0]!.Fix!.includes(records[rsaName!]!), 'the fix is the exact record');
        assert.match(dkim[1]!.Detail, /is not published/);
        await dns.serve({ [DOMAIN]: 'v=spf1 ip4:192.0.2.1 -all' });
        f = await byCheck();
        assert.match(f.find((x) => x.Check === 'spf')!.Detail, /does not allow the relay 127\.0\.0\.1 \(127\.0\.0\.1: fail\)/);
        assert.match(f.find((x) => x.Check === 'dmarc')!.Fix!, /_dmarc\.contoso\.com: "v=DMARC1; p=none/);
        await dns.stop();
        f = await byCheck();
        assert.ok(f.every((x) => x.Status === 'WARNING' && /^could not check/.test(x.Detail)), `DNS down: could not check, never OK: ${JSON.stringify(f)}`);
        await dns.serve({});
      });
    });
  }
});
