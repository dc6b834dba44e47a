import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/dialects.ts';
import { newUserRow } from '../../src/app/users.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { startDeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { mailEnv, untilCount, type MailEnv } from './support/mail-env.ts';

const N = 2000;

for (const dialect of DIALECTS) {
  describe(`two workers side by side (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      // A long lease: on a loaded machine a send must not time out (that would send it twice, rightly).
      m = await mailEnv(dialect, { env: () => ({ DIALIN_LEASE_MS: '20000' }) });
    });
    after(() => m.cleanup());

    it(`share ${N} mails without sending any twice`, { timeout: 600_000 }, async () => {
      const rows = Array.from({ length: N }, (_, i) => newUserRow(m.t.scope, { UserUri: `pair${i}@contoso.com`, DisplayName: `Pair ${i}` }, Date.now()));
      for (let i = 0; i < rows.length; i += 500) await m.t.ctx.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();
      await runInBatches(m.t.scope, rows.map((r) => r.sip), enableUsers(m.t.scope, { bridge: {} }), { batchSize: 500 });
      const [a, b] = await Promise.all([startDeliveryWorker({ ctx: m.t.ctx, config: m.t.config, log: m.log }), startDeliveryWorker({ ctx: m.t.ctx, config: m.t.config, log: m.log })]);
      try {
        await untilCount(() => m.sink.received.length, N, `${N} mails`);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(m.sink.received.length, N, 'no mail twice');
        assert.equal(new Set(m.sink.received.map((r) => r.messageId)).size, N);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
      assert.ok(a.stats().sent > 0 && b.stats().sent > 0, `both worked (${a.stats().sent} + ${b.stats().sent})`);
      assert.equal(a.stats().sent + b.stats().sent, N);
      assert.equal(a.stats().stale + b.stats().stale, 0);
    });
  });
}
