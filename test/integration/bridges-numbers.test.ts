import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, enable, userRow } from '../support/fixtures.ts';
import { getBridges, newBridge, setBridge } from '../../src/app/bridges.ts';
import { getServiceNumbers, registerServiceNumber, setServiceNumber, unregisterServiceNumber } from '../../src/app/service-numbers.ts';
import { AppError } from '../../src/core/errors.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);
const CB = { name: 'Conference Bridge' };

for (const dialect of DIALECTS) {
  describe(`bridges and service numbers (${dialect})`, () => {
    let t: TestEnv;
    let secondId: string;
    before(async () => {
      t = await testEnv(dialect);
    });
    after(() => t.cleanup());

    it('makes the first bridge the default, a later one only with -SetDefault', async () => {
      const first = await newBridge(t.scope, { name: 'Conference Bridge' });
      const second = await newBridge(t.scope, { name: 'Second Bridge', region: 'EMEA' });
      secondId = second.Identity;
      assert.equal(first.IsDefault, true);
      assert.equal(second.IsDefault, false);
      assert.equal(second.Region, 'EMEA');
      await assert.rejects(newBridge(t.scope, { name: 'conference BRIDGE' }), code('BRIDGE_EXISTS', 'Name'));
      await assert.rejects(newBridge(t.scope, { name: ' ' }), code('INVALID_ARGUMENT', 'Name'));
      const third = await newBridge(t.scope, { name: 'Third', setDefault: true });
      assert.deepEqual((await getBridges(t.scope, {})).map((b) => [b.Name, b.IsDefault]), [['Conference Bridge', false], ['Second Bridge', false], ['Third', true]]);
      await setBridge(t.scope, CB, { setDefault: true });
      assert.deepEqual((await getBridges(t.scope, {})).filter((b) => b.IsDefault).map((b) => b.Name), ['Conference Bridge']);
      assert.equal((await getBridges(t.scope, { id: third.Identity }))[0]!.Name, 'Third');
      await assert.rejects(getBridges(t.scope, { id: 'fb91u3e9-5c2a-42c3-8yy5-ec02beexxx09' }), code('INVALID_ARGUMENT', 'BridgeId'));
      await assert.rejects(getBridges(t.scope, { name: 'Nope' }), code('BRIDGE_NOT_FOUND', 'BridgeName'));
    });

    it('registers numbers in any E.164 form, toll by default, and refuses bad or duplicate ones', async () => {
      const n = await registerServiceNumber(t.scope, { number: '14255551234', bridge: CB, city: 'Redmond', primaryLanguage: 'en-us', secondaryLanguages: ['fr-fr'] });
      assert.deepEqual(n, { Number: '+14255551234', Type: 'Toll', City: 'Redmond', PrimaryLanguage: 'en-US', SecondaryLanguages: ['fr-FR'], BridgeName: 'Conference Bridge', BridgeId: n.BridgeId, IsShared: false });
      assert.equal((await registerServiceNumber(t.scope, { number: 'tel:+14255551235', bridge: CB })).Number, '+14255551235');
      assert.equal((await registerServiceNumber(t.scope, { number: '+1 (800) 555-1010', bridge: CB, type: 'tollfree' })).Type, 'TollFree');
      await registerServiceNumber(t.scope, { number: '+14255559999', bridge: { id: secondId } });
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(registerServiceNumber(t.scope, { number: '+1425555XXX', bridge: CB }), code('NUMBER_INVALID', 'Identity'));
      await assert.rejects(registerServiceNumber(t.scope, { number: '+14255551234', bridge: { name: 'Second Bridge' } }), (e: unknown) => code('NUMBER_EXISTS')(e) && /another bridge/.test((e as Error).message));
      await assert.rejects(registerServiceNumber(t.scope, { number: '+14255551236', bridge: CB, type: 'Premium' }), code('INVALID_ARGUMENT', 'Type'));
      await assert.rejects(registerServiceNumber(t.scope, { number: '+14255551236', bridge: CB, secondaryLanguages: ['en-GB', 'de-DE', 'fr-FR', 'ja-JP', 'es-ES'] }), code('INVALID_ARGUMENT', 'SecondaryLanguages'));
      await assert.rejects(registerServiceNumber(t.scope, { number: '+14255551236', bridge: CB, primaryLanguage: 'tlh' }), code('LANGUAGE_INVALID', 'PrimaryLanguage'));
      await assert.rejects(registerServiceNumber(t.scope, { number: '+14255551236', bridge: { name: 'Nope' } }), code('BRIDGE_NOT_FOUND'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('lists numbers by number, bridge or city', async () => {
      assert.equal((await getServiceNumbers(t.scope, {})).length, 4);
      assert.deepEqual((await getServiceNumbers(t.scope, { bridge: CB })).map((n) => n.Number), ['+14255551234', '+14255551235', '+18005551010']);
      assert.deepEqual((await getServiceNumbers(t.scope, { bridge: { id: secondId } })).map((n) => n.Number), ['+14255559999']);
      assert.deepEqual((await getServiceNumbers(t.scope, { city: 'REDMOND' })).map((n) => n.Number), ['+14255551234']);
      assert.deepEqual((await getServiceNumbers(t.scope, { number: '14255551235' })).map((n) => n.Number), ['+14255551235']);
      assert.equal((await getServiceNumbers(t.scope, { resultSize: 2 })).length, 2);
      await assert.rejects(getServiceNumbers(t.scope, { number: '+14255550000' }), code('NUMBER_NOT_FOUND'));
    });

    it('sets languages: at most 4 secondary, none repeating the primary', async () => {
      const n = await setServiceNumber(t.scope, { number: '+14255551234', primaryLanguage: 'de-de', secondaryLanguages: ['en-us', 'ja-jp', 'en-gb'] });
      assert.deepEqual([n.PrimaryLanguage, n.SecondaryLanguages], ['de-DE', ['en-US', 'ja-JP', 'en-GB']]);
      await assert.rejects(setServiceNumber(t.scope, { number: '+14255551234', secondaryLanguages: ['de-DE'] }), code('INVALID_ARGUMENT', 'SecondaryLanguages'));
      await assert.rejects(setServiceNumber(t.scope, { number: '+14255551234', secondaryLanguages: ['en-US', 'en-US'] }), code('INVALID_ARGUMENT', 'SecondaryLanguages'));
      const back = await setServiceNumber(t.scope, { number: '+14255551234', restoreDefaultLanguages: true });
      assert.deepEqual([back.PrimaryLanguage, back.SecondaryLanguages], ['en-US', []]);
    });

    it('takes only a toll number of the bridge as its default', async () => {
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(setBridge(t.scope, CB, { defaultServiceNumber: '+18005551010' }), code('NUMBER_TYPE_MISMATCH', 'DefaultServiceNumber'));
      await assert.rejects(setBridge(t.scope, CB, { defaultServiceNumber: '+14255559999' }), code('NUMBER_NOT_ON_BRIDGE', 'DefaultServiceNumber'));
      await assert.rejects(setBridge(t.scope, CB, { defaultServiceNumber: '+14255550000' }), code('NUMBER_NOT_ON_BRIDGE'));
      await assert.rejects(setBridge(t.scope, CB, { defaultServiceNumber: '4255' }), code('NUMBER_INVALID'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      const b = await setBridge(t.scope, CB, { defaultServiceNumber: '14255551234' });
      assert.equal(b.DefaultServiceNumber, '+14255551234');
    });

    it('changing the bridge default changes no existing user, only later ones', async () => {
      await addUsers(t.scope, 'early', 2);
      await enable(t.scope, ['early0@contoso.com', 'early1@contoso.com']);
      const mailsBefore = (await t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length;
      await setBridge(t.scope, CB, { defaultServiceNumber: '+14255551235' });
      assert.equal((await userRow(t.scope, 'sip:early0@contoso.com')).service_number, '+14255551234');
      assert.equal((await userRow(t.scope, 'sip:early1@contoso.com')).service_number, '+14255551234');
      assert.equal((await t.ctx.db.kysely.selectFrom('outbox').select('id').execute()).length, mailsBefore, 'no mail for a bridge default change');
      await addUsers(t.scope, 'late', 1);
      await enable(t.scope, ['late0@contoso.com']);
      assert.equal((await userRow(t.scope, 'sip:late0@contoso.com')).service_number, '+14255551235');
    });

    it('refuses to unregister a bridge default, or a number users have', async () => {
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(unregisterServiceNumber(t.scope, { number: '+14255551235', bridge: CB }), code('NUMBER_IS_BRIDGE_DEFAULT'));
      await assert.rejects(unregisterServiceNumber(t.scope, { number: '+14255551234', bridge: CB }), (e: unknown) => code('NUMBER_IN_USE')(e) && /2 user\(s\)/.test((e as Error).message));
      await assert.rejects(unregisterServiceNumber(t.scope, { number: '+14255559999', bridge: CB }), code('NUMBER_NOT_ON_BRIDGE'));
      await assert.rejects(unregisterServiceNumber(t.scope, { number: '+14255550000', bridge: CB }), code('NUMBER_NOT_FOUND'));
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('unregisters a free number, and a default one with -RemoveDefaultServiceNumber', async () => {
      await unregisterServiceNumber(t.scope, { number: '+18005551010', bridge: {} });
      await setBridge(t.scope, { id: secondId }, { defaultServiceNumber: '+14255559999' });
      const n = await unregisterServiceNumber(t.scope, { number: '+14255559999', bridge: { name: 'Second Bridge' }, removeDefault: true });
      assert.equal(n.Number, '+14255559999');
      assert.equal((await getBridges(t.scope, { id: secondId }))[0]!.DefaultServiceNumber, null);
      assert.deepEqual((await getServiceNumbers(t.scope, {})).map((x) => x.Number), ['+14255551234', '+14255551235']);
      const actions = (await t.ctx.db.kysely.selectFrom('audit').select('action').where('action', 'like', 'number.%').execute()).map((a) => a.action).sort();
      assert.deepEqual(actions, ['number.register', 'number.register', 'number.register', 'number.register', 'number.set', 'number.set', 'number.unregister', 'number.unregister']);
    });
  });
}
