import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk } from '../support/cli-expect.ts';
import { addUsers } from '../support/fixtures.ts';

const HEADER = 'Identity,User,Outcome,Code,Reason';
const lines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n');

/**
 * `--report FILE` in scripts: one CSV line per user outcome, whether the users come one call at
 * a time (a loop) or through a pipeline, and for the whole script (`dialin run FILE --report`).
 */
for (const dialect of DIALECTS) {
  describe(`--report in scripts (${dialect})`, () => {
    let t: TestEnv;
    let csv: string;
    before(async () => {
      t = await testEnv(dialect);
      await addUsers(t.scope, 'rep', 2);
      await addUsers(t.scope, 'pipe', 3);
      csv = path.join(t.dataDir, 'people.csv');
      fs.writeFileSync(csv, 'Email\nrep0@contoso.com\nnobody@contoso.com\nrep1@contoso.com\n');
    });
    after(() => t.cleanup());

    const expectLoopReport = (file: string) => {
      const l = lines(file);
      assert.equal(l[0], HEADER);
      assert.equal(l.length, 4, l.join('\n'));
      assert.match(l[1]!, /^rep0@contoso\.com,sip:rep0@contoso\.com,done,,$/);
      assert.match(l[2]!, /^nobody@contoso\.com,,skipped,USER_NOT_FOUND,/);
      assert.match(l[3]!, /^rep1@contoso\.com,sip:rep1@contoso\.com,done,,$/);
    };

    it('a --report on a call in a loop gets every call\'s line, not the last one\'s', async () => {
      const report = path.join(t.dataDir, 'loop.csv');
      await expectOk(t, ['-Command', `Import-Csv '${csv}' | ForEach-Object { Set-CsClientPin -Identity $_.Email -ErrorAction SilentlyContinue --report '${report}' }`]);
      expectLoopReport(report);
    });

    it('dialin run FILE --report and dialin --report FILE -Command: the whole script\'s outcomes', async () => {
      const script = path.join(t.dataDir, 'reset.ps1');
      fs.writeFileSync(script, `Import-Csv '${csv}' | ForEach-Object {\n  Set-CsClientPin -Identity $_.Email -ErrorAction SilentlyContinue\n}\n`);
      const a = path.join(t.dataDir, 'run.csv');
      await expectOk(t, ['run', script, '--report', a]);
      expectLoopReport(a);
      const b = path.join(t.dataDir, 'command.csv');
      await expectOk(t, ['--report', b, '-Command', fs.readFileSync(script, 'utf8')]);
      expectLoopReport(b);
    });

    it('a streamed pipeline from Get-CsUser: one line per user the sink got', async () => {
      const report = path.join(t.dataDir, 'pipe.csv');
      const r = await expectOk(t, ['-Command', `Get-CsUser -Filter {SipAddress -like "sip:pipe*"} | Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin --report '${report}'`]);
      assert.match(r.stderr, /^Set-CsClientPin: 3 user\(s\): 3 given a PIN, 0 unchanged, 0 skipped\.$/m);
      const l = lines(report);
      assert.deepEqual(l.slice(1).map((x) => x.split(',').slice(1, 3).join(',')), ['sip:pipe0@contoso.com,done', 'sip:pipe1@contoso.com,done', 'sip:pipe2@contoso.com,done']);
    });
  });
}
