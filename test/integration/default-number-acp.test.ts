import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { swapDefaultNumber } from '../../src/app/default-number.ts';
import { getUserAcp, removeUserAcp, setUserAcp, type AcpInput } from '../../src/app/acp.ts';
import { findUser } from '../../src/app/users.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { AppError } from '../../src/core/errors.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);
const FABRIKAM: AcpInput = { name: 'Fabrikam ACP', domain: 'Fabrikam.com', tollNumber: '14255551298', tollFreeNumbers: ['18005551010', '+1 800 555 1020'], participantPasscode: '13761', url: 'https://fabrikam.com/join' };

for (const dialect of DIALECTS) {
  describe(`Set-CsOnlineDialInConferencingUserDefaultNumber (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550100', 'tf:+18005550101']);
      await bridgeWithNumbers(t.scope, 'Second Bridge', '+14255550200', ['+14255550201']);
      await addUsers(t.scope, 'a', 5);
      await addUsers(t.scope, 'b', 2);
      await enable(t.scope, ['a0@contoso.com', 'a1@contoso.com', 'a2@contoso.com']);
      await enable(t.scope, ['a3@contoso.com'], { serviceNumber: '+14255550101', tollFreeServiceNumber: '+18005550100' });
      await enable(t.scope, ['b0@contoso.com', 'b1@contoso.com'], { bridge: { name: 'Second Bridge' } });
    });
    after(() => t.cleanup());

    it('moves every user of the bridge on FromNumber, and only them, with one "information changed" mail each', async () => {
      const res = await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '14255550100', toNumber: '14255550101', numberType: 'Toll' });
      assert.deepEqual(res, { MovedUsers: 3, FromNumber: '+14255550100', ToNumber: '+14255550101', NumberType: 'Toll', BridgeName: 'Conference Bridge' });
      for (const u of ['a0', 'a1', 'a2', 'a3']) assert.equal((await userRow(t.scope, `sip:${u}@contoso.com`)).service_number, '+14255550101', u);
      for (const u of ['b0', 'b1']) assert.equal((await userRow(t.scope, `sip:${u}@contoso.com`)).service_number, '+14255550200', u);
      const info = await t.ctx.db.kysely.selectFrom('outbox').innerJoin('users', 'users.id', 'outbox.user_id').select('users.sip').where('kind', '=', 'info_changed').execute();
      assert.deepEqual(info.map((r) => r.sip).sort(), ['sip:a0@contoso.com', 'sip:a1@contoso.com', 'sip:a2@contoso.com']);
      const payload = JSON.parse((await t.ctx.db.kysely.selectFrom('outbox').select('payload').where('kind', '=', 'info_changed').executeTakeFirstOrThrow()).payload);
      assert.equal(payload.data.tollNumber, '+14255550101');
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'user.default-number').execute();
      assert.equal(audit.length, 3);
      assert.deepEqual(JSON.parse(audit[0]!.details), { numberType: 'Toll', from: '+14255550100', to: '+14255550101' });
      const rerun = await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '14255550100', toNumber: '14255550101', numberType: 'Toll' });
      assert.equal(rerun.MovedUsers, 0, 'a re-run finds nobody left to move');
    });

    it('with no FromNumber gives a toll-free default to the users who have none', async () => {
      const res = await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: null, toNumber: '+18005550101', numberType: 'TollFree' });
      assert.equal(res.MovedUsers, 3);
      assert.equal((await userRow(t.scope, 'sip:a3@contoso.com')).toll_free_number, '+18005550100');
      assert.equal((await userRow(t.scope, 'sip:a0@contoso.com')).toll_free_number, '+18005550101');
    });

    it('refuses a ToNumber that is not on the bridge, of the wrong type, or the FromNumber itself', async () => {
      const before = await dumpDb(t.ctx.db);
      const swap = (toNumber: string, numberType: 'Toll' | 'TollFree', fromNumber: string | null = '+14255550101') => swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber, toNumber, numberType });
      await assert.rejects(swap('+14255550200', 'Toll'), code('NUMBER_NOT_ON_BRIDGE', 'ToNumber'));
      await assert.rejects(swap('+18005550100', 'Toll'), code('NUMBER_TYPE_MISMATCH', 'ToNumber'));
      await assert.rejects(swap('+14255550101', 'Toll'), code('INVALID_ARGUMENT', 'ToNumber'));
      await assert.rejects(swap('+14255550100', 'Toll', 'not a number'), code('NUMBER_INVALID', 'FromNumber'));
      await assert.rejects(swapDefaultNumber(t.scope, { bridge: { name: 'Nope' }, fromNumber: null, toNumber: '+14255550100', numberType: 'Toll' }), code('BRIDGE_NOT_FOUND'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });
  });

  describe(`Set-/Get-/Remove-CsUserAcp (${dialect})`, () => {
    let t: TestEnv;
    const inTrx = <T>(fn: (trx: TestEnv['ctx']['db']['kysely'], who: (id: string) => ReturnType<typeof findUser>) => Promise<T>) =>
      t.ctx.db.kysely.transaction().execute((trx) => fn(trx, (id) => findUser(trx, t.scope.tenant.id, id)));
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234');
      await addUsers(t.scope, 'ken', 3);
    });
    after(() => t.cleanup());

    it('puts a user without dial-in on a third-party provider, normalising its fields', async () => {
      const info = await inTrx(async (trx, who) => setUserAcp(trx, t.scope, await who('ken0@contoso.com'), FABRIKAM));
      assert.deepEqual(info, { Default: true, Name: 'Fabrikam ACP', Domain: 'fabrikam.com', TollNumber: '+14255551298', TollFreeNumbers: ['+18005551010', '+18005551020'], ParticipantPassCode: '13761', Url: 'https://fabrikam.com/join' });
      assert.equal((await userRow(t.scope, 'sip:ken0@contoso.com')).provider, 'ThirdParty');
      assert.equal((await t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length, 0, 'no mail: the user had no dial-in from dialin');
    });

    it('switching an enabled user to a third party turns dial-in off, releases the ID and mails "turned off"', async () => {
      const [r] = await enable(t.scope, ['ken1@contoso.com']);
      const cid = r!.output!.ConferenceId as string;
      await inTrx(async (trx, who) => setUserAcp(trx, t.scope, await who('ken1@contoso.com'), { name: 'Other ACP', domain: 'other.example' }));
      const row = await userRow(t.scope, 'sip:ken1@contoso.com');
      assert.deepEqual([row.provider, row.dialin_enabled, row.conference_id, row.pin_hash], ['ThirdParty', 0, null, null]);
      assert.equal((await verifyLeaderPin(t.scope, cid, r!.output!.LeaderPin as string)).IsLeader, false);
      assert.ok(await t.ctx.db.kysely.selectFrom('released_conference_ids').select('conference_id').where('conference_id', '=', cid).executeTakeFirst());
      const mails = await t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'status', 'pin_enc']).where('user_id', '=', row.id).execute();
      assert.deepEqual(mails.map((m) => `${m.kind}:${m.status}:${m.pin_enc === null}`).sort(), ['turned_off:queued:true', 'welcome:superseded:true']);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('action').where('target_user_id', '=', row.id).execute();
      assert.deepEqual(audit.map((a) => a.action).sort(), ['acp.set', 'user.add', 'user.enable', 'user.provider-change']);
    });

    it('Set again replaces the provider; bad fields are refused with nothing changed', async () => {
      const before = await dumpDb(t.ctx.db);
      const bad: [Partial<AcpInput>, string, string][] = [
        [{ domain: 'not a domain' }, 'Domain', 'INVALID_ARGUMENT'],
        [{ participantPasscode: '12ab' }, 'ParticipantPasscode', 'INVALID_ARGUMENT'],
        [{ tollNumber: '555' }, 'TollNumber', 'NUMBER_INVALID'],
        [{ tollFreeNumbers: ['18005551010', 'x'] }, 'TollFreeNumbers', 'NUMBER_INVALID'],
        [{ url: 'javascript:alert(1)' }, 'Url', 'INVALID_ARGUMENT'],
        [{ name: '' }, 'Name', 'INVALID_ARGUMENT'],
      ];
      for (const [patch, field, c] of bad) {
        await assert.rejects(inTrx(async (trx, who) => setUserAcp(trx, t.scope, await who('ken2@contoso.com'), { ...FABRIKAM, ...patch })), code(c, field), field);
      }
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      await inTrx(async (trx, who) => setUserAcp(trx, t.scope, await who('ken0@contoso.com'), { name: 'Litware ACP', domain: 'litware.com' }));
      const got = await getUserAcp(t.ctx.db.kysely, t.scope, await findUser(t.ctx.db.kysely, t.scope.tenant.id, 'ken0@contoso.com'));
      assert.deepEqual(got.map((g) => [g.Identity, g.AcpInfo.map((a) => a.Name)]), [['sip:ken0@contoso.com', ['Litware ACP']]]);
    });

    it('Get lists every third-party user, or one user (empty when none)', async () => {
      const all = await getUserAcp(t.ctx.db.kysely, t.scope);
      assert.deepEqual(all.map((a) => a.Identity), ['sip:ken0@contoso.com', 'sip:ken1@contoso.com']);
      const none = await getUserAcp(t.ctx.db.kysely, t.scope, await findUser(t.ctx.db.kysely, t.scope.tenant.id, 'ken2@contoso.com'));
      assert.deepEqual(none, [{ Identity: 'sip:ken2@contoso.com', AcpInfo: [] }]);
    });

    it('Remove with the wrong name is refused; with the right one or none, the provider becomes None', async () => {
      await assert.rejects(inTrx(async (trx, who) => removeUserAcp(trx, t.scope, await who('ken0@contoso.com'), 'Fabrikam ACP')), code('ACP_NOT_FOUND', 'Name'));
      assert.equal(await inTrx(async (trx, who) => removeUserAcp(trx, t.scope, await who('ken0@contoso.com'), 'litware acp')), 'done');
      assert.equal(await inTrx(async (trx, who) => removeUserAcp(trx, t.scope, await who('ken1@contoso.com'), null)), 'done');
      assert.equal(await inTrx(async (trx, who) => removeUserAcp(trx, t.scope, await who('ken1@contoso.com'), null)), 'unchanged');
      await assert.rejects(inTrx(async (trx, who) => removeUserAcp(trx, t.scope, await who('ken2@contoso.com'), 'Any')), code('ACP_NOT_FOUND'));
      for (const u of ['ken0', 'ken1']) assert.equal((await userRow(t.scope, `sip:${u}@contoso.com`)).provider, 'None');
      assert.deepEqual(await getUserAcp(t.ctx.db.kysely, t.scope), []);
    });
  });
}
