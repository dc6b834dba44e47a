import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { expectOk, expectRefused } from '../support/cli-expect.ts';
import { runCli } from '../support/cli.ts';
import { addAdmin } from '../../src/app/admins.ts';
import { commonPasswords } from '../../src/adapters/crypto/common-passwords.ts';
import { isAppError } from '../../src/core/errors.ts';

/** Issue 10, defect 7: administrators' passwords (NIST SP 800-63B §5.1.1.2). */
describe('the shipped list of common passwords', () => {
  it('has at least 10,000 entries, among them the ones the issue found accepted', async () => {
    const list = await commonPasswords();
    assert.ok(list.size >= 10_000, `${list.size} entries`);
    for (const pw of ['password1234', 'password', '123456789012', 'qwertyuiop']) assert.ok(list.has(pw), pw);
  });
});

for (const dialect of DIALECTS) {
  describe(`dialin admin add refuses weak passwords (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
    });
    after(() => t.cleanup());

    const cases: [string, string, string][] = [
      ['12 spaces', ' '.repeat(12), 'PASSWORD_TRIVIAL'],
      ['one letter repeated', 'aaaaaaaaaaaa', 'PASSWORD_TRIVIAL'],
      ['a listed password', 'password1234', 'PASSWORD_COMMON'],
      ['a listed password in capitals', 'PASSWORD1234', 'PASSWORD_COMMON'],
      ['a listed password of digits', '123456789012', 'PASSWORD_COMMON'],
    ];
    for (const [what, pw, code] of cases) {
      it(`${what}: ${code} naming the password, no account`, async () => {
        const file = path.join(t.dataDir, 'pw.txt');
        fs.writeFileSync(file, `${pw}\n`);
        await expectRefused(t, ['admin', 'add', 'weak@contoso.com', '--password-file', file], code, /password/i);
        const json = await runCli(['--json', 'admin', 'add', 'weak@contoso.com', '--password-file', file], t.env);
        assert.equal(json.code, 1);
        assert.deepEqual({ ...JSON.parse(json.stderr).error, message: undefined }, { code, message: undefined, field: 'Password' });
        await assert.rejects(addAdmin(t.scope, { email: 'weak@contoso.com', role: 'admin', password: pw }), (e) => isAppError(e) && e.code === code && e.field === 'Password');
      });
    }

    it('a passphrase and a generated password are accepted', async () => {
      const file = path.join(t.dataDir, 'good.txt');
      fs.writeFileSync(file, 'staple horse battery correct\n');
      await expectOk(t, ['admin', 'add', 'good@contoso.com', '--password-file', file]);
      const gen = await expectOk(t, ['admin', 'add', 'gen@contoso.com']);
      assert.match(gen.stdout, /^Password\s*: \S{20}$/m);
      const n = await t.ctx.db.kysely.selectFrom('admins').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 2, 'only the two good accounts exist');
    });
  });
}
