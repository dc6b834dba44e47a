import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { dammCheckDigit } from '../../src/core/conference-id.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { appFor, bearer, tokenFor } from './harness.ts';

/** A well-formed conference ID (right check digit) that nobody has. */
function unknownId(taken: Set<string>): string {
  for (let n = 100000; ; n++) {
    const body = String(n);
    const id = body + String(dammCheckDigit(body));
    if (!taken.has(id)) return id;
  }
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} ([0-9.]+)$`, 'm').exec(text)?.[1] ?? NaN);

for (const dialect of DIALECTS) {
  describe(`bridge PIN check over HTTP (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let token: string;
    const users: { cid: string; pin: string }[] = [];
    const clock = { t: Date.now() };

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t, { now: () => clock.t, env: { DIALIN_VERIFY_ID_RATE: '1000', DIALIN_VERIFY_TOKEN_RATE: '100000' } });
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await setTenantSettings(t.scope, { PinLength: 6, EntryExitAnnouncementsType: 'ToneOnly' });
      const sips = await addUsers(t.scope, 'leader', 4);
      for (const r of await enable(t.scope, sips)) users.push({ cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string });
      token = await tokenFor(t.scope, 'bridge');
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    const verify = (conferenceId: string, pin: string, tok = token) => app.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(tok), payload: { conferenceId, pin } });

    it('the right PIN makes the caller the leader and brings the in-call settings', async () => {
      const r = await verify(users[0]!.cid, users[0]!.pin);
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { isLeader: true, enableEntryExitNotifications: true, entryExitAnnouncementsType: 'ToneOnly', enableNameRecording: true, allowPstnOnlyMeetings: false });
      assert.equal(r.headers['cache-control'], 'no-store');
    });

    it('an unknown conference ID and a wrong PIN answer exactly alike, and never say how many tries are left', async () => {
      const taken = new Set(users.map((u) => u.cid));
      const wrongPin = users[1]!.pin === '135790' ? '246801' : '135790';
      const a = await verify(unknownId(taken), wrongPin);
      const b = await verify(users[1]!.cid, wrongPin);
      assert.equal(a.statusCode, b.statusCode);
      assert.equal(a.body, b.body);
      assert.deepEqual(a.json(), { isLeader: false });
      const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== 'date').sort();
      assert.deepEqual(headerNames(a.headers), headerNames(b.headers));
    });

    it('locks out for an hour after the local limit, then for good after the global one; an administrator unlock restores it', async () => {
      const u = users[2]!;
      const wrong = u.pin === '975310' ? '864209' : '975310';
      // 6-digit PINs: 25 failures in 30 minutes lock PIN logon for an hour (Lync's automatic limits).
      for (let i = 0; i < 25; i++) assert.deepEqual((await verify(u.cid, wrong)).json(), { isLeader: false });
      assert.deepEqual((await verify(u.cid, u.pin)).json(), { isLeader: false }, 'the right PIN fails while locked out');
      clock.t += 61 * 60_000;
      assert.equal((await verify(u.cid, u.pin)).json().isLeader, true, 'works again after the hour');
      const m = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.equal(metric(m, 'dialin_pin_lockouts_total{level="temporary"}'), 1);
      assert.ok(metric(m, 'dialin_pin_checks_total{outcome="refused"}') >= 26);
      assert.ok(metric(m, 'dialin_pin_checks_total{outcome="leader"}') >= 2);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'pin.lockout').execute();
      assert.equal(audit.length, 1);
      assert.ok(!audit.some((r) => r.details.includes(u.pin) || r.details.includes(wrong)));
    });

    it('abusive rates are refused with 429 before any lookup: per conference ID, and per bridge token', async () => {
      const strict = await appFor(t, { now: () => clock.t, env: { DIALIN_VERIFY_ID_RATE: '3', DIALIN_VERIFY_TOKEN_RATE: '6' } });
      try {
        const u = users[3]!;
        const codes: number[] = [];
        for (let i = 0; i < 4; i++) codes.push((await strict.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(token), payload: { conferenceId: u.cid, pin: '000000' } })).statusCode);
        assert.deepEqual(codes, [200, 200, 200, 429]);
        const row = await t.ctx.db.kysely.selectFrom('users').select(['pin_fail_local', 'pin_fail_global']).where('conference_id', '=', u.cid).executeTakeFirstOrThrow();
        assert.equal(row.pin_fail_global, 3, 'the refused fourth attempt never reached the database');
        const limited = await strict.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(token), payload: { conferenceId: u.cid, pin: u.pin } });
        assert.equal(limited.statusCode, 429);
        assert.equal(limited.json().error.code, 'RATE_LIMITED');
        assert.equal(limited.headers['retry-after'], '60');
        // The per-token budget (6 a second, on the test's frozen clock) is spent now whatever the conference ID.
        const other = await strict.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(token), payload: { conferenceId: users[0]!.cid, pin: users[0]!.pin } });
        assert.equal(other.statusCode, 200);
        const flood = await strict.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(token), payload: { conferenceId: users[0]!.cid, pin: users[0]!.pin } });
        assert.equal(flood.statusCode, 429);
        assert.equal(flood.headers['retry-after'], '1');
      } finally {
        await strict.close();
      }
    });

    it("only the bridge role may check PINs, and only in its own tenant's directory", async () => {
      const admin = await tokenFor(t.scope, 'admin');
      assert.equal((await verify(users[0]!.cid, users[0]!.pin, admin)).statusCode, 403);
    });
  });
}
