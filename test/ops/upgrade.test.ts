import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createPgDatabase, DIALECTS } from '../support/dialects.ts';
import { ROOT, runCli, type CliResult } from '../support/cli.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createContext } from '../../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../../src/app/tenants.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { getTenantSettings } from '../../src/app/tenant-settings.ts';
import { startDeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { MIGRATIONS } from '../../src/adapters/db/migrations/index.ts';
import { appliedMigrations, openDb } from '../../src/adapters/db/database.ts';
import { captureLog, FAST_DELIVERY, untilCount } from '../mail/support/mail-env.ts';
import { SmtpSink } from '../mail/support/smtp-sink.ts';
import { parseMail } from '../mail/support/mime.ts';

/**
 * The upgrade test of issue 17. The repository has no release tag yet, so "the previous release"
 * is commit 7e614fe, the last before the key ring (issue 17 part 1, migration 0015), which
 * changed how PIN hashes and seals are stored: its migrations are 0001–0013 and 0018. The test
 * takes that commit's code out of git (`git archive`), writes the data with it — that version's
 * own CLI and cmdlets, so the rows have its shape — migrates with the current code, and checks
 * that every user, PIN (the bridge check accepts it), queued mail and setting survived.
 */
const PREVIOUS = '7e614fe';
const USERS = 20;
const PINS: Record<string, string> = { 'old0@contoso.com': '4815162', 'old1@contoso.com': '9071253' };

function extractPrevious(): string | null {
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dialin-${PREVIOUS}-`));
    execFileSync('sh', ['-c', `git -C "$1" archive ${PREVIOUS} | tar -x -C "$2"`, 'sh', ROOT, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'));
    return dir;
  } catch {
    return null;
  }
}

/** Runs the previous version's `dialin`. */
function runOld(dir: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(dir, 'bin/dialin.js'), ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const old = extractPrevious();

for (const dialect of DIALECTS) {
  describe(`upgrade from ${PREVIOUS} (before the key ring) to this code (${dialect})`, { skip: old ? false : `git cannot give commit ${PREVIOUS} here (a shallow clone?): the upgrade test needs that version's code` }, () => {
    let dataDir: string;
    let env: Record<string, string>;
    let drop: (() => Promise<void>) | null = null;
    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-upgrade-'));
      const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
      drop = pgdb ? pgdb.drop : null;
      env = {
        DIALIN_DATA_DIR: dataDir,
        DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
        DIALIN_PUBLIC_URL: 'https://dialin.test.example',
        DIALIN_MAIL_FROM: FAST_DELIVERY.DIALIN_MAIL_FROM!,
        ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
      };
    });
    after(async () => {
      await drop?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('users, PINs, queued mails and settings written by the previous version survive the migration; --dry-run lists it first and changes nothing', { timeout: 600_000 }, async () => {
      const csv = path.join(dataDir, 'users.csv');
      fs.writeFileSync(csv, ['UserUri,DisplayName,EmailAddress,Language', ...Array.from({ length: USERS }, (_, i) => `old${i}@contoso.com,Old ${i},old${i}@contoso.com,${i % 2 ? 'fr' : 'en'}`)].join('\n') + '\n');
      const imported = await runOld(old!, ['users', 'import', csv], env);
      assert.equal(imported.code, 0, imported.stderr);
      const script = path.join(dataDir, 'setup.ps1');
      fs.writeFileSync(
        script,
        [
          'New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"',
          'Register-CsOnlineDialInConferencingServiceNumber -Identity +14255550100 -BridgeName "Conference Bridge"',
          'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultServiceNumber +14255550100',
          'Set-CsOnlineDialInConferencingTenantSettings -PinLength 7 -EnableNameRecording $false',
          `Enable-CsOnlineDialInConferencingUser -Identity ${Array.from({ length: USERS }, (_, i) => `old${i}@contoso.com`).join(',')}`,
          ...Object.entries(PINS).map(([u, p]) => `Set-CsClientPin -Identity ${u} -Pin ${p}`),
        ].join('\n') + '\n',
      );
      const setup = await runOld(old!, ['run', script], env);
      assert.equal(setup.code, 0, setup.stdout + setup.stderr);

      const known = Object.keys(MIGRATIONS);
      const db = openDb({ dataDir, databaseUrl: env.DATABASE_URL ?? null });
      const before = await appliedMigrations(db);
      await db.close();
      assert.ok(!before.includes('0015_key_ring') && before.includes('0013_verify_decoys') && before.includes('0018_local_numbers'), before.join(','));
      const expectedPending = known.filter((m) => !before.includes(m)).sort();

      const dry = await runCli(['--json', 'migrate', '--dry-run'], env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual((JSON.parse(dry.stdout) as { Pending: string[] }).Pending, expectedPending);
      assert.deepEqual((JSON.parse(dry.stdout) as { Backfills: string[] }).Backfills, ['0029_users_first_mail'], 'then the backfill of the users the old version mailed');
      const db2 = openDb({ dataDir, databaseUrl: env.DATABASE_URL ?? null });
      assert.deepEqual(await appliedMigrations(db2), before, '--dry-run changed nothing');
      await db2.close();

      const up = await runCli(['--json', 'migrate'], env);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual((JSON.parse(up.stdout) as { Applied: string[] }).Applied, expectedPending);
      assert.deepEqual((JSON.parse(up.stdout) as { Backfilled: unknown[] }).Backfilled, [{ Name: '0029_users_first_mail', Rows: USERS, Done: true }]);
      const again = await runCli(['migrate', '--dry-run'], env);
      assert.match(again.stdout, /is up to date .*nothing would run/);

      const sink = await SmtpSink.start();
      const config = loadConfig({ ...env, ...FAST_DELIVERY, DIALIN_SMTP_URL: sink.url });
      const ctx = await createContext(config, { actor: 'test' });
      try {
        const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
        const k = ctx.db.kysely;
        const users = await k.selectFrom('users').selectAll().orderBy('sip').execute();
        assert.equal(users.length, USERS);
        assert.ok(users.every((u) => u.dialin_enabled === 1 && u.conference_id && u.pin_hash), 'every user enabled with a conference ID and a PIN');
        assert.ok(users.every((u) => u.pin_key_version === 1), 'hashes of before the ring are key version 1');
        const firstMails = await k.selectFrom('outbox').select(['user_id', (eb) => eb.fn.min('created_at').as('at')]).groupBy('user_id').execute();
        assert.equal(firstMails.length, USERS);
        for (const f of firstMails) assert.equal(Number(users.find((u) => u.id === f.user_id)!.first_mail_at), Number(f.at), 'the backfill gave each mailed user the time of their first mail');
        for (const [uri, pin] of Object.entries(PINS)) {
          const u = users.find((x) => x.sip === `sip:${uri}`)!;
          assert.equal((await verifyLeaderPin(s, u.conference_id!, pin)).IsLeader, true, `${uri}'s PIN still works at the bridge`);
          assert.equal((await verifyLeaderPin(s, u.conference_id!, '1357913')).IsLeader, false);
        }
        const settings = await getTenantSettings(s);
        assert.equal(settings.PinLength, 7);
        assert.equal(settings.EnableNameRecording, false);

        // Set-CsClientPin shows the PIN to the administrator and mails nothing: the two reset users' welcomes were superseded.
        const queued = await k.selectFrom('outbox').select(['message_id', 'kind', 'recipient']).where('status', '=', 'queued').execute();
        assert.equal(queued.length, USERS - Object.keys(PINS).length);
        assert.ok(queued.every((q) => q.kind === 'welcome' && !Object.keys(PINS).includes(q.recipient)));
        const w = await startDeliveryWorker({ ctx, config, log: captureLog() });
        try {
          await untilCount(async () => Number((await k.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow()).n), queued.length, 'the queued mail sent');
        } finally {
          await w.stop();
        }
        assert.deepEqual(sink.received.map((r) => r.messageId).sort(), queued.map((q) => q.message_id).sort(), 'each queued mail delivered once, Message-ID kept');
        // Each welcome carries the PIN the previous version made and sealed: opened by this code, and it works at the bridge.
        for (const mail of sink.received) {
          const pin = /PIN[^\d\n]*(\d{7})\b/.exec(parseMail(mail.raw).text!)?.[1];
          assert.ok(pin, `a PIN in the welcome to ${mail.to[0]}`);
          const u = users.find((x) => x.email === mail.to[0])!;
          assert.equal((await verifyLeaderPin(s, u.conference_id!, pin)).IsLeader, true, `the PIN mailed to ${mail.to[0]} works`);
        }
      } finally {
        await ctx.db.close();
        await sink.stop();
      }
    });

    it('a database written by a newer dialin is refused with SCHEMA_NEWER_THAN_CODE, by migrate, --dry-run and every command, and nothing runs', { timeout: 300_000 }, async () => {
      const db = openDb({ dataDir, databaseUrl: env.DATABASE_URL ?? null });
      await sql`insert into dialin_migrations (name, timestamp) values ('9999_from_a_newer_dialin', '2030-01-01T00:00:00.000Z')`.execute(db.kysely);
      await db.close();
      for (const args of [['migrate'], ['migrate', '--dry-run'], ['users', 'list']]) {
        const r = await runCli(args, env);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, /SCHEMA_NEWER_THAN_CODE: The database .* has 1 migration\(s\) this version of dialin does not know \(9999_from_a_newer_dialin\): it was written by a newer dialin, and a downgrade is refused/);
      }
    });
  });
}
