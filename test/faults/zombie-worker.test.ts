import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Reply } from '../mail/support/smtp-sink.ts';
import { until, untilCount } from '../mail/support/mail-env.ts';
import { deliveries, deployment, enableMany, statusCounts, type Deployment } from './support/deployment.ts';
import { pidOfOwner, startWorker, stopAll } from './support/procs.ts';

/** The worker's final totals, from its "Delivery worker stopped." log line. */
function finalStats(output: string): { sent: number; stale: number } {
  const line = output.split('\n').find((l) => l.includes('"Delivery worker stopped."'));
  assert.ok(line, `the worker logged its totals:\n${output.slice(-2000)}`);
  return JSON.parse(line) as { sent: number; stale: number };
}

/**
 * R9 of reliability.md: worker A is frozen (SIGSTOP) in the middle of a send, past its lease;
 * worker B takes the message over and delivers it. When A wakes up (SIGCONT) its attempt ends
 * late — the relay refuses it — and that outcome must not touch the row B finished: the fencing
 * check (status `sending` and the same lease owner) ignores it.
 */
describe('SIGSTOP a worker past its lease (PostgreSQL, 2 workers)', () => {
  let d: Deployment;
  before(async () => {
    // Only the frozen worker loses its lease; a send slowed by a loaded machine does not time out.
    d = await deployment({ env: { DIALIN_LEASE_MS: '3000', DIALIN_SMTP_TIMEOUT_MS: '60000' } });
  });
  after(async () => {
    await stopAll();
    await d?.cleanup();
  });

  it("another worker delivers; the first one's late result is ignored", { timeout: 600_000 }, async () => {
    const workers = await Promise.all([startWorker(d.env), startWorker(d.env)]);
    let heldId: string | null = null;
    let release: (r: Reply) => void = () => {};
    // The relay holds its answer to the first message it gets (its sender is stuck mid-send).
    d.sink.faults = {
      data: (id) => {
        if (heldId !== null) return null;
        heldId = id;
        return new Promise<Reply>((resolve) => (release = resolve));
      },
    };
    await enableMany(d.scope, 'zombie', 1);
    await until(() => heldId !== null, 'the first message at the relay');
    const k = d.ctx.db.kysely;
    const row = () => k.selectFrom('outbox').selectAll().where('message_id', '=', heldId!).executeTakeFirstOrThrow();
    const claimed = await row();
    assert.equal(claimed.status, 'sending');
    const zombie = workers.find((w) => w.pid === pidOfOwner(claimed.lease_owner))!;
    const other = workers.find((w) => w !== zombie)!;
    zombie.signal('SIGSTOP');

    await enableMany(d.scope, 'more', 50);
    await until(async () => (await row()).status === 'sent', 'the other worker delivering the message after the lease', 120_000);
    const delivered = await row();
    assert.equal(delivered.attempts, 2, 'claimed again once the lease ran out');

    release({ code: 550, message: '5.7.1 refused (late answer to the frozen worker)' });
    zombie.signal('SIGCONT');
    await untilCount(async () => (await statusCounts(d.ctx)).sent ?? 0, 51, 'all mail sent');
    assert.equal(await zombie.stop(), 0, zombie.output().slice(-2000));
    assert.equal(await other.stop(), 0, other.output().slice(-2000));

    assert.ok(finalStats(zombie.output()).stale >= 1, "the frozen worker's late outcome was refused by the fencing check");
    const final = await row();
    assert.deepEqual(
      { status: final.status, attempts: final.attempts, last_reply: final.last_reply, sent_at: final.sent_at, lease_owner: final.lease_owner },
      { status: 'sent', attempts: 2, last_reply: delivered.last_reply, sent_at: delivered.sent_at, lease_owner: null },
      'the row stays as the other worker left it',
    );
    assert.equal(deliveries(d.sink.received).get(heldId!), 1, 'delivered once (the late copy was refused)');
    assert.deepEqual(await statusCounts(d.ctx), { sent: 51 });
  });
});
