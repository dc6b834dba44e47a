import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createPgDatabase, DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';
import { selfSigned, type TestCert } from '../welcome/support/welcome-env.ts';
import { closedPort } from '../support/free-port.ts';
import { KEY_FILE } from '../../src/adapters/crypto/keys.ts';
import { openDb, sqliteFile } from '../../src/adapters/db/database.ts';

/** The doctor's lines by check: [status, detail, fix]. */
function findings(r: CliResult): Record<string, { status: string; detail: string; fix: string | null }> {
  const list = JSON.parse(r.stdout) as { Check: string; Status: string; Detail: string; Fix: string | null }[];
  return Object.fromEntries(list.map((f) => [f.Check, { status: f.Status, detail: f.Detail, fix: f.Fix }]));
}

const doctor = (env: Record<string, string>) => runCli(['--json', 'doctor'], env);

for (const dialect of DIALECTS) {
  describe(`dialin doctor (${dialect})`, () => {
    let t: TestEnv;
    let sink: SmtpSink;
    let cert: TestCert;
    const sqlRun = (q: ReturnType<typeof sql>) => q.execute(t.ctx.db.kysely);
    before(async () => {
      // A deliverable setup: a relay with STARTTLS, a real sender domain, a fully qualified EHLO
      // name; DNS points at a closed port, so its checks are warnings ("could not check").
      cert = selfSigned();
      sink = await SmtpSink.start({ tls: cert });
      t = await testEnv(dialect, { DIALIN_SMTP_URL: sink.url, DIALIN_SMTP_CA_FILE: cert.file, DIALIN_MAIL_FROM: 'noreply@dialin.contoso.com', DIALIN_SMTP_HELO_NAME: 'dialin.contoso.com', DIALIN_DNS_SERVERS: `127.0.0.1:${await closedPort()}`, DIALIN_DNS_TIMEOUT_MS: '500' });
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await enable(t.scope, await addUsers(t.scope, 'doc', 3));
    });
    after(async () => {
      await t.cleanup();
      await sink.stop();
      cert.remove();
    });

    it('a healthy deployment: every check OK (DNS could not be asked: warnings, never OK), exit 0', async () => {
      const r = await doctor(t.env);
      assert.equal(r.code, 0, r.stderr);
      const f = findings(r);
      assert.deepEqual(Object.keys(f), ['database', 'schema', 'keys', 'relay', 'outbox', 'sender', 'links', 'ehlo', 'message-id', 'queue', 'tls', 'spf', 'dmarc', 'dkim']);
      const dns = ['spf', 'dmarc'];
      assert.ok(Object.entries(f).every(([k, x]) => x.status === (dns.includes(k) ? 'WARNING' : k === 'dkim' ? 'WARNING' : 'OK')), r.stdout);
      assert.match(f.spf!.detail, /^could not check the SPF record of dialin\.contoso\.com: DNS did not answer/);
      assert.match(f.dkim!.detail, /not DKIM-signed: dialin has no key/);
      assert.match(f.keys!.detail, /opens the PINs waiting in the outbox \(3 tried\)/);
      assert.match(f.relay!.detail, /connection and TLS accepted/);
      assert.match(f.outbox!.detail, /^3 queued, 0 sending, 0 sent/);
    });

    it('the wrong key, the relay down and mail stuck in sending: one problem each, with its fix; exit 1', async () => {
      const [row] = await t.ctx.db.kysely.selectFrom('outbox').select('id').limit(1).execute();
      await t.ctx.db.kysely.updateTable('outbox').set({ status: 'sending', lease_owner: 'gone/1/x#1', lease_until: Date.now() - 600_000 }).where('id', '=', row!.id).execute();
      await sink.down();
      try {
        const r = await doctor({ ...t.env, DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex') });
        assert.equal(r.code, 1);
        // With --json the error is JSON too (docs/errors.md).
        const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
        assert.equal(error.code, 'DOCTOR_FOUND_PROBLEMS');
        assert.match(error.message, /^3 problem\(s\) found/);
        const f = findings(r);
        assert.deepEqual([f.database!.status, f.schema!.status], ['OK', 'OK']);
        assert.match(f.keys!.detail, /cannot open 3 of the 3 newest PINs waiting in the outbox/);
        assert.match(f.keys!.fix!, /restore the key of this deployment/);
        assert.match(f.relay!.detail, /ECONNREFUSED/);
        assert.match(f.relay!.fix!, /start the relay/);
        assert.match(f.outbox!.detail, /1 message\(s\) still marked sending although their lease ran out/);
        assert.match(f.outbox!.fix!, /start `dialin worker`/);
      } finally {
        await sink.up();
        await t.ctx.db.kysely.updateTable('outbox').set({ status: 'queued', lease_owner: null, lease_until: null }).where('id', '=', row!.id).execute();
      }
    });

    it('a paused tenant and a relay refusing the login (the password never printed)', async () => {
      const relay = await SmtpSink.start({ auth: { user: 'relay', pass: 'right' } });
      await t.ctx.db.kysely.insertInto('mail_pauses').values({ tenant_id: t.scope.tenant.id, reason: 'the relay refused the login: 535 5.7.8 no', paused_at: Date.now(), retry_at: Date.now() + 600_000 }).execute();
      try {
        const r = await doctor({ ...t.env, DIALIN_SMTP_URL: `smtp://relay:canary-pw-8c1e@127.0.0.1:${relay.port}?requireTLS=false` });
        assert.equal(r.code, 1);
        const f = findings(r);
        assert.match(f.relay!.detail, /refused the login: .*535/);
        assert.match(f.relay!.fix!, /user and password in DIALIN_SMTP_URL/);
        assert.match(f.outbox!.detail, /deliveries paused for 1 tenant\(s\): default since .*: the relay refused the login/);
        assert.match(f.outbox!.fix!, /dialin mail resume/);
        assert.ok(!`${r.stdout}${r.stderr}`.includes('canary-pw-8c1e'), 'the password is never printed');
      } finally {
        await t.ctx.db.kysely.deleteFrom('mail_pauses').execute();
        await relay.stop();
      }
    });

    it('mail overdue (no worker), and no key although users have PINs; a key file others can read', async () => {
      await t.ctx.db.kysely.updateTable('outbox').set({ run_at: Date.now() - 3_600_000 }).execute();
      const noKey = { ...t.env, DIALIN_PIN_KEY: '' };
      try {
        let f = findings(await doctor(noKey));
        assert.match(f.outbox!.detail, /3 message\(s\) due for more than 5 minutes .*no worker is delivering/);
        assert.match(f.keys!.detail, new RegExp(`no key \\(${t.dataDir}/${KEY_FILE} does not exist and DIALIN_PIN_KEY is not set\\), but 3 user\\(s\\) have a PIN`));
        assert.ok(!fs.existsSync(path.join(t.dataDir, KEY_FILE)), 'the doctor creates no key');
        fs.writeFileSync(path.join(t.dataDir, KEY_FILE), `${t.env.DIALIN_PIN_KEY}\n`, { mode: 0o644 });
        fs.chmodSync(path.join(t.dataDir, KEY_FILE), 0o644);
        f = findings(await doctor(noKey));
        assert.equal(f.keys!.status, 'PROBLEM');
        assert.match(f.keys!.fix!, /^chmod 600 /);
      } finally {
        fs.rmSync(path.join(t.dataDir, KEY_FILE), { force: true });
        await t.ctx.db.kysely.updateTable('outbox').set({ run_at: Date.now() }).execute();
      }
    });

    it('a database migrated by a newer dialin', async () => {
      await sqlRun(sql`insert into dialin_migrations (name, timestamp) values ('9999_future', 'x')`);
      try {
        const r = await doctor(t.env);
        const f = findings(r);
        assert.equal(r.code, 1);
        assert.match(f.schema!.detail, /migrated by a newer dialin \(9999_future/);
        assert.equal(f.outbox, undefined, 'data is not read under an unknown schema');
      } finally {
        await sqlRun(sql`delete from dialin_migrations where name = '9999_future'`);
      }
    });

    it('a new, empty database: "run dialin migrate", and the doctor migrates nothing', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-doctor-'));
      const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
      try {
        const env = { DIALIN_DATA_DIR: dataDir, DIALIN_SMTP_URL: sink.url, ...(pgdb ? { DATABASE_URL: pgdb.url } : {}) };
        const r = await doctor(env);
        assert.equal(r.code, 1);
        const f = findings(r);
        if (pgdb) {
          assert.equal(f.schema!.status, 'PROBLEM');
          assert.match(f.schema!.fix!, /run `dialin migrate`/);
          const db = openDb({ dataDir, databaseUrl: pgdb.url });
          const tables = await db.kysely.introspection.getTables({ withInternalKyselyTables: true });
          await db.close();
          assert.deepEqual(tables, [], 'nothing created');
        } else {
          assert.match(f.database!.detail, /dialin\.sqlite: the file does not exist/);
          assert.match(f.database!.fix!, /`dialin migrate` creates the database/);
          assert.ok(!fs.existsSync(sqliteFile(dataDir)), 'no database file created');
        }
        assert.match(f.keys!.detail, /no key yet/);
        assert.ok(!fs.existsSync(path.join(dataDir, KEY_FILE)), 'no key file created');
      } finally {
        await pgdb?.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
