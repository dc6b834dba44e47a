import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk } from '../support/cli-expect.ts';
import { addUsers } from '../support/fixtures.ts';

const USERS = 1200; // more than a page of the source (1000) and two batches of the sink (500)

/**
 * `Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin` streams: the
 * source reads users page by page while the sink commits batches, one group run with one summary;
 * run again, it finishes what an interrupted run left.
 */
for (const dialect of DIALECTS) {
  describe(`pipeline streaming (${dialect})`, () => {
    let t: TestEnv;
    let sips: string[];
    const pins = async () => new Map((await t.ctx.db.kysely.selectFrom('users').select(['sip', 'pin_hash']).where('tenant_id', '=', t.scope.tenant.id).execute()).map((r) => [r.sip, r.pin_hash]));
    before(async () => {
      t = await testEnv(dialect);
      sips = (await addUsers(t.scope, 'ken', USERS)).sort();
    });
    after(() => t.cleanup());

    it('a first run limited by a filter, then the whole pipeline: only users without a PIN get one, in one group run', async () => {
      const first = await expectOk(t, ['-Command', `Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False -and $_.Identity -lt '${sips[300]}'} | Set-CsClientPin`]);
      assert.match(first.stderr, /^Set-CsClientPin: 300 user\(s\): 300 given a PIN, 0 unchanged, 0 skipped\.$/m);
      const before = await pins();
      assert.equal([...before.values()].filter((h) => h !== null).length, 300);

      // The ForEach-Object stage looks, when the source's last user reaches it, at the first user:
      // streamed, the sink has committed that user's batch already; collected first, it would not have.
      const script = [
        '$last = ' + `'${sips.at(-1)}'`,
        'Get-CsClientPinInfo |',
        '  Where-Object {$_.IsPinSet -eq $False} |',
        `  ForEach-Object { if ($_.Identity -eq $last) { Write-Host "first user has a PIN: $((Get-CsClientPinInfo -Identity ${sips[300]}).IsPinSet)" }; $_ } |`,
        '  Set-CsClientPin',
      ].join('\n');
      const r = await expectOk(t, ['-Command', script]);
      assert.match(r.stdout + r.stderr, /first user has a PIN: True/);
      assert.match(r.stderr, new RegExp(`^Set-CsClientPin: ${USERS - 300} user\\(s\\): ${USERS - 300} given a PIN, 0 unchanged, 0 skipped\\.$`, 'm'));
      assert.equal((r.stderr.match(/^Set-CsClientPin: \d+ user\(s\): /gm) ?? []).length, 1, 'one group run (progress lines aside)');
      const afterRun = await pins();
      assert.equal([...afterRun.values()].filter((h) => h === null).length, 0, 'every user has a PIN');
      for (const sip of sips.slice(0, 300)) assert.equal(afterRun.get(sip), before.get(sip), `${sip} kept its PIN`);
      // The PINs printed are the ones stored (each once), as Set-CsClientPin prints them.
      assert.equal((r.stdout.match(/sip:ken\d+@contoso\.com\s+\d{5,}/g) ?? []).length, USERS - 300);

      // Nothing left: the pipeline runs and changes no one.
      const again = await expectOk(t, ['-Command', 'Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin']);
      assert.doesNotMatch(again.stderr, /given a PIN/);
      assert.deepEqual(await pins(), afterRun);
    });

    it('Get-CsUser and Get-CsClientPinInfo stream too: the sink commits its first batch before the source has read its last user', async () => {
      // Collected anywhere upstream, the ForEach-Object stage would see the last user before the
      // sink had committed anything.
      const probe = (what: string) => `ForEach-Object { if ($_.SipAddress -eq '${sips.at(-1)}' -or $_.Identity -eq '${sips.at(-1)}') { Write-Host "${what}: $((Get-CsClientPinInfo -Identity ${sips[0]}).IsLockedOut)" }; $_ }`;
      const locked = await expectOk(t, ['-Command', `Get-CsUser | ${probe('first locked')} | Lock-CsClientPin`]);
      assert.match(locked.stdout, /first locked: True/, locked.stderr);
      assert.match(locked.stderr, new RegExp(`^Lock-CsClientPin: ${USERS} user\\(s\\): ${USERS} locked, 0 unchanged, 0 skipped\\.$`, 'm'));
      const unlocked = await expectOk(t, ['-Command', `Get-CsUser | Get-CsClientPinInfo | ${probe('first still locked')} | Unlock-CsClientPin`]);
      assert.match(unlocked.stdout, /first still locked: False/, unlocked.stderr);
      assert.match(unlocked.stderr, new RegExp(`^Unlock-CsClientPin: ${USERS} user\\(s\\): ${USERS} unlocked, 0 unchanged, 0 skipped\\.$`, 'm'));
    });

    it('a stream feeds the stages that need all of it, and prints at the end of a pipeline', async () => {
      const r = await expectOk(t, ['-Command', "(Get-CsClientPinInfo | Measure-Object).Count; Get-CsClientPinInfo | Select-Object -First 2 -ExpandProperty Identity; Get-CsClientPinInfo | Sort-Object Identity -Descending | Select-Object -First 1 -ExpandProperty Identity"]);
      assert.deepEqual(r.stdout.trim().split('\n'), [String(USERS), sips[0], sips[1], sips.at(-1)]);
      const cli = JSON.parse((await expectOk(t, ['--json', 'Get-CsClientPinInfo'])).stdout);
      assert.equal(cli.length, USERS);
      assert.deepEqual(cli.map((x: { Identity: string }) => x.Identity), sips);
    });
  });
}
