import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { runCli } from '../support/cli.ts';
import { addUsers, bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { verifyLeaderPin } from '../../src/app/pins.ts';
import { sqliteFile } from '../../src/adapters/db/database.ts';

/**
 * Issue 17: a right PIN moves its hash to the current key version, but the bridge's answer never
 * waits for that write. While another writer holds what the move needs (a re-seal's batch), the
 * check answers and leaves the hash as it was; the next right PIN moves it. Without the skip the
 * check would wait for the lock (SQLite: for its 10 s busy timeout, then fail; PostgreSQL: until
 * the lock is released, which here comes only after the check returns).
 */
for (const dialect of DIALECTS) {
  describe(`moving a PIN hash to the current key never holds up the bridge (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect, { DIALIN_PIN_KEY: '' });
    });
    after(async () => t?.cleanup());

    it('a right PIN while another writer holds the lock is accepted and left for later; the next one moves it', { timeout: 120_000 }, async () => {
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      const [sip] = await addUsers(t.scope, 'rehash', 1);
      const [enabled] = await enable(t.scope, [sip!], { returnPin: true });
      const pin = enabled!.output!.LeaderPin as string;
      const conferenceId = enabled!.output!.ConferenceId as string;
      const rotated = await runCli(['key', 'rotate'], t.env);
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.ok(t.ctx.keys.reload());
      assert.equal(t.ctx.keys.current, 2);
      const user = await userRow(t.scope, sip!);
      assert.equal(user.pin_key_version, 1);

      // Another writer: on SQLite a write transaction of another connection; on PostgreSQL the user's row locked.
      let release: () => Promise<void>;
      if (dialect === 'sqlite') {
        const other = new Sqlite(sqliteFile(t.dataDir));
        other.exec('begin immediate');
        other.prepare('update tenants set name = name').run();
        release = async () => {
          other.exec('commit');
          other.close();
        };
      } else {
        const other = new pg.Client({ connectionString: t.env.DATABASE_URL });
        await other.connect();
        await other.query('begin');
        await other.query('select id from users where id = $1 for update', [user.id]);
        release = async () => {
          await other.query('commit');
          await other.end();
        };
      }
      try {
        let moving: Promise<boolean> | undefined;
        assert.equal((await verifyLeaderPin(t.scope, conferenceId, pin, { onRehash: (w) => (moving = w) })).IsLeader, true, 'the right PIN is accepted while the lock is held');
        assert.ok(moving, 'a move of the stale hash was started');
        assert.equal(await moving, false, 'the move was skipped, not waited for');
        assert.equal((await userRow(t.scope, sip!)).pin_key_version, 1, 'the hash was left under version 1');
      } finally {
        await release!();
      }
      let moving: Promise<boolean> | undefined;
      assert.equal((await verifyLeaderPin(t.scope, conferenceId, pin, { onRehash: (w) => (moving = w) })).IsLeader, true);
      assert.equal(await moving, true, 'written once nobody else writes');
      const moved = await userRow(t.scope, sip!);
      assert.equal(moved.pin_key_version, 2, 'the next right PIN moved it');
      assert.match(moved.pin_hash!, /^k2\$/);
      assert.equal((await verifyLeaderPin(t.scope, conferenceId, pin)).IsLeader, true, 'and it still opens the meeting');
      assert.equal((await verifyLeaderPin(t.scope, conferenceId, '00000000')).IsLeader, false);
    });
  });
}
