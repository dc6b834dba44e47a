import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PG_ADMIN_URL } from '../support/dialects.ts';
import { inFlightLimit } from '../../src/worker/delivery-worker.ts';
import { toAppError } from '../../src/adapters/http/errors.ts';
import { until } from '../mail/support/mail-env.ts';
import { deliveries, deployment, enableMany, statusCounts, type Deployment } from './support/deployment.ts';
import { canRunPrivatePostgres, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { request, startProbe } from './support/probe.ts';
import { startServe, startWorker, stopAll, type DialinProcess } from './support/procs.ts';

const MAILS = 3000;
const OUTAGE_MS = 30_000;
const CONNECTIONS = 4;

/**
 * R11 of reliability.md: PostgreSQL stops for 30 s in the middle of a run (`pg_ctl stop -m
 * immediate`: every backend killed, no checkpoint, as in a crash) and starts again.
 *
 * The server is a private cluster this test creates (initdb in a temporary directory, its own
 * port), not the machine's PostgreSQL on 5432: other test files run against that one at the same
 * time, and stopping it would fail them. To `dialin` the two are the same — a PostgreSQL 15 server
 * on loopback reached through DATABASE_URL — and `pg_ctl stop -m immediate` on it is what
 * `pg_ctlcluster 15 main stop -m immediate` does to the machine's cluster.
 */
describe('PostgreSQL stopped for 30 s during a run (a private cluster)', { skip: !canRunPrivatePostgres() && 'needs the PostgreSQL 15 server binaries and a postgres account' }, () => {
  let server: PrivatePostgres;
  let d: Deployment;
  const procs: DialinProcess[] = [];
  before(async () => {
    server = await startPrivatePostgres();
    d = await deployment({ databaseUrl: server.url, env: { DIALIN_SMTP_CONNECTIONS: String(CONNECTIONS) } });
  });
  after(async () => {
    await stopAll();
    await d?.cleanup();
    server?.remove();
  });

  it('the API answers 503 meanwhile (never hangs), everything resumes by itself, 0 lost', { timeout: 600_000 }, async (tc) => {
    const users = await enableMany(d.scope, 'pgdown', 1);
    await enableMany(d.scope, 'bulk', MAILS - 1);
    d.sink.faults = { delayMs: (stage) => (stage === 'DATA' ? 10 : 0) };
    const api = await startServe(d.env, { worker: false });
    procs.push(api.proc, await startWorker(d.env));
    await until(async () => ((await statusCounts(d.ctx)).sent ?? 0) >= 300, 'the run under way', 60_000);

    // Steady probes through the whole outage, and a burst of concurrent requests around the
    // crash itself, so some are in the middle of a query when the server dies.
    const steady = [
      startProbe(request(`${api.url}/readyz`, ''), 200),
      startProbe(request(`${api.url}/api/v1/users?Limit=5`, d.adminToken), 200),
      startProbe(request(`${api.url}/api/v1/bridge/verify`, d.bridgeToken, { conferenceId: users[0]!.conferenceId, pin: users[0]!.pin }), 200),
    ];
    const burst = Array.from({ length: 12 }, () => startProbe(request(`${api.url}/api/v1/users?Limit=50`, d.adminToken), 0));
    await new Promise((r) => setTimeout(r, 500));
    server.crash();
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const around = await Promise.all(burst.map((p) => p.stop()));
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - down)));
    const reports = await Promise.all(steady.map((p) => p.stop()));
    server.start();
    tc.diagnostic(`through the outage: ${JSON.stringify(reports)}`);
    for (const r of [...reports, ...around]) {
      assert.deepEqual(Object.keys(r.statuses).filter((s) => s !== '200'), ['503'], `200 before the crash, then only 503: ${JSON.stringify(r.statuses)}`);
      assert.ok(r.maxMs < 5000, `every answer came within 5 s (slowest ${r.maxMs} ms)`);
    }
    for (const p of procs) assert.equal(p.child.exitCode, null, `still running:\n${p.output().slice(-2000)}`);
    // Hundreds of 503s in 30 s are a few warning lines in the API's log, none with a stack.
    const apiLog = api.proc.output().split('\n').filter((l) => l.includes('answered 503'));
    const answered = reports.reduce((a, r) => a + (r.statuses[503] ?? 0), 0);
    assert.ok(apiLog.length >= 1 && apiLog.length <= 5, `${apiLog.length} log lines for ${answered} answers of 503`);
    assert.ok(!api.proc.output().includes('"stack"'), 'no stack traces in the log');

    await until(async () => (await statusCounts(d.ctx)).sent === MAILS, 'all mail sent after the restart', 90_000);
    assert.equal((await fetch(`${api.url}/readyz`)).status, 200);
    assert.equal((await request(`${api.url}/api/v1/users?Limit=5`, d.adminToken)()), 200);
    const counts = deliveries(d.sink.received);
    const rows = await d.ctx.db.kysely.selectFrom('outbox').select('message_id').execute();
    assert.deepEqual(rows.filter((r) => !counts.has(r.message_id)), [], '0 lost');
    const twice = [...counts.values()].filter((n) => n > 1).length;
    assert.ok(twice <= inFlightLimit(CONNECTIONS), `duplicates only of mail in flight at the crash (${twice})`);
    tc.diagnostic(`${twice} message(s) delivered twice`);
    for (const p of procs.splice(0)) assert.equal(await p.stop(), 0, p.output().slice(-2000));
  });

  it("a query whose connection dies under it is a 503 too (pg's errors for it carry no code)", () => {
    for (const message of ['Connection terminated unexpectedly', 'Connection terminated', 'Client has encountered a connection error and is not queryable']) {
      assert.equal(toAppError(new Error(message)).code, 'DATABASE_UNAVAILABLE', message);
    }
    assert.equal(toAppError(new Error('something else')).code, 'INTERNAL_ERROR');
  });

  it('no connection free in time (a burst on a busy server) is a 503, not a 500', async () => {
    // pg-pool's own error, from a real pool whose one connection is taken.
    const pool = new pg.Pool({ connectionString: PG_ADMIN_URL, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    try {
      const e = await pool.connect().then(
        (c) => (c.release(), null),
        (err: unknown) => err,
      );
      assert.ok(e instanceof Error, 'the second connect waits and fails');
      assert.equal(toAppError(e).code, 'DATABASE_UNAVAILABLE', (e as Error).message);
    } finally {
      held.release();
      await pool.end();
    }
  });
});
