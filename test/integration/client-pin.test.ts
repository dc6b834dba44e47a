import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { clock, DAY_MS, withClock } from '../support/scopes.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { lockPin, nextPin, pinInfo, setClientPin, storePin, unlockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { newPinPolicy, grantPinPolicy, setPinPolicy } from '../../src/app/pin-policies.ts';
import { findUser } from '../../src/app/users.ts';
import { AppError } from '../../src/core/errors.ts';
import type { TenantScope, Trx } from '../../src/app/context.ts';
import type { UsersTable } from '../../src/adapters/db/schema.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`Set-CsClientPin, Get-CsClientPinInfo, Lock-/Unlock-CsClientPin (${dialect})`, () => {
    let t: TestEnv;
    let s: TenantScope;
    let cid: string;
    const c = clock();
    const withUser = <T>(who: string, fn: (trx: Trx, u: UsersTable) => Promise<T>) => t.ctx.db.kysely.transaction().execute(async (trx) => fn(trx, await findUser(trx, s.tenant.id, who)));
    const setPin = (who: string, pin: string | null) => withUser(who, (trx, u) => setClientPin(trx, s, u, pin));
    /** The self-service path (the settings page of a later issue): chosen PIN, history enforced. */
    const userSetsPin = (who: string, pin: string) => withUser(who, async (trx, u) => storePin(trx, s, u, (await nextPin(trx, s, u, pin, { checkHistory: true })).hash, 'test'));
    const info = (who: string) => withUser(who, (trx, u) => pinInfo(trx, s, u));

    before(async () => {
      t = await testEnv(dialect);
      s = withClock(t.scope, c);
      await bridgeWithNumbers(s, 'Conference Bridge', '+14255551234');
      await addUsers(s, 'ken', 3, { Phone: '+1 425 555 0199', Extension: '4711' });
      const [r] = await enable(s, ['ken0@contoso.com']);
      cid = r!.output!.ConferenceId as string;
    });
    after(() => t.cleanup());

    it('sets a chosen PIN, returns it once, sends no mail, and audits without the PIN', async () => {
      const mails = await t.ctx.db.kysely.selectFrom('outbox').select('id').execute();
      const p = await setPin('ken0@contoso.com', '80246813');
      assert.equal(p.pin, '80246813');
      assert.equal((await verifyLeaderPin(s, cid, '80246813')).IsLeader, true);
      assert.deepEqual(await t.ctx.db.kysely.selectFrom('outbox').select('id').execute(), mails, 'Set-CsClientPin never writes a mail');
      const audit = await t.ctx.db.kysely.selectFrom('audit').selectAll().where('action', '=', 'pin.set').execute();
      assert.equal(audit.length, 1);
      assert.deepEqual(JSON.parse(audit[0]!.details), { chosen: true });
      assert.ok(!JSON.stringify(audit).includes('80246813'));
    });

    it('cancels a queued welcome whose PIN Set-CsClientPin has just replaced (it would mail a PIN that no longer works)', async () => {
      const [welcome] = await t.ctx.db.kysely.selectFrom('outbox').selectAll().where('kind', '=', 'welcome').execute();
      assert.equal(welcome!.status, 'superseded');
      assert.equal(welcome!.pin_enc, null);
      assert.match(welcome!.last_error!, /Set-CsClientPin/);
    });

    it('generates a PIN of the tenant PinLength when none is given, for users not enabled too', async () => {
      const p = await setPin('ken1@contoso.com', null);
      assert.match(p.pin, /^[0-9]{5}$/);
      assert.equal((await userRow(s, 'sip:ken1@contoso.com')).pin_hash, p.hash);
      assert.equal((await info('ken1@contoso.com')).IsPinSet, true);
    });

    it('checks a chosen PIN against the policy and the user phone and extension, changing nothing when refused', async () => {
      const before = await dumpDb(t.ctx.db);
      for (const [pin, c2] of [
        ['8024a', 'PIN_NOT_DIGITS'],
        ['８０２４６', 'PIN_NOT_DIGITS'],
        ['٨٠٢٤٦', 'PIN_NOT_DIGITS'],
        ['8024', 'PIN_TOO_SHORT'],
        ['8024681357913', 'PIN_TOO_LONG'],
        ['12345', 'PIN_COMMON_PATTERN'],
        ['55501', 'PIN_COMMON_PATTERN'],
        ['94711', 'PIN_COMMON_PATTERN'],
      ] as const) {
        await assert.rejects(setPin('ken0@contoso.com', pin), code(c2, 'Pin'), pin);
      }
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      assert.equal((await verifyLeaderPin(s, cid, '80246813')).IsLeader, true);
    });

    it('PINHistoryCount binds the user path but not the administrator', async () => {
      await setPinPolicy(s, null, { PINHistoryCount: 2 });
      // The history is ordered by time: each change happens a minute after the previous one.
      const later = <T>(p: Promise<T>) => (c.advance(60_000), p);
      await later(setPin('ken2@contoso.com', '20406'));
      await later(setPin('ken2@contoso.com', '30507'));
      // The user may not choose either of the last two, nor the current one.
      await assert.rejects(later(userSetsPin('ken2@contoso.com', '20406')), code('PIN_REUSED', 'Pin'));
      await assert.rejects(later(userSetsPin('ken2@contoso.com', '30507')), code('PIN_REUSED'));
      await later(userSetsPin('ken2@contoso.com', '40608'));
      await later(userSetsPin('ken2@contoso.com', '50709'));
      await later(userSetsPin('ken2@contoso.com', '20406')); // three PINs ago: allowed again
      // The administrator may re-issue any PIN (Lync's Set-CsClientPin is not bound by the history).
      await setPin('ken2@contoso.com', '50709');
      await setPin('ken2@contoso.com', '50709');
      await setPinPolicy(s, null, { PINHistoryCount: 0 });
      await userSetsPin('ken2@contoso.com', '50709');
    });

    it('Get-CsClientPinInfo gives IsPinSet, IsLockedOut, LastPinChangeTime and PinExpirationTime', async () => {
      const none = await withUser('ken1@contoso.com', async (trx, u) => pinInfo(trx, s, { ...u, pin_hash: null, pin_set_at: null }));
      assert.deepEqual(none, { Identity: 'sip:ken1@contoso.com', IsPinSet: false, IsLockedOut: false, LastPinChangeTime: null, PinExpirationTime: null });
      const setAt = (await userRow(s, 'sip:ken0@contoso.com')).pin_set_at!;
      assert.ok(setAt < c.t);
      const set = await info('ken0@contoso.com');
      assert.deepEqual(set, { Identity: 'sip:ken0@contoso.com', IsPinSet: true, IsLockedOut: false, LastPinChangeTime: new Date(setAt).toISOString(), PinExpirationTime: null });
      await newPinPolicy(s, 'tag:Expiring', { PINHistoryCount: 1, PINLifetime: 30 });
      await withUser('ken0@contoso.com', (trx, u) => grantPinPolicy(trx, s, u, 'Expiring'));
      assert.equal((await info('ken0@contoso.com')).PinExpirationTime, new Date(setAt + 30 * DAY_MS).toISOString());
    });

    it('an expired PIN no longer verifies', async () => {
      c.t = (await userRow(s, 'sip:ken0@contoso.com')).pin_set_at! + 30 * DAY_MS;
      assert.equal((await verifyLeaderPin(s, cid, '80246813')).IsLeader, true);
      c.advance(1);
      assert.equal((await verifyLeaderPin(s, cid, '80246813')).IsLeader, false);
      await setPin('ken0@contoso.com', '80246824');
      assert.equal((await verifyLeaderPin(s, cid, '80246824')).IsLeader, true);
      await withUser('ken0@contoso.com', (trx, u) => grantPinPolicy(trx, s, u, null));
    });

    it('Lock refuses the right PIN and any change until Unlock', async () => {
      await withUser('ken0@contoso.com', (trx, u) => lockPin(trx, s, u));
      assert.equal((await info('ken0@contoso.com')).IsLockedOut, true);
      assert.equal((await verifyLeaderPin(s, cid, '80246824')).IsLeader, false);
      await assert.rejects(setPin('ken0@contoso.com', '13579'), code('PIN_LOCKED', 'Identity'));
      await withUser('ken0@contoso.com', (trx, u) => unlockPin(trx, s, u));
      assert.equal((await info('ken0@contoso.com')).IsLockedOut, false);
      assert.equal((await verifyLeaderPin(s, cid, '80246824')).IsLeader, true);
      const actions = (await t.ctx.db.kysely.selectFrom('audit').select('action').where('action', 'in', ['pin.lock', 'pin.unlock']).execute()).map((a) => a.action).sort();
      assert.deepEqual(actions, ['pin.lock', 'pin.unlock']);
    });
  });
}
