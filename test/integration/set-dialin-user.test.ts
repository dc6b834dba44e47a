import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, one, userRow } from '../support/fixtures.ts';
import { setDialInUsers, type SetDialInUserOptions } from '../../src/app/set-dialin-user.ts';
import { lockPin, unlockPin, verifyLeaderPin } from '../../src/app/pins.ts';
import { findUser } from '../../src/app/users.ts';
import { dammCheckDigit, generateConferenceId } from '../../src/core/conference-id.ts';
import { AppError } from '../../src/core/errors.ts';
import type { ItemResult } from '../../src/app/bulk.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`Set-CsOnlineDialInConferencingUser (${dialect})`, () => {
    let t: TestEnv;
    const pins = new Map<string, string>();
    const set = (who: string, o: SetDialInUserOptions): Promise<ItemResult> => one(t.scope, who, setDialInUsers(t.scope, o));
    const mails = async (sip: string) => (await t.ctx.db.kysely.selectFrom('outbox').innerJoin('users', 'users.id', 'outbox.user_id').select(['outbox.kind', 'outbox.status']).where('users.sip', '=', sip).execute()).map((m) => `${m.kind}:${m.status}`).sort();

    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234', ['+14255037265', 'tf:+18005551010']);
      await bridgeWithNumbers(t.scope, 'Second Bridge', '+14255559999', ['tf:+18005559999']);
      await addUsers(t.scope, 'ken', 4);
      for (const r of await enable(t.scope, ['ken0@contoso.com', 'ken1@contoso.com', 'ken2@contoso.com'], { tollFreeServiceNumber: '+18005551010' })) pins.set(r.user!, r.output!.LeaderPin as string);
    });
    after(() => t.cleanup());

    it('-ResetLeaderPin gives a new PIN once, mails it as "PIN changed", and the old PIN stops working', async () => {
      const before = await userRow(t.scope, 'sip:ken0@contoso.com');
      const r = await set('ken0@contoso.com', { resetLeaderPin: true });
      assert.equal(r.outcome, 'done');
      const pin = r.output!.LeaderPin as string;
      assert.match(pin, /^[0-9]{5}$/);
      assert.equal((await verifyLeaderPin(t.scope, before.conference_id!, pin)).IsLeader, true);
      if (pin !== pins.get('sip:ken0@contoso.com')) assert.equal((await verifyLeaderPin(t.scope, before.conference_id!, pins.get('sip:ken0@contoso.com')!)).IsLeader, false);
      assert.deepEqual(await mails('sip:ken0@contoso.com'), ['pin_changed:queued', 'welcome:superseded']);
      const after = await userRow(t.scope, 'sip:ken0@contoso.com');
      assert.equal(after.conference_id, before.conference_id, 'nothing else changed');
      assert.equal(after.service_number, before.service_number);
    });

    it('-ResetLeaderPin is refused on a locked PIN', async () => {
      await t.ctx.db.kysely.transaction().execute(async (trx) => lockPin(trx, t.scope, await findUser(trx, t.scope.tenant.id, 'ken2@contoso.com')));
      const r = await set('ken2@contoso.com', { resetLeaderPin: true });
      assert.equal(r.code, 'PIN_LOCKED');
      await t.ctx.db.kysely.transaction().execute(async (trx) => unlockPin(trx, t.scope, await findUser(trx, t.scope.tenant.id, 'ken2@contoso.com')));
    });

    it('-ResetConferenceId gives a new random ID, quarantines the old one and mails "information changed"', async () => {
      const old = (await userRow(t.scope, 'sip:ken1@contoso.com')).conference_id!;
      const r = await set('ken1@contoso.com', { resetConferenceId: true });
      const id = r.output!.ConferenceId as string;
      assert.notEqual(id, old);
      assert.equal(dammCheckDigit(id), 0);
      assert.equal((await verifyLeaderPin(t.scope, id, pins.get('sip:ken1@contoso.com')!)).IsLeader, true, 'the PIN is kept');
      assert.equal((await verifyLeaderPin(t.scope, old, pins.get('sip:ken1@contoso.com')!)).IsLeader, false);
      assert.ok(await t.ctx.db.kysely.selectFrom('released_conference_ids').select('conference_id').where('conference_id', '=', old).executeTakeFirst());
      assert.deepEqual(await mails('sip:ken1@contoso.com'), ['info_changed:queued', 'welcome:queued']);
    });

    it('-ConferenceId sets a chosen ID, refusing a wrong length, a bad check digit or one taken, and changing nothing then', async () => {
      const taken = (await userRow(t.scope, 'sip:ken0@contoso.com')).conference_id!;
      const released = (await t.ctx.db.kysely.selectFrom('released_conference_ids').select('conference_id').executeTakeFirstOrThrow()).conference_id;
      const good = generateConferenceId(7, t.scope.randomInt);
      const before = await dumpDb(t.ctx.db);
      const bad = [
        [generateConferenceId(6, t.scope.randomInt), 'CONFERENCE_ID_INVALID'],
        [good.slice(0, 6) + String((Number(good[6]) + 1) % 10), 'CONFERENCE_ID_INVALID'],
        ['36593O5', 'CONFERENCE_ID_INVALID'],
        [taken, 'CONFERENCE_ID_TAKEN'],
        [released, 'CONFERENCE_ID_TAKEN'],
      ];
      for (const [id, c] of bad) {
        const r = await set('ken1@contoso.com', { conferenceId: id });
        assert.equal(r.outcome, 'skipped', id);
        assert.equal(r.code, c, id);
      }
      assert.throws(() => setDialInUsers(t.scope, { conferenceId: good, resetConferenceId: true }), code('CONFLICTING_PARAMETERS'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const r = await set('ken1@contoso.com', { conferenceId: good });
      assert.equal(r.output!.ConferenceId, good);
      const same = await set('ken1@contoso.com', { conferenceId: good });
      assert.equal(same.outcome, 'unchanged', 'its own ID again is no change');
    });

    it('-ServiceNumber and -TollFreeServiceNumber must be numbers of the bridge, of the right type', async () => {
      const before = await dumpDb(t.ctx.db);
      assert.equal((await set('ken0@contoso.com', { serviceNumber: '+14255559999' })).code, 'NUMBER_NOT_ON_BRIDGE');
      assert.equal((await set('ken0@contoso.com', { serviceNumber: '+18005551010' })).code, 'NUMBER_TYPE_MISMATCH');
      assert.equal((await set('ken0@contoso.com', { tollFreeServiceNumber: '+14255037265' })).code, 'NUMBER_TYPE_MISMATCH');
      assert.equal((await set('ken0@contoso.com', { serviceNumber: '+1425503726X' })).code, 'NUMBER_INVALID');
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const r = await set('ken0@contoso.com', { serviceNumber: '14255037265' });
      assert.equal(r.output!.ServiceNumber, '+14255037265');
      assert.equal((await userRow(t.scope, 'sip:ken0@contoso.com')).service_number, '+14255037265');
      assert.deepEqual(await mails('sip:ken0@contoso.com'), ['info_changed:queued', 'pin_changed:queued', 'welcome:superseded']);
    });

    it('-BridgeName moves the user; numbers not on the new bridge become its defaults', async () => {
      const r = await set('ken0@contoso.com', { bridge: { name: 'Second Bridge' } });
      assert.deepEqual([r.output!.BridgeName, r.output!.ServiceNumber, r.output!.TollFreeServiceNumber], ['Second Bridge', '+14255559999', null]);
      const moved = await set('ken2@contoso.com', { bridge: { name: 'Second Bridge' }, tollFreeServiceNumber: '+18005559999' });
      assert.deepEqual([moved.output!.ServiceNumber, moved.output!.TollFreeServiceNumber], ['+14255559999', '+18005559999']);
      const audit = await t.ctx.db.kysely.selectFrom('audit').innerJoin('users', 'users.id', 'audit.target_user_id').select('audit.details').where('users.sip', '=', 'sip:ken2@contoso.com').where('audit.action', '=', 'user.set').executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(audit.details), { BridgeName: 'Second Bridge', ServiceNumber: '+14255559999', TollFreeServiceNumber: '+18005559999', mails: ['info_changed'] });
      assert.equal((await set('ken2@contoso.com', { bridge: { name: 'Nope' } })).code, 'BRIDGE_NOT_FOUND');
    });

    it('-SendEmail queues the conference info (no PIN), to another address if asked', async () => {
      const r = await set('ken2@contoso.com', { sendEmail: true, sendEmailToAddress: 'Ken.Home@Hotmail.com' });
      assert.equal(r.outcome, 'done');
      const row = await t.ctx.db.kysely.selectFrom('outbox').selectAll().where('kind', '=', 'conference_info').executeTakeFirstOrThrow();
      assert.equal(row.recipient, 'Ken.Home@hotmail.com');
      assert.equal(row.pin_enc, null);
      assert.throws(() => setDialInUsers(t.scope, { sendEmailToAddress: 'a@contoso.com' }), code('CONFLICTING_PARAMETERS', 'SendEmailToAddress'));
      assert.throws(() => setDialInUsers(t.scope, { sendEmail: true, sendEmailToAddress: 'a@contoso.com\r\nBcc: b@contoso.com' }), code('EMAIL_INVALID', 'SendEmailToAddress'));
    });

    it('nothing to change is "unchanged"; a user not enabled is refused', async () => {
      const before = await dumpDb(t.ctx.db);
      assert.equal((await set('ken2@contoso.com', {})).outcome, 'unchanged');
      assert.equal((await set('ken3@contoso.com', { resetLeaderPin: true })).code, 'USER_NOT_ENABLED');
      assert.equal((await set('nobody@contoso.com', { resetLeaderPin: true })).code, 'USER_NOT_FOUND');
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });
  });
}
