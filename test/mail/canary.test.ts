import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable, one } from '../support/fixtures.ts';
import { BIN, ROOT, runCli } from '../support/cli.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';
import { parseMail } from './support/mime.ts';

/** The PIN as it could hide in text: plain, and inside base64 at each of the three alignments. */
function forms(pin: string): string[] {
  const b64 = [0, 1, 2].map((pad) => Buffer.from('\0'.repeat(pad) + pin).toString('base64').slice(pad ? 4 : 0, -4).replace(/=+$/, ''));
  return [pin, ...b64.filter((f) => f.length >= 8)];
}

function leaks(haystack: string | Buffer, pins: string[]): string[] {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
  return pins.flatMap((p) => forms(p).filter((f) => text.includes(f)).map((f) => `${p} as ${f}`));
}

for (const dialect of DIALECTS) {
  describe(`12-digit canary PINs after a full run (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      m = await mailEnv(dialect);
    });
    after(() => m.cleanup());

    it('are in the delivered mail only: not in logs, database files, listings or the outbox', { timeout: 60_000 }, async () => {
      await setTenantSettings(m.t.scope, { PinLength: 12 });
      const ids = await addUsers(m.t.scope, 'canary', 4);
      const pins = (await enable(m.t.scope, ids)).map((r) => r.output!.LeaderPin as string);
      const reset = await one(m.t.scope, ids[0]!, setDialInUsers(m.t.scope, { resetLeaderPin: true }));
      pins.push(reset.output!.LeaderPin as string);
      assert.ok(pins.every((p) => /^[0-9]{12}$/.test(p)));

      // The worker in its own process, logging at debug level.
      const worker = spawn(process.execPath, [BIN, 'worker'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...m.t.env, DIALIN_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let logs = '';
      worker.stdout!.on('data', (d) => (logs += d));
      worker.stderr!.on('data', (d) => (logs += d));
      const exited = new Promise<number | null>((r) => worker.on('exit', r));
      // 4 welcomes + 1 PIN changed; the first welcome was superseded by the reset.
      await until(async () => (await m.t.ctx.db.kysely.selectFrom('outbox').select('id').where('status', '=', 'sent').execute()).length === 4, 'delivery', 30_000);
      worker.kill('SIGTERM');
      assert.equal(await exited, 0, logs);
      assert.match(logs, /"level":20/, 'debug logging was on');

      // In the mail: each live PIN in its mail (text and HTML), never in a subject.
      const live = pins.slice(1);
      for (const pin of live) {
        const got = m.sink.received.map((r) => parseMail(r.raw)).filter((p) => p.text!.includes(pin));
        assert.equal(got.length, 1, `one mail carries ${pin}`);
        assert.ok(got[0]!.html!.includes(pin));
        assert.ok(!got[0]!.subject.includes(pin));
      }
      assert.ok(!m.sink.received.some((r) => r.raw.includes(pins[0]!)), 'the superseded PIN was never sent');

      // Nowhere else.
      const outbox = await m.t.ctx.db.kysely.selectFrom('outbox').selectAll().execute();
      const cli = await Promise.all([
        runCli(['mail', 'list', '--json'], m.t.env),
        runCli(['outbox', 'list', '--json'], m.t.env),
        runCli(['audit', '--json', '--limit', '1000'], m.t.env),
        runCli(['mail', 'show', outbox[0]!.id], m.t.env),
        runCli(['mail', 'show', outbox.at(-1)!.id], m.t.env),
        runCli(['Get-CsOnlineDialInConferencingUser'], m.t.env),
      ]);
      for (const c of cli) assert.equal(c.code, 0, c.stderr);
      const tables = ['outbox', 'audit', 'users', 'pin_history', 'mail_pauses', 'mail_templates', 'tenant_settings'] as const;
      const dump: string[] = [];
      for (const table of tables) dump.push(JSON.stringify(await m.t.ctx.db.kysely.selectFrom(table).selectAll().execute()));
      const places: [string, string | Buffer][] = [
        ['worker log', logs],
        ['database rows', dump.join('\n')],
        ...cli.map((c, i): [string, string] => [`CLI output ${i}`, c.stdout + c.stderr]),
      ];
      if (dialect === 'sqlite') {
        for (const f of fs.readdirSync(m.t.dataDir)) if (f.startsWith('dialin.sqlite')) places.push([f, fs.readFileSync(path.join(m.t.dataDir, f))]);
        assert.ok(places.some(([n]) => n === 'dialin.sqlite-wal'), 'the -wal file is checked');
      }
      for (const [where, content] of places) assert.deepEqual(leaks(content, pins), [], `no PIN in ${where}`);
      assert.ok(outbox.every((r) => r.pin_enc === null), 'every sealed PIN wiped');
    });
  });
}
