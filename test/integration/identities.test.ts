import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUser, findUser, findUsers } from '../../src/app/users.ts';
import { AppError } from '../../src/core/errors.ts';
import type { UsersTable } from '../../src/adapters/db/schema.ts';

for (const dialect of DIALECTS) {
  describe(`identities (${dialect})`, () => {
    let t: TestEnv;
    let ken: UsersTable;
    let kenContoso: UsersTable;
    const find = (id: string) => findUser(t.ctx.db.kysely, t.scope.tenant.id, id);
    const refused = (id: string, code: string) => assert.rejects(find(id), (e: unknown) => e instanceof AppError && e.code === code && e.field === 'Identity');

    before(async () => {
      t = await testEnv(dialect);
      ken = await addUser(t.scope, { UserUri: 'kenmyer@litwareinc.com', DisplayName: 'Ken Myer' });
      kenContoso = await addUser(t.scope, { UserUri: 'kenmyer@contoso.com', DisplayName: 'Kenneth Myer' });
      await addUser(t.scope, { UserUri: 'pilar@contoso.com', DisplayName: 'Pilar Ackerman' });
      await addUser(t.scope, { UserUri: 'pilar.a@fabrikam.com', DisplayName: 'pilar ackerman' });
      await addUser(t.scope, { UserUri: 'ana@eu.litwareinc.com', DisplayName: 'Ana' });
    });
    after(() => t.cleanup());

    it('finds a user by sip:, by user@domain and by id, in any case', async () => {
      assert.equal((await find('sip:KenMyer@LitwareInc.com')).id, ken.id);
      assert.equal((await find('kenmyer@litwareinc.com')).id, ken.id);
      assert.equal((await find(ken.id)).id, ken.id);
      assert.equal((await find(ken.id.toUpperCase())).id, ken.id);
    });

    it('finds a user by domain\\logon, preferring the named domain', async () => {
      assert.equal((await find('litwareinc\\kenmyer')).id, ken.id);
      assert.equal((await find('CONTOSO\\KenMyer')).id, kenContoso.id);
      assert.equal((await find('litwareinc\\ana')).sip, 'sip:ana@eu.litwareinc.com', 'a sub-domain is not the domain, but the only match');
    });

    it('finds a user by display name, in any case', async () => {
      assert.equal((await find('ken myer')).id, ken.id);
      assert.equal((await find('KENNETH MYER')).id, kenContoso.id);
    });

    it('refuses an ambiguous identity, asking for the SIP address', async () => {
      await refused('Pilar Ackerman', 'IDENTITY_AMBIGUOUS');
      await refused('fabrikam2\\kenmyer', 'IDENTITY_AMBIGUOUS');
      await assert.rejects(find('Pilar Ackerman'), /use the SIP address/);
    });

    it('refuses an unknown identity in every form', async () => {
      await refused('nobody@contoso.com', 'USER_NOT_FOUND');
      await refused('sip:nobody@contoso.com', 'USER_NOT_FOUND');
      await refused('6f1c0a4e-6d44-4f2b-9a57-0e6b8f3f2c11', 'USER_NOT_FOUND');
      await refused('contoso\\nobody', 'USER_NOT_FOUND');
      await refused('No Body', 'USER_NOT_FOUND');
      await refused('%', 'USER_NOT_FOUND');
      await refused('contoso\\%', 'USER_NOT_FOUND');
    });

    it('resolves a mixed batch in order, with an error for each bad one', async () => {
      const res = await findUsers(t.ctx.db.kysely, t.scope.tenant.id, ['kenmyer@litwareinc.com', ken.id, 'Kenneth Myer', 'nobody@contoso.com', 'Pilar Ackerman', 'sip:bad', 'litwareinc\\kenmyer']);
      assert.deepEqual(
        res.map((r) => ('user' in r ? r.user.sip : r.error.code)),
        ['sip:kenmyer@litwareinc.com', 'sip:kenmyer@litwareinc.com', 'sip:kenmyer@contoso.com', 'USER_NOT_FOUND', 'IDENTITY_AMBIGUOUS', 'USER_URI_INVALID', 'sip:kenmyer@litwareinc.com'],
      );
      assert.deepEqual(res.map((r) => r.input)[3], 'nobody@contoso.com');
    });
  });
}
