import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type LogEvent } from 'kysely';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { openDb, type Db } from '../../src/adapters/db/database.ts';
import type { Keys } from '../../src/adapters/crypto/keys.ts';
import type { AppContext, TenantScope } from '../../src/app/context.ts';
import { lockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { requestLoginLinks } from '../../src/app/login-links.ts';
import { dammCheckDigit, isWellFormedConferenceId } from '../../src/core/conference-id.ts';
import pino from 'pino';
import { buildHttpApp } from '../../src/adapters/http/server.ts';
import { createMetrics } from '../../src/adapters/http/metrics.ts';

/**
 * Issue 10, defect 6: the time of an answer must not tell a real conference ID or a known
 * address. Both paths must do the same work: these tests record, on the real database, every
 * statement each one runs (kysely's log, parameters left out) and every call to the keys port
 * (the keyed hashes), and compare the lists.
 */

interface Work {
  statements: string[];
  keyCalls: string[];
}

/** The test's context with a second connection pool that logs each statement, and keys that count their calls. */
function observed(t: TestEnv): { ctx: AppContext; scope: TenantScope; db: Db; mark(label: string): void; onMailQueued: { fn: (() => void) | null }; record<T>(fn: () => Promise<T>): Promise<{ value: T; work: Work }> } {
  let work: Work | null = null;
  const onMailQueued = { fn: null as (() => void) | null };
  const db = openDb({
    dataDir: t.config.dataDir,
    databaseUrl: t.config.databaseUrl,
    log: (e: LogEvent) => {
      work?.statements.push(`${e.level}: ${e.query.sql}`);
    },
  });
  const real = t.ctx.keys;
  // Only the port's methods are counted; its plain fields (the current version, the source) are copied.
  const keys = Object.fromEntries(
    Object.entries(real).map(([name, member]) => [
      name,
      typeof member === 'function' ? (...args: unknown[]) => (work?.keyCalls.push(name), (member as (...a: unknown[]) => unknown).apply(real, args)) : member,
    ]),
  ) as unknown as Keys;
  const ctx: AppContext = { ...t.ctx, db, keys, onMailQueued: () => onMailQueued.fn?.() };
  return {
    ctx,
    scope: { ...ctx, tenant: t.scope.tenant },
    db,
    mark: (label) => work?.statements.push(label),
    onMailQueued,
    async record(fn) {
      work = { statements: [], keyCalls: [] };
      try {
        const value = await fn();
        return { value, work };
      } finally {
        work = null;
      }
    },
  };
}

/** A well-formed conference ID of the same length as `like` that nobody has. */
function unknownLike(like: string, taken: Set<string>): string {
  for (let n = Number(like.slice(0, -1)) + 1; ; n++) {
    const body = String(n).padStart(like.length - 1, '0').slice(-(like.length - 1));
    const id = body + String(dammCheckDigit(body));
    if (isWellFormedConferenceId(id) && !taken.has(id)) return id;
  }
}

for (const dialect of DIALECTS) {
  describe(`an unknown conference ID or address does the same work as a real one (${dialect})`, () => {
    let t: TestEnv;
    let o: ReturnType<typeof observed>;
    const users: { sip: string; cid: string; pin: string }[] = [];
    const taken = new Set<string>();

    before(async () => {
      t = await testEnv(dialect);
      o = observed(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      const sips = await addUsers(t.scope, 'vera', 4);
      for (const r of await enable(t.scope, sips)) {
        users.push({ sip: r.user!, cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string });
        taken.add(r.output!.ConferenceId as string);
      }
    });
    after(async () => {
      await o.db.close();
      await t.cleanup();
    });

    const wrongPinFor = (pin: string) => (pin === '97531' ? '86420' : '97531');

    it('POST /bridge/verify with a wrong PIN: a real conference ID and an unknown one run the same statements and hash as often', async () => {
      const [real, second] = users;
      // Warm the pool so both recordings start alike.
      await verifyLeaderPin(o.scope, unknownLike(second!.cid, taken), '13579');
      const wrong = wrongPinFor(real!.pin);
      const globalBefore = await t.ctx.db.kysely.selectFrom('users').select((eb) => eb.fn.sum<number>('pin_fail_global').as('n')).executeTakeFirstOrThrow();
      const known = await o.record(() => verifyLeaderPin(o.scope, real!.cid, wrong));
      const afterKnown = await userRow(t.scope, real!.sip);
      assert.equal(afterKnown.pin_fail_local, 1, 'the wrong PIN was counted against the real user');
      await t.ctx.db.kysely.updateTable('verify_decoys').set({ pin_fail_local: 0, pin_window_start: null, pin_fail_global: 0 }).execute();
      const unknown = await o.record(() => verifyLeaderPin(o.scope, unknownLike(real!.cid, taken), wrong));
      assert.deepEqual(known.value, { IsLeader: false });
      assert.deepEqual(unknown.value, { IsLeader: false });

      // The one difference: the unknown ID's counters go to a decoy row, with the same statement.
      const decoyUpdates = unknown.work.statements.filter((q) => /^query: update "verify_decoys"/.test(q));
      assert.equal(decoyUpdates.length, 1, `the unknown ID writes one decoy row:\n${unknown.work.statements.join('\n')}`);
      const asUsers = unknown.work.statements.map((q) => q.replace(/^query: update "verify_decoys"/, 'query: update "users"'));
      assert.deepEqual(asUsers, known.work.statements, 'the same statements, in the same order');
      assert.deepEqual(unknown.work.keyCalls, known.work.keyCalls, 'the same keyed hashes');
      assert.ok(known.work.keyCalls.length >= 1, `a keyed hash is computed: ${known.work.keyCalls.join(', ')}`);
      assert.ok(known.work.statements.some((q) => /^query: update "users"/.test(q)), `the lockout bookkeeping is among them:\n${known.work.statements.join('\n')}`);
      // Both commits are durable and both write a row, so both wait for the same flush.
      for (const w of [known, unknown]) assert.ok(!w.work.statements.some((q) => /synchronous/i.test(q)), `no commit skips the flush:\n${w.work.statements.join('\n')}`);
      const written = await t.ctx.db.kysely.selectFrom('verify_decoys').select(['pin_fail_local', 'pin_fail_global']).where('pin_window_start', 'is not', null).execute();
      assert.deepEqual(written, [{ pin_fail_local: 1, pin_fail_global: 1 }], 'the unknown ID really wrote one decoy row');

      if (dialect === 'sqlite') {
        const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(o.db.kysely);
        assert.equal(mode.rows[0]!.synchronous, 2, 'every commit is synchronous=FULL');
      }
      const globalAfter = await t.ctx.db.kysely.selectFrom('users').select((eb) => eb.fn.sum<number>('pin_fail_global').as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(globalAfter.n), Number(globalBefore.n) + 1, 'the unknown ID changed no user: only the real attempt was counted');
    });

    it('a locked PIN is refused without comparing it, with the same work as an unknown conference ID', async () => {
      const u = users[1]!;
      await lockPin(t.ctx.db.kysely, t.scope, await userRow(t.scope, u.sip));
      const locked = await o.record(() => verifyLeaderPin(o.scope, u.cid, u.pin));
      const unknown = await o.record(() => verifyLeaderPin(o.scope, unknownLike(u.cid, taken), u.pin));
      assert.deepEqual(locked.value, { IsLeader: false }, 'the right PIN is refused while locked');
      assert.deepEqual(locked.work.statements, unknown.work.statements);
      assert.deepEqual(locked.work.keyCalls, unknown.work.keyCalls);
      const row = await userRow(t.scope, u.sip);
      assert.equal(row.pin_fail_global, 0, 'a refusal while locked counts nothing');
    });

    it('the right PIN is still accepted, and resets the local failures after a wrong one', async () => {
      const u = users[2]!;
      assert.deepEqual(await verifyLeaderPin(o.scope, u.cid, wrongPinFor(u.pin)), { IsLeader: false });
      assert.equal((await verifyLeaderPin(o.scope, u.cid, u.pin)).IsLeader, true);
      assert.equal((await userRow(t.scope, u.sip)).pin_fail_local, 0);
      assert.equal((await verifyLeaderPin(o.scope, u.cid, u.pin)).IsLeader, true, 'and again on the read-only path');
    });

    it('a sign-in link request: a known address and an unknown one run the same statements and make the same tokens before the answer', async () => {
      await requestLoginLinks(o.ctx, 'warm-up@contoso.com');
      const known = await o.record(() => requestLoginLinks(o.ctx, 'VERA3@contoso.com'));
      const unknown = await o.record(() => requestLoginLinks(o.ctx, 'nobody@contoso.com'));
      assert.deepEqual(unknown.work.statements, known.work.statements, 'the same statements, in the same order');
      assert.deepEqual(unknown.work.keyCalls, known.work.keyCalls, 'the same keyed token computations');
      assert.deepEqual(known.work.keyCalls, ['derivedToken'], 'a token is made in both cases');
      assert.equal(known.work.statements.filter((q) => /insert|update|delete/i.test(q)).length, 0, 'nothing is written before the answer');

      // The writes come after the answer, for the known address only.
      const u = await userRow(t.scope, 'sip:vera3@contoso.com');
      assert.equal(await unknown.value.write(), 0);
      assert.equal(await known.value.write(), 1);
      const links = await t.ctx.db.kysely.selectFrom('login_links').select('user_id').execute();
      assert.deepEqual(links.map((l) => l.user_id), [u.id]);
      const mails = await t.ctx.db.kysely.selectFrom('outbox').select(['user_id', 'kind']).where('kind', '=', 'sign_in_link').execute();
      assert.deepEqual(mails, [{ user_id: u.id, kind: 'sign_in_link' }]);
    });

    it('POST /dialin/sign-in-link answers after the same statements for both addresses; the link and its mail are written after the answer', async () => {
      const app = await buildHttpApp({ ctx: o.ctx, config: t.config, log: pino({ level: 'silent' }), metrics: createMetrics(o.ctx) });
      app.addHook('onSend', async () => o.mark('-- answer sent'));
      await app.ready();
      try {
        const ask = (email: string, ip: string) => app.inject({ method: 'POST', url: '/dialin/sign-in-link', payload: new URLSearchParams({ email }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, remoteAddress: ip });
        await ask('warm-up@contoso.com', '10.9.0.1');
        const known = await o.record(async () => {
          const queued = new Promise<void>((resolve) => (o.onMailQueued.fn = resolve));
          const res = await ask('vera0@contoso.com', '10.9.0.2');
          await queued;
          return res;
        });
        const unknown = await o.record(async () => {
          const res = await ask('nobody-else@contoso.com', '10.9.0.3');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return res;
        });
        assert.equal(known.value.body, unknown.value.body, 'the same page');
        const split = (w: Work) => {
          const i = w.statements.indexOf('-- answer sent');
          assert.ok(i > 0, `the answer was sent:\n${w.statements.join('\n')}`);
          return { before: w.statements.slice(0, i), after: w.statements.slice(i + 1).filter((q) => q !== '-- answer sent') };
        };
        assert.deepEqual(split(unknown.work).before, split(known.work).before, 'the same statements before the answer');
        assert.deepEqual(unknown.work.keyCalls, known.work.keyCalls, 'the same token computations');
        assert.deepEqual(split(unknown.work).after, [], 'nothing after the answer for an unknown address');
        const writes = split(known.work).after.filter((q) => /^query: insert into/.test(q)).map((q) => /insert into "(\w+)"/.exec(q)![1]);
        assert.deepEqual(writes, ['login_links', 'outbox', 'audit'], 'the link, its mail and its audit row, after the answer');
      } finally {
        o.onMailQueued.fn = null;
        await app.close();
      }
    });
  });
}
