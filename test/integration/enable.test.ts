import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { newBridge, setBridge } from '../../src/app/bridges.ts';
import { registerServiceNumber } from '../../src/app/service-numbers.ts';
import { addUser } from '../../src/app/users.ts';
import { runInBatches } from '../../src/app/bulk.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { dammCheckDigit } from '../../src/core/conference-id.ts';

for (const dialect of DIALECTS) {
  describe(`enable users (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await newBridge(t.scope, { name: 'Conference Bridge' });
      await registerServiceNumber(t.scope, { number: '+14255551234', bridge: { name: 'Conference Bridge' } });
      await setBridge(t.scope, { name: 'Conference Bridge' }, { defaultServiceNumber: '14255551234' });
      for (let i = 0; i < 30; i++) await addUser(t.scope, { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, Language: i % 2 ? 'fr' : 'en' });
    });
    after(() => t.cleanup());

    it('enables a group in batches: ID with check digit, PIN that verifies, one welcome row each', async () => {
      const results: { user?: string; output?: Record<string, unknown>; outcome: string }[] = [];
      const summary = await runInBatches(t.scope, Array.from({ length: 30 }, (_, i) => `user${i}@contoso.com`), enableUsers(t.scope, { bridge: {}, returnPin: true }), { batchSize: 7, onResult: (r) => results.push(r) });
      assert.deepEqual(summary, { done: 30, unchanged: 0, skipped: 0 });
      const ids = new Set(results.map((r) => r.output!.ConferenceId as string));
      assert.equal(ids.size, 30);
      for (const r of results) {
        const cid = r.output!.ConferenceId as string;
        assert.equal(cid.length, 7);
        assert.equal(dammCheckDigit(cid), 0);
        assert.equal(r.output!.ServiceNumber, '+14255551234');
        const pin = r.output!.LeaderPin as string;
        assert.match(pin, /^[0-9]{5}$/);
        assert.equal((await verifyLeaderPin(t.scope, cid, pin)).IsLeader, true);
      }
      const rows = await t.ctx.db.kysely.selectFrom('outbox').select(['kind', 'language', 'pin_enc']).execute();
      assert.equal(rows.length, 30);
      assert.ok(rows.every((r) => r.kind === 'welcome' && r.pin_enc !== null));
      assert.equal(rows.filter((r) => r.language === 'fr').length, 15);
      const again = await runInBatches(t.scope, ['user0@contoso.com'], enableUsers(t.scope, { bridge: {} }));
      assert.deepEqual(again, { done: 0, unchanged: 1, skipped: 0 });
    });
  });
}
