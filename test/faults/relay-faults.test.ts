import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { inFlightLimit } from '../../src/worker/delivery-worker.ts';
import type { Faults } from '../mail/support/smtp-sink.ts';
import { until, untilCount } from '../mail/support/mail-env.ts';
import { deliveries, deployment, enableMany, statusCounts, type Deployment } from './support/deployment.ts';
import { request, startProbe, type ProbeReport } from './support/probe.ts';
import { startServe, type DialinProcess } from './support/procs.ts';

/**
 * No latency threshold here (a loaded machine makes every answer slow): the API must answer every
 * request, and while the relay stalls each reply, answer more requests than it could if each one
 * waited for a relay reply. The latencies are printed, and measured by `npm run bench`.
 */

/**
 * One `dialin serve` (API, PIN check and delivery worker in one process, the tightest case for
 * isolation) on its own database and relay, with a user whose PIN the probes check and `mails`
 * more welcome mails queued before it starts (so the test process is idle while it measures).
 */
async function servedDeployment(mails: number, env: Record<string, string>, faults: Faults = {}): Promise<{ d: Deployment; serve: { proc: DialinProcess; url: string }; ivr: { conferenceId: string; pin: string } }> {
  // No worker dies here: a lease long enough that a busy machine never makes a live worker lose one.
  const d = await deployment({ env: { DIALIN_COMPOSE_THREADS: '1', DIALIN_LEASE_MS: '30000', ...env } });
  const [ivr] = await enableMany(d.scope, 'ivr', 1);
  await enableMany(d.scope, 'user', mails);
  d.sink.faults = faults;
  try {
    const serve = await startServe(d.env, { worker: true });
    return { d, serve, ivr: ivr! };
  } catch (e) {
    await d.cleanup(); // a serve that did not start must not keep the file running
    throw e;
  }
}

/** The admin API and the bridge PIN check, probed side by side while the relay misbehaves. */
function probeApi(url: string, d: Deployment, ivr: { conferenceId: string; pin: string }) {
  const startedAt = Date.now();
  const probes = [startProbe(request(`${url}/api/v1/users?Limit=20`, d.adminToken), 100), startProbe(request(`${url}/api/v1/bridge/verify`, d.bridgeToken, { conferenceId: ivr.conferenceId, pin: ivr.pin }), 100)];
  let reports: Promise<ProbeReport[]> | null = null;
  const stop = () => (reports ??= Promise.all(probes.map((p) => p.stop())));
  return {
    stop,
    /** `relayStallMs`: how long the relay holds each reply, when it does. */
    async check(tc: TestContext, relayStallMs: number | null = null): Promise<void> {
      const [admin, verify] = (await stop()) as [ProbeReport, ProbeReport];
      const elapsed = Date.now() - startedAt;
      tc.diagnostic(`admin API: ${JSON.stringify(admin)}; PIN check: ${JSON.stringify(verify)} in ${elapsed} ms`);
      for (const [what, r] of [['admin API', admin], ['PIN check', verify]] as const) {
        assert.ok(r.count > 0, `${what} was probed`);
        assert.deepEqual(Object.keys(r.statuses), ['200'], `${what} answered 200 every time: ${JSON.stringify(r.statuses)}`);
        // Requests made one after another that each waited for a relay reply fit at most elapsed / stall times.
        if (relayStallMs !== null) assert.ok(r.count > elapsed / relayStallMs, `${what} did not wait for the relay: ${r.count} answers in ${elapsed} ms, more than one per ${relayStallMs} ms stall`);
      }
    },
  };
}

async function finish(d: Deployment, serve: { proc: DialinProcess }, total: number): Promise<Map<string, number>> {
  await untilCount(async () => (await statusCounts(d.ctx)).sent ?? 0, total, `all ${total} mails sent`);
  assert.equal(await serve.proc.stop(), 0, serve.proc.output().slice(-2000));
  const counts = deliveries(d.sink.received);
  const rows = await d.ctx.db.kysely.selectFrom('outbox').select('message_id').execute();
  assert.equal(rows.length, total);
  assert.deepEqual(rows.filter((r) => !counts.has(r.message_id)), [], '0 lost');
  return counts;
}

/**
 * R4, R6 and R14 of reliability.md against `dialin serve` on PostgreSQL: the relay down for 60 s
 * in the middle of a run, answering 451 to 10 % of messages, and stalling 5 s before every reply.
 * All mail is delivered, and the API keeps answering as fast as without mail: delivery never
 * holds a request. The three run side by side, each with its own database, relay and server.
 */
