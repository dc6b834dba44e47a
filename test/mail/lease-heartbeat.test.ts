import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/dialects.ts';
import { newUserRow } from '../../src/app/users.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { mailEnv, until, type MailEnv } from './support/mail-env.ts';

const LEASE_MS = 1000;
/** The relay holds every end-of-data answer this long: four leases. */
const RELAY_DELAY_MS = 4 * LEASE_MS;
const N = 3;

for (const dialect of DIALECTS) {
  describe(`a live worker keeps its lease (${dialect})`, () => {
    let m: MailEnv;
    before(async () => {
      // A send may take far longer than a lease; only the lease says when a worker is gone.
      m = await mailEnv(dialect, { env: () => ({ DIALIN_LEASE_MS: String(LEASE_MS), DIALIN_SMTP_TIMEOUT_MS: '60000' }) });
      m.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? RELAY_DELAY_MS : 0) };
    });
    after(() => m.cleanup());

    it('a slow relay answer outlasts the lease; the other worker does not send the message again', { timeout: 120_000 }, async () => {
      const rows = Array.from({ length: N }, (_, i) => newUserRow(m.t.scope, { UserUri: `slow${i}@contoso.com`, DisplayName: `Slow ${i}` }, Date.now()));
      await m.t.ctx.db.kysely.insertInto('users').values(rows).execute();
      await runInBatches(m.t.scope, rows.map((r) => r.sip), enableUsers(m.t.scope, { bridge: {} }), { batchSize: 500 });
      const a = await m.startWorker();
      const b = await m.startWorker();
      const k = m.t.ctx.db.kysely;
      const outbox = () => k.selectFrom('outbox').select(['id', 'status', 'attempts', 'lease_owner', 'lease_until']).orderBy('id').execute();

      await until(async () => (await outbox()).every((r) => r.status === 'sending'), 'every message claimed', 30_000);
      const claimed = await outbox();
      // Two leases later every message is still with the worker that claimed it, its lease renewed.
      await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
      const later = await outbox();
      for (const [i, r] of later.entries()) {
        if (r.status !== 'sending') continue; // answered already on a slow machine: checked below
        assert.equal(r.lease_owner, claimed[i]!.lease_owner, 'still held by the same claim');
        assert.ok(Number(r.lease_until) > Number(claimed[i]!.lease_until), 'the lease was renewed');
      }

      await until(async () => (await outbox()).every((r) => r.status === 'sent'), 'every message sent', 60_000);
      // A copy sent by the other worker would arrive a relay delay after its claim: wait for it.
      await new Promise((r) => setTimeout(r, RELAY_DELAY_MS + LEASE_MS));
      assert.equal(m.sink.received.length, N, 'each message reached the relay once');
      assert.equal(new Set(m.sink.received.map((r) => r.messageId)).size, N);
      assert.deepEqual((await outbox()).map((r) => r.attempts), Array(N).fill(1), 'one attempt each');
      assert.equal(a.stats().stale + b.stats().stale, 0, 'no outcome was refused by the fencing check');
      assert.equal(a.stats().sent + b.stats().sent, N);
      assert.equal(m.log.lines.filter((l) => l.includes('lease ran out')).length, 0, 'no lease ran out');
    });
  });
}
