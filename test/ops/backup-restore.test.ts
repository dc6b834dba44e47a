import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPgDatabase, DIALECTS } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { newUserRow } from '../../src/app/users.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createContext } from '../../src/main/context.ts';
import { startDeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { sqliteFile } from '../../src/adapters/db/database.ts';
import { captureLog, FAST_DELIVERY, mailEnv, until, untilCount, type MailEnv } from '../mail/support/mail-env.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';

const USERS = 10_000;

/** An empty place to restore into: a data dir of its own and, on PostgreSQL, an empty database. */
async function emptyTarget(m: MailEnv, extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; isEmpty(): Promise<boolean>; drop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-restore-'));
  const pgdb = m.t.dialect === 'postgres' ? await createPgDatabase() : null;
  const env: Record<string, string> = { ...m.t.env, DIALIN_DATA_DIR: dataDir, ...(pgdb ? { DATABASE_URL: pgdb.url } : {}), ...extra };
  return {
    env,
    async isEmpty() {
      if (!pgdb) return !fs.existsSync(sqliteFile(dataDir)) && !fs.existsSync(path.join(dataDir, 'dialin.key'));
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      const n = Number((await c.query(`select count(*) as n from information_schema.tables where table_schema = 'public'`)).rows[0].n);
      await c.end();
      return n === 0;
    },
    async drop() {
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const countOf = async (k: MailEnv['t']['ctx']['db']['kysely'], status: string) => Number((await k.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', status).executeTakeFirstOrThrow()).n);

for (const dialect of DIALECTS) {
  describe(`dialin backup during a ${USERS}-mail run, then restore (${dialect})`, () => {
    let m: MailEnv;
    let dir: string;
    let file: string;
    const targets: { drop(): Promise<void> }[] = [];
    before(async () => {
      m = await mailEnv(dialect);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-backup-'));
      file = path.join(dir, 'dialin.tar');
    });
    after(async () => {
      await m.cleanup();
      for (const t of targets) await t.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the backup, taken while the worker delivers, restores to a database that delivers the rest exactly once, Message-IDs kept', { timeout: 2_400_000 }, async (tc) => {
      const now = Date.now();
      const rows = Array.from({ length: USERS }, (_, i) => newUserRow(m.t.scope, { UserUri: `backup${i}@contoso.com`, DisplayName: `Backup ${i}` }, now));
      for (let i = 0; i < rows.length; i += 500) await m.t.ctx.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();
      await runInBatches(m.t.scope, rows.map((r) => r.sip), enableUsers(m.t.scope, { bridge: {} }), { batchSize: 1000 });
      const original = new Map((await m.t.ctx.db.kysely.selectFrom('outbox').select(['id', 'message_id']).execute()).map((r) => [r.id, r.message_id]));
      assert.equal(original.size, USERS);

      await m.startWorker();
      await until(() => m.sink.received.length >= 500, 'the first 500 mails', 900_000);
      // The relay holds its answers while the backup runs: mail is in flight (sending) at the snapshot.
      let release!: () => void;
      const gate = new Promise<null>((r) => (release = () => r(null)));
      m.sink.faults.data = () => gate;
      const backup = await runCli(['--json', 'backup', file], m.t.env);
      release();
      assert.equal(backup.code, 0, backup.stderr);
      const made = JSON.parse(backup.stdout) as { Users: number; Outbox: number; Migrations: number; KeyVersions: string };
      assert.equal(made.Users, USERS);
      assert.equal(made.Outbox, USERS);
      assert.match(made.KeyVersions, /^1:[0-9a-f]{24}$/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the backup is readable by its owner only');
      const bytes = fs.readFileSync(file);
      assert.ok(!bytes.includes(Buffer.from(m.t.env.DIALIN_PIN_KEY!)) && !bytes.includes(Buffer.from(m.t.env.DIALIN_PIN_KEY!, 'hex')), 'the key is not in the backup');

      const target = await emptyTarget(m);
      targets.push(target);
      const restored = await runCli(['--json', 'restore', file], target.env);
      assert.equal(restored.code, 0, restored.stderr);
      const r = JSON.parse(restored.stdout) as { MailPending: number; MailRequeued: number };
      assert.ok(r.MailRequeued > 0, `mail in flight at the snapshot is queued again (${r.MailRequeued})`);

      // A second restore into it is refused: it is not empty any more; --force replaces it.
      const again = await runCli(['restore', file], target.env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /BACKUP_TARGET_NOT_EMPTY: .*10000 users/);
      const forced = await runCli(['--json', 'restore', '--force', file], target.env);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((JSON.parse(forced.stdout) as { MailPending: number }).MailPending, r.MailPending);

      const sink2 = await SmtpSink.start();
      const config = loadConfig({ ...target.env, ...FAST_DELIVERY, DIALIN_SMTP_URL: sink2.url });
      const ctx = await createContext(config, { actor: 'test' });
      try {
        const k = ctx.db.kysely;
        const snap = await k.selectFrom('outbox').select(['id', 'message_id', 'status']).execute();
        assert.equal(snap.length, USERS);
        for (const s of snap) assert.equal(s.message_id, original.get(s.id), 'Message-ID kept');
        const sentAtSnapshot = new Set(snap.filter((s) => s.status === 'sent').map((s) => s.message_id));
        const unsent = new Set(snap.filter((s) => s.status === 'queued').map((s) => s.message_id));
        assert.equal(sentAtSnapshot.size + unsent.size, USERS, 'every row is sent or queued after the restore');
        assert.equal(unsent.size, r.MailPending);
        assert.ok(sentAtSnapshot.size >= 400 && unsent.size > 0, `taken mid-run: ${sentAtSnapshot.size} sent, ${unsent.size} not`);

        const log = captureLog();
        const w = await startDeliveryWorker({ ctx, config, log });
        try {
          await untilCount(() => countOf(k, 'sent'), USERS, 'every restored mail sent');
        } finally {
          await w.stop();
        }
        const counts = new Map<string, number>();
        for (const rec of sink2.received) counts.set(rec.messageId!, (counts.get(rec.messageId!) ?? 0) + 1);
        const uncertain = new Set(log.lines.filter((l) => l.includes('may arrive twice')).map((l) => (JSON.parse(l) as { messageId: string }).messageId));
        for (const id of unsent) assert.ok(counts.has(id), `${id} delivered after the restore`);
        for (const [id, n] of counts) {
          assert.ok(unsent.has(id), `${id} was sent before the snapshot and not again`);
          if (n > 1) assert.ok(uncertain.has(id), `${id} delivered ${n} times without an uncertain attempt`);
        }
        assert.equal(await countOf(k, 'failed'), 0, 'every sealed PIN opened with the restored key ring');
        tc.diagnostic(`${sentAtSnapshot.size} sent before the snapshot, ${r.MailRequeued} in flight, ${unsent.size} delivered after the restore`);
      } finally {
        await ctx.db.close();
        await sink2.stop();
      }
    });

    it('a restore with another key is refused at once, naming the key version, and leaves the target empty', { timeout: 300_000 }, async () => {
      const target = await emptyTarget(m, { DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex') });
      targets.push(target);
      const r = await runCli(['restore', file], target.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /BACKUP_KEY_MISMATCH: The backup was written with another key as version 1 /);
      assert.ok(await target.isEmpty());
      // No key at all (a key-file deployment whose file was not restored): said so, and no key file made.
      const { DIALIN_PIN_KEY: _, ...noKey } = target.env;
      const r2 = await runCli(['restore', file], noKey);
      assert.equal(r2.code, 1);
      assert.match(r2.stderr, /BACKUP_KEY_MISMATCH: There is no key ring/);
      assert.ok(await target.isEmpty());
    });

    it('a truncated or altered backup is refused by its checksum and leaves the target empty', { timeout: 300_000 }, async () => {
      const target = await emptyTarget(m);
      targets.push(target);
      const whole = fs.readFileSync(file);
      const truncated = path.join(dir, 'truncated.tar');
      fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
      const altered = path.join(dir, 'altered.tar');
      const copy = Buffer.from(whole);
      const at = 1536 + Math.floor((whole.length - 4096) / 2); // inside the data member
      copy[at] = copy[at]! ^ 0x01;
      fs.writeFileSync(altered, copy);
      const manifestAltered = path.join(dir, 'manifest-altered.tar');
      const copy2 = Buffer.from(whole);
      const i = copy2.indexOf('"users": ');
      copy2.write('"users": 9', i);
      fs.writeFileSync(manifestAltered, copy2);
      for (const [f, why] of [
        [truncated, /truncated/],
        [altered, /does not match its checksum/],
        [manifestAltered, /manifest\.json does not match its checksum/],
      ] as const) {
        const r = await runCli(['restore', f], target.env);
        assert.equal(r.code, 1, f);
        assert.match(r.stderr, /BACKUP_CORRUPT: /);
        assert.match(r.stderr, why);
        assert.ok(await target.isEmpty(), `${f} left nothing`);
      }
      const other = await runCli(['restore', path.join(dir, 'missing.tar')], target.env);
      assert.match(other.stderr, /FILE_NOT_FOUND/);
    });
  });
}
