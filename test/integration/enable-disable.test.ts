import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { clock, DAY_MS, withClock, withReplayedDigits } from '../support/scopes.ts';
import { addUsers, bridgeWithNumbers, enable, one, userRow } from '../support/fixtures.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { disableUsers } from '../../src/app/disable-user.ts';
import { setUserAcp } from '../../src/app/acp.ts';
import { findUser } from '../../src/app/users.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { newPinPolicy, setPinPolicy } from '../../src/app/pin-policies.ts';
import { dammCheckDigit, generateConferenceId } from '../../src/core/conference-id.ts';
import { AppError } from '../../src/core/errors.ts';
import type { TenantScope } from '../../src/app/context.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`Enable- and Disable-CsOnlineDialInConferencingUser (${dialect})`, () => {
    let t: TestEnv;
    let s: TenantScope;
    let released: string;
    const c = clock();
    before(async () => {
      t = await testEnv(dialect);
      s = withClock(t.scope, c);
      await bridgeWithNumbers(s, 'Conference Bridge', '+14255551234', ['+14255551235', 'tf:+18005551010']);
      await bridgeWithNumbers(s, 'Second Bridge', '+14255559999');
      await addUsers(s, 'user', 12);
    });
    after(() => t.cleanup());

    it('gives the default bridge, its default number, a conference ID and a working PIN', async () => {
      const [r] = await enable(s, ['user0@contoso.com']);
      assert.equal(r!.outcome, 'done');
      const o = r!.output!;
      assert.equal(o.Provider, 'Microsoft');
      assert.equal(o.BridgeName, 'Conference Bridge');
      assert.equal(o.ServiceNumber, '+14255551234');
      assert.equal(o.TollFreeServiceNumber, null);
      assert.equal(o.AllowPstnOnlyMeetings, false);
      assert.match(o.ConferenceId as string, /^[1-9][0-9]{6}$/);
      assert.equal(dammCheckDigit(o.ConferenceId as string), 0);
      assert.match(o.LeaderPin as string, /^[0-9]{5}$/);
      const row = await userRow(s, 'sip:user0@contoso.com');
      assert.equal(row.dialin_enabled, 1);
      assert.equal(row.pin_set_at, c.t);
      assert.notEqual(row.pin_hash, o.LeaderPin);
      assert.equal((await verifyLeaderPin(s, o.ConferenceId as string, o.LeaderPin as string)).IsLeader, true);
    });

    it('a second Enable is a no-op, not an error', async () => {
      const before = await dumpDb(t.ctx.db);
      const r = await one(s, 'user0@contoso.com', enableUsers(s, { bridge: {}, returnPin: true, serviceNumber: '+14255551235' }));
      assert.equal(r.outcome, 'unchanged');
      assert.match(r.reason!, /already enabled/);
      assert.equal(r.output!.LeaderPin, '*****', 'the PIN is not shown again');
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('takes a named bridge, chosen numbers and AllowPstnOnlyMeetings, defaulting to the tenant setting', async () => {
      const [r] = await enable(s, ['user1@contoso.com'], { bridge: { name: 'conference bridge' }, serviceNumber: '14255551235', tollFreeServiceNumber: '+1 800 555 1010', allowPstnOnlyMeetings: true });
      assert.deepEqual([r!.output!.ServiceNumber, r!.output!.TollFreeServiceNumber, r!.output!.AllowPstnOnlyMeetings], ['+14255551235', '+18005551010', true]);
      await setTenantSettings(s, { AllowPSTNOnlyMeetingsByDefault: true, PinLength: 8 });
      const [r2] = await enable(s, ['user2@contoso.com'], { bridge: { name: 'Second Bridge' } });
      assert.deepEqual([r2!.output!.BridgeName, r2!.output!.ServiceNumber, r2!.output!.AllowPstnOnlyMeetings], ['Second Bridge', '+14255559999', true]);
      assert.match(r2!.output!.LeaderPin as string, /^[0-9]{8}$/, 'the PIN has the tenant PinLength');
      await setTenantSettings(s, { AllowPSTNOnlyMeetingsByDefault: false, PinLength: 5 });
    });

    it('makes the PIN at least the PIN policy minimum', async () => {
      await setPinPolicy(s, null, { MinPasswordLength: 9 });
      const [r] = await enable(s, ['user3@contoso.com']);
      assert.match(r!.output!.LeaderPin as string, /^[0-9]{9}$/);
      await setPinPolicy(s, null, { MinPasswordLength: 5 });
      await newPinPolicy(s, 'tag:Long', { MinPasswordLength: 11 });
    });

    it('refuses numbers not on the bridge or of the wrong type, changing nothing', async () => {
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: {}, serviceNumber: '+14255559999' })), code('NUMBER_NOT_ON_BRIDGE', 'ServiceNumber'));
      await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: {}, serviceNumber: '+18005551010' })), code('NUMBER_TYPE_MISMATCH', 'ServiceNumber'));
      await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: {}, tollFreeServiceNumber: '+14255551235' })), code('NUMBER_TYPE_MISMATCH', 'TollFreeServiceNumber'));
      await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: { name: 'Nope' } })), code('BRIDGE_NOT_FOUND'));
      assert.throws(() => enableUsers(s, { bridge: {}, sendEmail: true, sendEmailToAddress: 'x@y' }), code('EMAIL_INVALID', 'SendEmailToAddress'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('takes a chosen conference ID, refusing a wrong length, a bad check digit or one taken', async () => {
      const taken = (await userRow(s, 'sip:user0@contoso.com')).conference_id!;
      const before = await dumpDb(t.ctx.db);
      const eight = generateConferenceId(8, s.randomInt);
      const good = generateConferenceId(7, s.randomInt);
      const typo = good.slice(0, 3) + good[4] + good[3] + good.slice(5);
      // 3659305 is Microsoft's example: its last digit is not the check digit.
      for (const [id, c2] of [[eight, 'CONFERENCE_ID_INVALID'], [good.slice(0, 6), 'CONFERENCE_ID_INVALID'], ['3659305', 'CONFERENCE_ID_INVALID'], [taken, 'CONFERENCE_ID_TAKEN'], ['12a4567', 'CONFERENCE_ID_INVALID']] as const) {
        await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: {}, conferenceId: id })), code(c2, 'ConferenceId'), id);
      }
      if (good[3] !== good[4]) await assert.rejects(runInBatches(s, ['user4@contoso.com'], enableUsers(s, { bridge: {}, conferenceId: typo })), code('CONFERENCE_ID_INVALID'));
      await assert.rejects(runInBatches(s, ['user4@contoso.com', 'user5@contoso.com'], enableUsers(s, { bridge: {}, conferenceId: good })), code('CONFLICTING_PARAMETERS'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const [r] = await enable(s, ['user4@contoso.com'], { conferenceId: good });
      assert.equal(r!.output!.ConferenceId, good);
    });

    it('refuses a user on a third-party provider unless -ReplaceProvider', async () => {
      await t.ctx.db.kysely.transaction().execute(async (trx) => {
        await setUserAcp(trx, s, await findUser(trx, s.tenant.id, 'user6@contoso.com'), { name: 'Fabrikam ACP', domain: 'fabrikam.com', tollNumber: '14255551298', participantPasscode: '13761' });
      });
      const before = await dumpDb(t.ctx.db);
      const refused = await one(s, 'user6@contoso.com', enableUsers(s, { bridge: {} }));
      assert.equal(refused.outcome, 'skipped');
      assert.equal(refused.code, 'USER_HAS_THIRD_PARTY_PROVIDER');
      assert.match(refused.reason!, /-ReplaceProvider/);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const replaced = await one(s, 'user6@contoso.com', enableUsers(s, { bridge: {}, replaceProvider: true }));
      assert.equal(replaced.outcome, 'done');
      const row = await userRow(s, 'sip:user6@contoso.com');
      assert.deepEqual([row.provider, row.dialin_enabled], ['Microsoft', 1]);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('target_user_id', '=', row.id).where('action', '=', 'user.enable').executeTakeFirstOrThrow();
      assert.equal(JSON.parse(audit.details).previousProvider, 'ThirdParty');
    });

    it('enables a group, skipping the bad ones with a reason and leaving the enabled ones unchanged', async () => {
      const results = await enable(s, ['user7@contoso.com', 'nobody@contoso.com', 'user0@contoso.com', 'user8@contoso.com', 'sip:user7@contoso.com', 'bad@']);
      assert.deepEqual(results.map((r) => [r.outcome, r.code ?? null]), [['done', null], ['skipped', 'USER_NOT_FOUND'], ['unchanged', null], ['done', null], ['unchanged', null], ['skipped', 'USER_URI_INVALID']]);
      assert.match(results[4]!.reason!, /listed twice/);
    });

    it('Disable removes everything, sends "turned off", and a second Disable is a no-op', async () => {
      const before = await userRow(s, 'sip:user8@contoso.com');
      released = before.conference_id!;
      const r = await one(s, 'user8@contoso.com', disableUsers(s, {}));
      assert.equal(r.outcome, 'done');
      const row = await userRow(s, 'sip:user8@contoso.com');
      assert.deepEqual(
        [row.provider, row.dialin_enabled, row.bridge_id, row.conference_id, row.service_number, row.toll_free_number, row.pin_hash, row.pin_set_at],
        ['None', 0, null, null, null, null, null, null],
      );
      assert.equal((await verifyLeaderPin(s, before.conference_id!, '13579')).IsLeader, false);
      const mails = await t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'status']).where('user_id', '=', row.id).execute();
      assert.deepEqual(mails.map((m) => `${m.kind}:${m.status}`).sort(), ['turned_off:queued', 'welcome:superseded']);
      const again = await one(s, 'user8@contoso.com', disableUsers(s, {}));
      assert.equal(again.outcome, 'unchanged');
    });

    it('Disable refuses a third-party user (Remove-CsUserAcp is the way)', async () => {
      await t.ctx.db.kysely.transaction().execute(async (trx) => {
        await setUserAcp(trx, s, await findUser(trx, s.tenant.id, 'user9@contoso.com'), { name: 'Fabrikam ACP', domain: 'fabrikam.com' });
      });
      const r = await one(s, 'user9@contoso.com', disableUsers(s, {}));
      assert.equal(r.code, 'USER_HAS_THIRD_PARTY_PROVIDER');
    });

    it('a released conference ID is not handed out again for 30 days', async () => {
      const rows = await t.ctx.db.kysely.selectFrom('released_conference_ids').selectAll().where('conference_id', '=', released).execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.released_at, c.t);
      // Chosen: refused until 30 days have passed.
      c.advance(30 * DAY_MS - 1);
      await assert.rejects(runInBatches(s, ['user10@contoso.com'], enableUsers(s, { bridge: {}, conferenceId: released })), (e: unknown) => code('CONFERENCE_ID_TAKEN')(e) && /30 days/.test((e as Error).message));
      // Generated: a generator that proposes the released ID first gets another one.
      const replay = withReplayedDigits(s, released.slice(0, -1), { firstNonZero: true });
      const [r] = await enable(replay, ['user10@contoso.com']);
      assert.notEqual(r!.output!.ConferenceId, released);
      // 30 days after the release, the same generator draw gets it.
      c.advance(1);
      const [r2] = await enable(withReplayedDigits(s, released.slice(0, -1), { firstNonZero: true }), ['user11@contoso.com']);
      assert.equal(r2!.output!.ConferenceId, released);
    });
  });
}
