import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MIGRATIONS } from '../../src/adapters/db/migrations/index.ts';
import { migrate, openDb, type Db } from '../../src/adapters/db/database.ts';
import { createPgDatabase } from '../support/dialects.ts';
import { addUsers } from '../support/fixtures.ts';
import { until } from '../mail/support/mail-env.ts';
import { deliveries, enableMany, openDeployment, prepareDeployment, statusCounts, type Deployment, type Prepared } from './support/deployment.ts';
import { startServe, startWorker, stopAll, type DialinProcess } from './support/procs.ts';

/** The totals a worker logs when it stops. */
function sentBy(w: DialinProcess): number {
  const line = w.output().split('\n').find((l) => l.includes('"Delivery worker stopped."'));
  assert.ok(line, w.output().slice(-2000));
  return (JSON.parse(line) as { sent: number }).sent;
}

/** Message-ID → how many of its attempts a worker reported as uncertain (may have reached the relay). */
function uncertainAttempts(ws: DialinProcess[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const w of ws) {
    for (const l of w.output().split('\n')) {
      if (!l.includes('may arrive twice')) continue;
      const id = (JSON.parse(l) as { messageId: string }).messageId;
      n.set(id, (n.get(id) ?? 0) + 1);
    }
  }
  return n;
}

async function post(url: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/**
 * Two `dialin serve --no-worker` and two `dialin worker` processes on one PostgreSQL database,
 * started together on a database nobody migrated yet. Workers poll only once a minute here, so
 * mail that goes out at once went out because of a NOTIFY from another process.
 */
describe('several API and worker processes on one PostgreSQL database', () => {
  let p: Prepared;
  let d: Deployment;
  let apis: { proc: DialinProcess; url: string }[];
  let workers: DialinProcess[];
  before(async () => {
    p = await prepareDeployment({ env: { DIALIN_MAIL_POLL_MS: '60000' } });
    [apis, workers] = await Promise.all([Promise.all([startServe(p.env, { worker: false }), startServe(p.env, { worker: false })]), Promise.all([startWorker(p.env), startWorker(p.env)])]);
    d = await openDeployment(p);
  });
  after(async () => {
    await stopAll();
    await (d ? d.cleanup() : p?.release());
  });

  it('processes started together on a new database apply each migration once (the migration lock)', async () => {
    const applied = await d.ctx.db.kysely.selectFrom('dialin_migrations' as never).select('name' as never).execute();
    assert.deepEqual(applied.map((r) => (r as { name: string }).name).sort(), Object.keys(MIGRATIONS).sort());
    for (const a of apis) assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
  });

  it('six migrators racing on one new database: each migration applied once, none fails', async () => {
    const pgdb = await createPgDatabase();
    const dbs: Db[] = Array.from({ length: 6 }, () => openDb({ dataDir: '/nonexistent', databaseUrl: pgdb.url, poolSize: 2 }));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      const names = results.flatMap((r) => (r.results ?? []).filter((m) => m.status === 'Success').map((m) => m.migrationName));
      assert.deepEqual(names.sort(), Object.keys(MIGRATIONS).sort(), 'every migration ran exactly once across the six');
    } finally {
      for (const db of dbs) await db.close();
      await pgdb.drop();
    }
  });

  it('mail written through either API process wakes a worker at once (LISTEN/NOTIFY across processes)', async () => {
    const [a, b] = await Promise.all([addUsers(d.scope, 'viaa', 3), addUsers(d.scope, 'viab', 3)]);
    for (const [api, ids] of [[apis[0]!, a], [apis[1]!, b]] as const) {
      const r = await post(`${api.url}/api/v1/dialin-users/enable`, d.adminToken, { Identities: ids });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.Done, 3);
    }
    // Well within the one-minute poll: only a NOTIFY can have woken the workers.
    await until(() => d.sink.received.length === 6, 'the six welcome mails', 20_000);
  });

  it('both workers share the queue: each message claimed by one of them', { timeout: 120_000 }, async () => {
    await enableMany(d.scope, 'shared', 2000);
    await until(async () => (await statusCounts(d.ctx)).sent === 2006, 'all mail sent', 90_000);
    const counts = deliveries(d.sink.received);
    assert.equal(counts.size, 2006);
    const stopping = workers;
    workers = [];
    for (const w of stopping) assert.equal(await w.stop(), 0);
    // A copy is allowed only of a message whose earlier attempt a worker reported uncertain (the
    // relay stayed silent after DATA: it may have had it), one per such attempt, as in crash.test.ts.
    const uncertain = uncertainAttempts(stopping);
    const extra = [...counts].filter(([id, n]) => n > 1 + (uncertain.get(id) ?? 0));
    assert.deepEqual(extra, [], `no message delivered twice unless an attempt of it was uncertain (${uncertain.size} were)`);
    const [one, two] = stopping.map(sentBy) as [number, number];
    assert.equal(one + two, 2006);
    assert.ok(one > 0 && two > 0, `both workers delivered (${one} and ${two})`);
  });

  it('two API processes share the PIN-check counters: 200 concurrent wrong guesses never pass the limit', async () => {
    const [u] = await enableMany(d.scope, 'guess', 1);
    const wrong = u!.pin === '97531' ? '97532' : '97531';
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => post(`${apis[i % 2]!.url}/api/v1/bridge/verify`, d.bridgeToken, { conferenceId: u!.conferenceId, pin: wrong })),
    );
    assert.ok(answers.every((r) => r.status === 200 && r.body.isLeader === false), JSON.stringify(answers.find((r) => r.status !== 200)));
    const row = await d.ctx.db.kysely.selectFrom('users').selectAll().where('sip', '=', u!.sip).executeTakeFirstOrThrow();
    // A 5-digit PIN allows 25 failures in 30 minutes (Lync's automatic limits), then locks for an hour.
    assert.equal(row.pin_fail_global, 25, 'each guess counted under the row lock, none past the limit');
    assert.ok(row.pin_locked_until !== null && row.pin_locked_until > Date.now());
    const right = await post(`${apis[0]!.url}/api/v1/bridge/verify`, d.bridgeToken, { conferenceId: u!.conferenceId, pin: u!.pin });
    assert.equal(right.body.isLeader, false, 'locked: the right PIN is refused too, by either process');
  });
});
