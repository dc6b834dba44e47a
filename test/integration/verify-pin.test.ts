import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { clock, withClock } from '../support/scopes.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { grantPinPolicy, newPinPolicy } from '../../src/app/pin-policies.ts';
import { pinInfo, setClientPin, unlockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { findUser } from '../../src/app/users.ts';
import { TEMPORARY_LOCK_MS } from '../../src/core/pin-lockout.ts';
import type { TenantScope } from '../../src/app/context.ts';

const MIN = 60_000;

for (const dialect of DIALECTS) {
  describe(`verifyLeaderPin and the lockout (${dialect})`, () => {
    let t: TestEnv;
    let s: TenantScope;
    const c = clock();
    const users: Record<string, { sip: string; cid: string; pin: string }> = {};
    const wrong = (who: string) => (users[who]!.pin === '97531' ? '97532' : '97531');
    const verify = (who: string, pin: string, scope = s) => verifyLeaderPin(scope, users[who]!.cid, pin);
    const admin = <T>(who: string, fn: (u: Awaited<ReturnType<typeof findUser>>, trx: Parameters<typeof unlockPin>[0]) => Promise<T>) =>
      t.ctx.db.kysely.transaction().execute(async (trx) => fn(await findUser(trx, s.tenant.id, users[who]!.sip), trx));

    before(async () => {
      t = await testEnv(dialect);
      s = withClock(t.scope, c);
      await bridgeWithNumbers(s, 'Conference Bridge', '+14255551234');
      await addUsers(s, 'u', 5);
      await newPinPolicy(s, 'tag:Three', { MaximumLogonAttempts: 3 });
      await newPinPolicy(s, 'tag:FourDigits', { MinPasswordLength: 4, MaximumLogonAttempts: 999 });
      await newPinPolicy(s, 'tag:Five', { MaximumLogonAttempts: 5 });
      for (const [i, r] of (await enable(s, ['u0@contoso.com', 'u1@contoso.com', 'u2@contoso.com', 'u3@contoso.com', 'u4@contoso.com'], { allowPstnOnlyMeetings: true })).entries()) {
        users[`u${i}`] = { sip: r.user!, cid: r.output!.ConferenceId as string, pin: r.output!.LeaderPin as string };
      }
      for (const [who, policy] of [['u0', 'Three'], ['u1', 'FourDigits'], ['u2', 'FourDigits'], ['u3', 'Five']] as const) {
        await admin(who, (u, trx) => grantPinPolicy(trx, s, u, policy));
      }
    });
    after(() => t.cleanup());

    it('accepts the right PIN and answers with the in-call experience', async () => {
      await setTenantSettings(s, { EntryExitAnnouncementsType: 'ToneOnly', EnableNameRecording: false });
      assert.deepEqual(await verify('u4', users.u4!.pin), { IsLeader: true, EnableEntryExitNotifications: true, EntryExitAnnouncementsType: 'ToneOnly', EnableNameRecording: false, AllowPstnOnlyMeetings: true });
    });

    it('answers a malformed or unknown conference ID like a wrong PIN, touching nothing but a decoy row', async () => {
      // An unknown ID's refusal writes its counters to a verify_decoys row (the same durable write as
      // a wrong PIN's); those rows belong to nobody, everything else stays as it was.
      const withoutDecoys = async () => {
        const { verify_decoys: decoys, ...rest } = await dumpDb(t.ctx.db);
        assert.ok(decoys && decoys.length > 0, 'the decoy rows exist');
        return rest;
      };
      const before = await withoutDecoys();
      const cid = users.u4!.cid;
      const other = cid.slice(0, -2) + cid[cid.length - 1] + cid[cid.length - 2];
      for (const [id, pin] of [[cid.slice(0, -1), users.u4!.pin], ['１２３４５６７', users.u4!.pin], [cid, 'abcde'], [cid, ''], [cid, '１２３４５']]) {
        assert.deepEqual(await verifyLeaderPin(s, id!, pin!), { IsLeader: false });
      }
      if (other !== cid) assert.deepEqual(await verifyLeaderPin(s, other, users.u4!.pin), { IsLeader: false });
      assert.deepEqual(await withoutDecoys(), before);
    });

    it('locks for an hour at MaximumLogonAttempts failures within 30 minutes', async () => {
      await verify('u0', wrong('u0'));
      c.advance(10 * MIN);
      await verify('u0', wrong('u0'));
      c.advance(10 * MIN);
      await verify('u0', wrong('u0'));
      assert.equal((await verify('u0', users.u0!.pin)).IsLeader, false, 'locked: the right PIN is refused too');
      assert.equal((await admin('u0', (u, trx) => pinInfo(trx, s, u))).IsLockedOut, true);
      const row = await userRow(s, users.u0!.sip);
      assert.deepEqual([row.pin_fail_global, row.pin_locked_until, row.pin_locked], [3, c.t + TEMPORARY_LOCK_MS, 0]);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'pin.lockout').where('target_user_id', '=', row.id).execute();
      assert.deepEqual(audit.map((a) => JSON.parse(a.details).level), ['temporary']);
      c.advance(TEMPORARY_LOCK_MS - 1);
      assert.equal((await verify('u0', users.u0!.pin)).IsLeader, false);
      c.advance(1);
      assert.equal((await verify('u0', users.u0!.pin)).IsLeader, true, 'the lock ends after an hour');
    });

    it('forgets failures older than 30 minutes, and a success resets the local count only', async () => {
      await verify('u0', wrong('u0'));
      await verify('u0', wrong('u0'));
      c.advance(30 * MIN);
      await verify('u0', wrong('u0'));
      await verify('u0', wrong('u0'));
      assert.equal((await verify('u0', users.u0!.pin)).IsLeader, true, 'never 3 failures within one window');
      await verify('u0', wrong('u0'));
      await verify('u0', wrong('u0'));
      assert.equal((await verify('u0', users.u0!.pin)).IsLeader, true, 'the success before restarted the local count');
      const row = await userRow(s, users.u0!.sip);
      assert.deepEqual([row.pin_fail_local, row.pin_fail_global], [0, 9]);
    });

    it('locks for good at the global limit (100 for 4-digit PINs) until an administrator unlocks', async () => {
      await admin('u1', (u, trx) => setClientPin(trx, s, u, '8024'));
      for (let i = 0; i < 99; i++) assert.equal((await verify('u1', '8025')).IsLeader, false);
      assert.equal((await verify('u1', '8024')).IsLeader, true, '99 failures: not locked yet');
      assert.equal((await verify('u1', '8025')).IsLeader, false);
      const row = await userRow(s, users.u1!.sip);
      assert.deepEqual([row.pin_fail_global, row.pin_locked], [100, 1]);
      c.advance(365 * 24 * 60 * MIN);
      assert.equal((await verify('u1', '8024')).IsLeader, false, 'still locked a year later');
      await admin('u1', (u, trx) => unlockPin(trx, s, u));
      assert.equal((await verify('u1', '8024')).IsLeader, true);
      assert.deepEqual([(await userRow(s, users.u1!.sip)).pin_fail_global], [0]);
    });

    it('200 concurrent wrong guesses never count past the global limit', async () => {
      const live = t.scope; // real time, real concurrency (a pool of connections on PostgreSQL)
      await admin('u2', (u, trx) => setClientPin(trx, s, u, '8024'));
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => verify('u2', String(1000 + i), live)));
      assert.ok(answers.every((a) => !a.IsLeader));
      const row = await userRow(s, users.u2!.sip);
      assert.equal(row.pin_fail_global, 100, 'exactly the limit: each guess was counted under the row lock');
      assert.equal(row.pin_locked, 1);
      assert.equal((await verify('u2', '8024', live)).IsLeader, false);
    });

    it('200 concurrent wrong guesses stop at the local limit, then the right PIN is refused for an hour', async () => {
      const live = t.scope;
      const answers = await Promise.all(Array.from({ length: 200 }, () => verify('u3', wrong('u3'), live)));
      assert.ok(answers.every((a) => !a.IsLeader));
      const row = await userRow(s, users.u3!.sip);
      assert.equal(row.pin_fail_global, 5);
      assert.ok(row.pin_locked_until !== null && row.pin_locked_until > Date.now());
      assert.equal((await verify('u3', users.u3!.pin, live)).IsLeader, false);
    });
  });
}
