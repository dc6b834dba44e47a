import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inFlightLimit } from '../../src/worker/delivery-worker.ts';
import { until, untilCount } from '../mail/support/mail-env.ts';
import { deliveries, deployment, enableMany, statusCounts, type Deployment } from './support/deployment.ts';
import { spawnDialin, startWorker, stopAll, type DialinProcess } from './support/procs.ts';

const MAILS = 10_000;
const KILLS = 20;
const CONNECTIONS = 4;
const WINDOW = inFlightLimit(CONNECTIONS);
/**
 * The relay takes this long per message while the kills go on (a remote relay can take longer):
 * 2 workers × 4 connections then send at most 80 mails/s, so the 10,000 outlast the 20 kills
 * however fast the machine restarts workers. Once the kills are done the relay answers at once
 * and the rest goes at full speed.
 */
const RELAY_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * R1 of reliability.md with two workers on one PostgreSQL database: `dialin worker` processes are
 * killed with SIGKILL 20 times, at random 0.5–3 s intervals, each restarted at once, while
 * 10,000 welcome mails go out. Whatever a killed worker held (claimed, outcome not committed)
 * goes back to the queue when its lease runs out and the other worker sends it again.
 */
describe(`kill -9 of a worker ${KILLS} times during a ${MAILS.toLocaleString('en')}-mail run with 2 workers (PostgreSQL)`, () => {
  let d: Deployment;
  before(async () => {
    // The send deadline is not the lease's: a send slowed by a loaded machine does not time out (and go out twice).
    d = await deployment({ env: { DIALIN_SMTP_CONNECTIONS: String(CONNECTIONS), DIALIN_LEASE_MS: '4000', DIALIN_SMTP_TIMEOUT_MS: '60000' } });
  });
  after(async () => {
    await stopAll();
    await d?.cleanup();
  });

  it('0 lost; every duplicate keeps its Message-ID and was in flight at a kill; nothing stuck in sending', { timeout: 1_200_000 }, async (tc) => {
    await enableMany(d.scope, 'kill', MAILS);
    d.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? RELAY_MS : 0) };
    const k = d.ctx.db.kysely;
    const sent = async () => (await statusCounts(d.ctx)).sent ?? 0;
    const heldBy = (pid: number) => k.selectFrom('outbox').select('message_id').where('status', '=', 'sending').where('lease_owner', 'like', `%/${pid}/%`).execute();

    const workers: DialinProcess[] = await Promise.all([startWorker(d.env), startWorker(d.env)]);
    const inFlightAtKill = new Set<string>();
    let killedMidRun = 0;
    for (let i = 0; i < KILLS; i++) {
      const slot = i % 2;
      const target = workers[slot]!;
      // A worker restarted in an earlier round is killed only once it delivers again.
      await until(async () => (await heldBy(target.pid)).length > 0, `worker ${target.pid} claiming mail`, 180_000);
      await sleep(500 + Math.random() * 2500);
      target.signal('SIGKILL');
      await target.exited;
      const held = await heldBy(target.pid);
      assert.ok(held.length <= WINDOW, `a worker holds at most ${WINDOW} messages (${held.length})`);
      for (const r of held) inFlightAtKill.add(r.message_id);
      if ((await sent()) < MAILS) killedMidRun++;
      workers[slot] = spawnDialin(['worker'], d.env);
    }
    assert.equal(killedMidRun, KILLS, 'every kill happened while mail was still going out');
    d.sink.faults = {};

    await untilCount(sent, MAILS, 'all mail sent');
    for (const w of workers) assert.equal(await w.stop(), 0, `SIGTERM exits 0\n${w.output().slice(-2000)}`);

    const counts = deliveries(d.sink.received);
    const rows = await k.selectFrom('outbox').select(['message_id', 'recipient', 'attempts']).execute();
    assert.equal(rows.length, MAILS);
    const lost = rows.filter((r) => !counts.has(r.message_id));
    assert.deepEqual(lost, [], '0 lost: every message reached the relay');
    const duplicated = rows.filter((r) => counts.get(r.message_id)! > 1);
    for (const r of duplicated) {
      assert.ok(inFlightAtKill.has(r.message_id), `${r.message_id} arrived twice but was not in flight at a kill`);
      assert.ok(r.attempts >= 2, 'a duplicate comes from a second attempt');
    }
    const idsByRecipient = new Map<string, Set<string>>();
    for (const m of d.sink.received) idsByRecipient.set(m.to[0]!, (idsByRecipient.get(m.to[0]!) ?? new Set()).add(m.messageId!));
    assert.ok([...idsByRecipient.values()].every((ids) => ids.size === 1), 'every copy a recipient got carries the same Message-ID');
    assert.ok(duplicated.length <= KILLS * WINDOW);
    assert.deepEqual(await statusCounts(d.ctx), { sent: MAILS }, 'no row stuck in sending or queued');
    tc.diagnostic(`${KILLS} kills: ${inFlightAtKill.size} messages in flight at a kill, ${duplicated.length} delivered twice (all with their Message-ID)`);
  });
});
