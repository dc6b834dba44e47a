import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { setBridge } from '../../src/app/bridges.ts';
import { unregisterServiceNumber } from '../../src/app/service-numbers.ts';
import { AppError } from '../../src/core/errors.ts';

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`a default toll-free number on the bridge (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['tf:+18005550100', 'tf:+18005550101']);
      await addUsers(t.scope, 'u', 3);
      await enable(t.scope, ['u0@contoso.com']);
    });
    after(() => t.cleanup());

    it('is given to users enabled afterwards, as the toll default is; earlier users keep theirs', async () => {
      assert.equal((await userRow(t.scope, 'sip:u0@contoso.com')).toll_free_number, null);
      const b = await setBridge(t.scope, { name: 'Conference Bridge' }, { defaultTollFreeServiceNumber: '1 800 555 0100' });
      assert.equal(b.DefaultTollFreeServiceNumber, '+18005550100');
      await enable(t.scope, ['u1@contoso.com']);
      await enable(t.scope, ['u2@contoso.com'], { tollFreeServiceNumber: '+18005550101' });
      assert.equal((await userRow(t.scope, 'sip:u0@contoso.com')).toll_free_number, null, 'no existing user changes');
      assert.equal((await userRow(t.scope, 'sip:u1@contoso.com')).toll_free_number, '+18005550100');
      assert.equal((await userRow(t.scope, 'sip:u2@contoso.com')).toll_free_number, '+18005550101', 'an explicit number wins');
      const welcome = await t.ctx.db.kysely.selectFrom('outbox').innerJoin('users', 'users.id', 'outbox.user_id').select('outbox.payload').where('users.sip', '=', 'sip:u1@contoso.com').where('kind', '=', 'welcome').executeTakeFirstOrThrow();
      assert.equal(JSON.parse(welcome.payload).data.tollFreeNumber, '+18005550100', 'the welcome mail names it');
    });

    it('refuses a toll number, a number of no bridge, and keeps the default until -RemoveDefaultServiceNumber', async () => {
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(setBridge(t.scope, { name: 'Conference Bridge' }, { defaultTollFreeServiceNumber: '+14255550100' }), code('NUMBER_TYPE_MISMATCH', 'DefaultTollFreeServiceNumber'));
      await assert.rejects(setBridge(t.scope, { name: 'Conference Bridge' }, { defaultTollFreeServiceNumber: '+18005559999' }), code('NUMBER_NOT_ON_BRIDGE', 'DefaultTollFreeServiceNumber'));
      await assert.rejects(setBridge(t.scope, { name: 'Conference Bridge' }, { defaultTollFreeServiceNumber: 'nope' }), code('NUMBER_INVALID', 'DefaultTollFreeServiceNumber'));
      await assert.rejects(unregisterServiceNumber(t.scope, { number: '+18005550100', bridge: {} }), code('NUMBER_IS_BRIDGE_DEFAULT', 'Identity'));
      assert.deepEqual(await dumpDb(t.ctx.db), before, 'nothing half-done');
    });
  });
}
