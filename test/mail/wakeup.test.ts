import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/dialects.ts';
import { addUsers, enable, one } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';

for (const dialect of DIALECTS) {
  describe(`a PIN reset reaches the relay at once (${dialect})`, () => {
    let m: MailEnv;
    let worker: DeliveryWorker;
    before(async () => {
      // Polling every minute: only a wake-up (in-process signal, or NOTIFY) delivers well before
      // that. The bounds are a fraction of the poll, not a speed: CI shares two busy cores.
      m = await mailEnv(dialect, { env: () => ({ DIALIN_MAIL_POLL_MS: '60000' }) });
      worker = await startDeliveryWorker({ ctx: m.t.ctx, config: m.t.config, log: m.log });
      await enable({ ...m.t.scope, onMailQueued: () => worker.wake() }, await addUsers(m.t.scope, 'wake', 1));
      await m.sink.waitFor(1, 5_000);
    });
    after(async () => {
      await worker.stop();
      await m.cleanup();
    });

    it('in the same process (as in dialin serve): without waiting for the poll', async () => {
      const s = { ...m.t.scope, onMailQueued: () => worker.wake() };
      const n = m.sink.received.length;
      const t0 = Date.now();
      await one(s, 'wake0@contoso.com', setDialInUsers(s, { resetLeaderPin: true }));
      await until(() => m.sink.received.length > n, 'the PIN mail', 30_000);
      const ms = Date.now() - t0;
      assert.ok(ms < 20_000, `${ms} ms: no wake-up, the mail waited for the 60 s poll`);
    });

    it(`from another process (${dialect === 'postgres' ? 'LISTEN/NOTIFY' : 'the default 250 ms poll'}): without waiting for the minute's poll`, async () => {
      if (dialect === 'sqlite') {
        // SQLite has no NOTIFY: a worker in another process than the writer polls.
        await worker.stop();
        worker = await startDeliveryWorker({ ctx: m.t.ctx, config: { ...m.t.config, delivery: { ...m.t.config.delivery, pollMs: 250 } }, log: m.log });
      }
      const n = m.sink.received.length;
      const cli = await runCli(['Set-CsOnlineDialInConferencingUser', '-Identity', 'wake0@contoso.com', '-ResetLeaderPin'], m.t.env);
      assert.equal(cli.code, 0, cli.stderr);
      const t0 = Date.now();
      await until(() => m.sink.received.length > n, 'the PIN mail', 30_000);
      const ms = Date.now() - t0;
      assert.ok(ms < 20_000, `${ms} ms after the command ended: the mail waited for the 60 s poll`);
    });
  });
}
