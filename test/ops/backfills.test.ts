import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers } from '../support/fixtures.ts';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { backfillStates, runBackfills } from '../../src/adapters/db/backfills.ts';
import { MARK, marking } from './support/marking-backfill.ts';

/**
 * Issue 17, part 3: a migration that rewrites a large table runs in batches and can be
 * interrupted and resumed. A backfill of the test's own marks every user's display name once;
 * a name marked twice (or a mark lost) would show a batch run again (or lost).
 */
const ROWS = 6_000;
const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(import.meta.dirname, 'support/marking-backfill.ts');

/** The backfill run in a process of its own; resolves with what it did. */
function inProcess(t: TestEnv, name: string, batch: number): Promise<{ rows: number; done: boolean }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', SCRIPT, t.dataDir, t.config.databaseUrl ?? '', name, String(batch)], { cwd: ROOT }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
  });
}

for (const dialect of DIALECTS) {
  describe(`backfills: a large table rewritten in batches, resumably (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'bf', ROWS);
    });
    after(async () => t.cleanup());

    /** How many users carry the mark 0, 1, 2… times; and the ids marked, in key order. */
    async function marks(): Promise<{ times: Record<number, number>; ids: string[] }> {
      const rows = await t.ctx.db.kysely.selectFrom('users').select(['id', 'display_name']).orderBy('id').execute();
      const times: Record<number, number> = {};
      const ids: string[] = [];
      for (const r of rows) {
        const n = (r.display_name ?? '').split(MARK).length - 1;
        times[n] = (times[n] ?? 0) + 1;
        if (n > 0) ids.push(r.id);
      }
      return { times, ids };
    }
    const reset = () => t.ctx.db.kysely.updateTable('users').set({ display_name: sql`replace(display_name, ${MARK}, '')` }).execute();

    it('stopped after three batches, dead in the fifth, then resumed: every row rewritten exactly once, in key order', { timeout: 300_000 }, async () => {
      const stop = new AbortController();
      let batches = 0;
      const first = await runBackfills(t.ctx.db, { list: [marking('t1')], batch: 1000, signal: stop.signal, onBatch: () => ++batches === 3 && stop.abort() });
      assert.deepEqual(first, [{ name: 't1', rows: 3000, done: false }]);
      assert.deepEqual(await backfillStates(t.ctx.db, [marking('t1')]), [{ name: 't1', rowsDone: 3000, done: false }]);
      let m = await marks();
      assert.deepEqual(m.times, { 0: ROWS - 3000, 1: 3000 });
      const all = (await t.ctx.db.kysely.selectFrom('users').select('id').orderBy('id').execute()).map((r) => r.id);
      assert.deepEqual(m.ids, all.slice(0, 3000), 'the first 3,000 in key order');

      // The second run dies in its second batch: that batch is rolled back, the one before it kept.
      await assert.rejects(runBackfills(t.ctx.db, { list: [marking('t1', 2)], batch: 1000 }), /died in this batch/);
      assert.deepEqual(await backfillStates(t.ctx.db, [marking('t1')]), [{ name: 't1', rowsDone: 4000, done: false }]);
      m = await marks();
      assert.deepEqual(m.times, { 0: ROWS - 4000, 1: 4000 });

      const rest = await runBackfills(t.ctx.db, { list: [marking('t1')], batch: 1000 });
      assert.deepEqual(rest, [{ name: 't1', rows: ROWS - 4000, done: true }]);
      assert.deepEqual((await marks()).times, { 1: ROWS });
      assert.deepEqual(await backfillStates(t.ctx.db, [marking('t1')]), [{ name: 't1', rowsDone: ROWS, done: true }]);
      assert.deepEqual(await runBackfills(t.ctx.db, { list: [marking('t1')], batch: 1000 }), [{ name: 't1', rows: 0, done: true }], 'a finished backfill never runs again');
      await reset();
    });

    it('two processes running the same backfill at once take turns: each row once', { timeout: 300_000 }, async () => {
      const [a, b] = await Promise.all([inProcess(t, 't2', 250), inProcess(t, 't2', 250)]);
      assert.equal(a.rows + b.rows, ROWS);
      assert.ok(a.done && b.done);
      assert.deepEqual((await marks()).times, { 1: ROWS });
      await reset();
    });
  });
}
