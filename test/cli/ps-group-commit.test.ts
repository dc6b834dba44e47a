import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk } from '../support/cli-expect.ts';
import { runCli } from '../support/cli.ts';
import { addUsers } from '../support/fixtures.ts';

const USERS = 1100; // more than two groups of one commit (500 calls each)

/**
 * One-user calls in a loop (`ForEach-Object { Set-CsClientPin -Identity $_ }`) are grouped under
 * one commit per group of users on SQLite (adapters/db/database.ts, GroupCommit): the effect is
 * the one of a commit per call — every call done, a refused user alone left out, what ran before
 * a terminating error kept — and all of it is on disk when the script ends.
 */
for (const dialect of DIALECTS) {
  describe(`one-user calls in a loop (${dialect})`, () => {
    let t: TestEnv;
    let sips: string[];
    const pinned = async (prefix: string) =>
      (await t.ctx.db.kysely.selectFrom('users').select('sip').where('tenant_id', '=', t.scope.tenant.id).where('sip', 'like', `sip:${prefix}%`).where('pin_hash', 'is not', null).execute()).map((r) => r.sip).sort();
    const audits = async () => Number((await t.ctx.db.kysely.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', t.scope.tenant.id).where('action', '=', 'pin.set').executeTakeFirstOrThrow()).n);
    before(async () => {
      t = await testEnv(dialect);
      sips = await addUsers(t.scope, 'loop', USERS);
      await addUsers(t.scope, 'stop', 3);
      await addUsers(t.scope, 'tried', 3);
    });
    after(() => t.cleanup());

    it('a loop over more users than a group: every call done, once, with its audit row; a refused user alone skipped', async () => {
      const locked = 'loop7@contoso.com';
      await expectOk(t, ['Set-CsClientPin', '-Identity', locked]);
      await expectOk(t, ['Lock-CsClientPin', '-Identity', locked, '-Force']);
      const before = await audits();
      const csv = path.join(t.dataDir, 'loop.csv');
      fs.writeFileSync(csv, ['Email', ...sips.map((s) => s.replace(/^sip:/, ''))].join('\n') + '\n');
      const r = await expectOk(t, ['-Command', `Import-Csv '${csv}' | ForEach-Object { Set-CsClientPin -Identity $_.Email -ErrorAction SilentlyContinue } | Measure-Object | Select-Object -ExpandProperty Count`]);
      assert.equal(r.stdout.trim(), String(USERS - 1), r.stderr);
      assert.deepEqual(await pinned('loop'), [...sips].sort());
      assert.equal((await audits()) - before, USERS - 1, 'one audit row per PIN set, none for the locked user');
    });

    it('a terminating error stops the loop: the calls before it stay done, the ones after never ran', async () => {
      const r = await runCli(['-Command', "'stop0@contoso.com','nobody@contoso.com','stop2@contoso.com' | ForEach-Object { Set-CsClientPin -Identity $_ }"], t.env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^dialin: USER_NOT_FOUND: line 1: /m);
      assert.deepEqual(await pinned('stop'), ['sip:stop0@contoso.com']);
    });

    it('try/catch around a refused call: the loop goes on, and what it says is said after the work is committed', async () => {
      const script = ["foreach ($u in 'tried0@contoso.com','nobody@contoso.com','tried2@contoso.com') {", '  try { $x = Set-CsClientPin -Identity $u; Write-Host "ok $u" } catch { Write-Host "failed $u" }', '}'].join('\n');
      const r = await expectOk(t, ['-Command', script]);
      assert.deepEqual(r.stdout.trim().split('\n'), ['ok tried0@contoso.com', 'failed nobody@contoso.com', 'ok tried2@contoso.com']);
      assert.deepEqual(await pinned('tried'), ['sip:tried0@contoso.com', 'sip:tried2@contoso.com']);
    });
  });
}