describe('relay faults while dialin serve delivers (PostgreSQL)', { concurrency: true }, () => {
  it('relay down for 60 s in the middle of a run: all delivered after it comes back; the API keeps answering meanwhile', { timeout: 900_000 }, async (tc) => {
    const CONNECTIONS = 4;
    const { d, serve, ivr } = await servedDeployment(1000, { DIALIN_SMTP_CONNECTIONS: String(CONNECTIONS), DIALIN_RETRY_MAX_MS: '10000' }, { delayMs: (stage) => (stage === 'DATA' ? 5 : 0) });
    let probes: ReturnType<typeof probeApi> | null = null;
    try {
      await until(() => d.sink.received.length >= 200, 'the run under way', 180_000);
      await d.sink.down();
      const cutAt = d.sink.received.length;
      probes = probeApi(serve.url, d, ivr);
      await new Promise((r) => setTimeout(r, 60_000));
      await probes.check(tc);
      const waiting = await d.ctx.db.kysely.selectFrom('outbox').select(['attempts', 'last_error']).where('status', '=', 'queued').execute();
      assert.ok(waiting.length > 0, 'the rest waits for the relay');
      // The breaker: once the relay cannot be reached, mail is held (checked without sending), not tried over and over.
      assert.ok(waiting.every((r) => r.attempts <= 2), `held while the relay was down (up to ${Math.max(...waiting.map((r) => r.attempts))} attempts)`);
      const why = [...new Set(waiting.map((r) => r.last_error).filter((e) => e !== null))];
      assert.ok(why.every((e) => /ECONN|EPIPE|socket|cannot be reached|connect|closed/i.test(e!)), `what was tried says why: ${JSON.stringify(why)}`);
      const warnings = serve.proc.output().split('\n').filter((l) => l.includes('The relay cannot be reached')).length;
      assert.equal(warnings, 1, 'one warning for the outage, not one per message');
      d.sink.faults = {};
      await d.sink.up();
      const counts = await finish(d, serve, 1001);
      const twice = [...counts.values()].filter((n) => n > 1).length;
      assert.ok(twice <= inFlightLimit(CONNECTIONS), `duplicates only of mail in flight when the relay went down (${twice})`);
      tc.diagnostic(`${cutAt} delivered before the outage, ${waiting.length} waited through it (up to ${Math.max(...waiting.map((r) => r.attempts))} attempts), ${twice} delivered twice`);
    } finally {
      await probes?.stop();
      await serve.proc.stop();
      await d.cleanup();
    }
  });

  it('relay answers 451 to 10 % of messages: each retried until delivered, once; the API keeps answering meanwhile', { timeout: 900_000 }, async (tc) => {
    const refused = new Map<string, number>();
    const { d, serve, ivr } = await servedDeployment(2000, {}, {
      data: (id) => {
        if (Math.random() >= 0.1) return null;
        refused.set(id!, (refused.get(id!) ?? 0) + 1);
        return { code: 451, message: '4.3.0 Temporary local problem, try again' };
      },
    });
    let probes: ReturnType<typeof probeApi> | null = null;
    try {
      probes = probeApi(serve.url, d, ivr);
      await untilCount(async () => (await statusCounts(d.ctx)).sent ?? 0, 2001, 'all mail sent');
      await probes.check(tc);
      const counts = await finish(d, serve, 2001);
      assert.ok([...counts.values()].every((n) => n === 1), 'a 451 delivered nothing: no duplicate');
      const rows = await d.ctx.db.kysely.selectFrom('outbox').select(['message_id', 'attempts']).execute();
      for (const r of rows) assert.equal(r.attempts, 1 + (refused.get(r.message_id) ?? 0), 'one more attempt per 451');
      tc.diagnostic(`${refused.size} messages got a 451 (${[...refused.values()].reduce((a, b) => a + b, 0)} in all)`);
    } finally {
      await probes?.stop();
      await serve.proc.stop();
      await d.cleanup();
    }
  });

  it('relay stalling 5 s before every reply: all delivered; the API keeps answering meanwhile', { timeout: 900_000 }, async (tc) => {
    // Each message takes 15–20 s on the wire; the lease and deadline leave room for that.
    const { d, serve, ivr } = await servedDeployment(15, { DIALIN_SMTP_CONNECTIONS: '8', DIALIN_LEASE_MS: '60000' }, { delayMs: () => 5000 });
    let probes: ReturnType<typeof probeApi> | null = null;
    try {
      probes = probeApi(serve.url, d, ivr);
      await untilCount(async () => (await statusCounts(d.ctx)).sent ?? 0, 16, 'all mail sent');
      await probes.check(tc, 5000);
      const counts = await finish(d, serve, 16);
      assert.ok([...counts.values()].every((n) => n === 1), 'each delivered once');
    } finally {
      await probes?.stop();
      await serve.proc.stop();
      await d.cleanup();
    }
  });
});
