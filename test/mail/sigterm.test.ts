import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable } from '../support/fixtures.ts';
import { BIN, ROOT } from '../support/cli.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';

for (const dialect of DIALECTS) {
  describe(`SIGTERM to dialin worker (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      m = await mailEnv(dialect);
    });
    after(() => m.cleanup());

    it('stops claiming, finishes the messages being sent, gives back unsent the ones still waiting, exits 0', { timeout: 60_000 }, async () => {
      const first = await addUsers(m.t.scope, 'term', 20);
      const later = await addUsers(m.t.scope, 'after', 5);
      await enable(m.t.scope, first);
      // The relay takes 1.5 s to answer each message: the signal comes while some are being sent.
      const beingSent = new Set<string | null>();
      m.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? 1500 : 0), data: (id) => (beingSent.add(id), null) };
      const worker = spawn(process.execPath, [BIN, 'worker'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...m.t.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let logs = '';
      worker.stderr!.on('data', (d) => (logs += d));
      const exited = new Promise<number | null>((r) => worker.on('exit', r));
      const rows = () => m.t.ctx.db.kysely.selectFrom('outbox').selectAll().execute();
      await until(async () => beingSent.size >= 1 && (await rows()).filter((r) => r.status === 'sending').length === 20, 'messages being sent', 30_000);
      worker.kill('SIGTERM');
      await until(() => logs.includes('Stopping'), 'the worker to take the signal');
      await enable(m.t.scope, later);
      assert.equal(await exited, 0, logs);
      const final = await rows();
      const sent = final.filter((r) => r.status === 'sent');
      // 4 connections, one message each being sent when the signal came: those finish.
      assert.ok(sent.length >= 1 && sent.length <= 8, `${sent.length} sent`);
      assert.deepEqual(new Set(sent.map((r) => r.message_id)), beingSent, 'exactly those the relay had were finished');
      assert.equal(m.sink.received.length, sent.length);
      const given = final.filter((r) => r.recipient.startsWith('term') && r.status !== 'sent');
      assert.equal(given.length, 20 - sent.length);
      assert.ok(given.every((r) => r.status === 'queued' && r.attempts === 0 && r.last_error === 'not sent: the worker was stopping' && r.pin_enc !== null), 'the waiting ones are back in the queue, not counted as attempts');
      const untouched = final.filter((r) => r.recipient.startsWith('after'));
      assert.equal(untouched.length, 5);
      assert.ok(untouched.every((r) => r.status === 'queued' && r.attempts === 0), 'nothing claimed after the signal');
      m.sink.faults = {};
    });
  });
}
