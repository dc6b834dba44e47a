import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { addUser, listUsers } from '../../src/app/users.ts';
import { importError, importUsers, type ImportResult } from '../../src/app/import-users.ts';
import { readCsv } from '../../src/adapters/files/csv-records.ts';
import { AppError } from '../../src/core/errors.ts';

const COLUMNS = { required: ['UserUri', 'DisplayName', 'EmailAddress', 'Language'], optional: ['Phone', 'Extension'] };
const HEADER = 'UserUri,DisplayName,EmailAddress,Language';
const code = (c: string, pattern?: RegExp) => (e: unknown) => e instanceof AppError && e.code === c && (!pattern || pattern.test(e.message));

for (const dialect of DIALECTS) {
  describe(`users: add and CSV import (${dialect})`, () => {
    let t: TestEnv;
    let n = 0;
    const file = (content: string | Buffer) => {
      const f = path.join(t.dataDir, `import-${n++}.csv`);
      fs.writeFileSync(f, content);
      return f;
    };
    const run = (f: string, skipInvalid = false): Promise<ImportResult> => importUsers(t.scope, readCsv(f, COLUMNS), { skipInvalid });
    const count = async () => (await listUsers(t.scope, { limit: 1, offset: 0 })).total;

    before(async () => {
      t = await testEnv(dialect);
    });
    after(() => t.cleanup());

    describe('users add', () => {
      it('adds a user with normalised fields and an audit row', async () => {
        const u = await addUser(t.scope, { UserUri: 'Bob@Contoso.com', DisplayName: ' Bob Kelly ', Language: 'FR-ca', Phone: '+1 425 555 0100', Extension: '4711' });
        assert.equal(u.sip, 'sip:bob@contoso.com');
        assert.equal(u.email, 'bob@contoso.com', 'the e-mail defaults to the SIP address');
        assert.equal(u.display_name, 'Bob Kelly');
        assert.equal(u.language, 'fr-CA');
        assert.equal(u.provider, 'None');
        assert.equal(u.dialin_enabled, 0);
        const audit = await t.ctx.db.kysely.selectFrom('audit').selectAll().where('target_user_id', '=', u.id).execute();
        assert.deepEqual(audit.map((a) => a.action), ['user.add']);
      });
      it('refuses a duplicate, whatever the spelling of the SIP address', async () => {
        await assert.rejects(addUser(t.scope, { UserUri: 'sip:BOB@contoso.com', DisplayName: 'Other Bob' }), code('USER_EXISTS'));
      });
      it('refuses bad fields, naming them, and adds nothing', async () => {
        const before = await dumpDb(t.ctx.db);
        await assert.rejects(addUser(t.scope, { UserUri: 'bob', DisplayName: 'B' }), (e: unknown) => code('USER_URI_INVALID')(e) && (e as AppError).field === 'UserUri');
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: 'Eve', EmailAddress: 'eve@contoso.com\r\nBcc: x@y.com' }), (e: unknown) => code('EMAIL_INVALID')(e) && (e as AppError).field === 'EmailAddress');
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: 'Eve', EmailAddress: 'eve@contoso.com,boss@contoso.com' }), code('EMAIL_INVALID'));
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: '' }), code('DISPLAY_NAME_INVALID'));
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: 'Eve', Language: 'english' }), code('LANGUAGE_INVALID'));
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: 'Eve', Extension: 'x12' }), (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as AppError).field === 'Extension');
        await assert.rejects(addUser(t.scope, { UserUri: 'eve@contoso.com', DisplayName: 'Eve', Phone: 'call me' }), (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as AppError).field === 'Phone');
        assert.deepEqual(await dumpDb(t.ctx.db), before);
      });
    });

    describe('users import', () => {
      let before0: number;
      beforeEach(async () => {
        before0 = await count();
      });

      it('imports a valid file: BOM, any header case and order, quoted fields, optional columns', async () => {
        const f = file(
          '\uFEFFlanguage,DISPLAYNAME,UserUri,EmailAddress,Extension\n' +
            'fr,"Myer, Ken",ken.myer@contoso.com,ken@contoso.com,1234\n' +
            '\n' +
            'en,"Ana ""Nan"" Lima",sip:ana@contoso.com,ana@contoso.com,\n',
        );
        const res = await run(f);
        assert.deepEqual(res, { imported: 2, skipped: 0, problems: [], rolledBack: false });
        const rows = await t.ctx.db.kysely.selectFrom('users').selectAll().where('sip', 'in', ['sip:ken.myer@contoso.com', 'sip:ana@contoso.com']).orderBy('sip').execute();
        assert.deepEqual(rows.map((r) => [r.sip, r.display_name, r.email, r.language, r.extension]), [
          ['sip:ana@contoso.com', 'Ana "Nan" Lima', 'ana@contoso.com', 'en', null],
          ['sip:ken.myer@contoso.com', 'Myer, Ken', 'ken@contoso.com', 'fr', '1234'],
        ]);
        const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'user.import').execute();
        assert.deepEqual(audit.map((a) => JSON.parse(a.details).line).sort(), [2, 4]);
      });

      it('reports a bad line with its line number and commits nothing of the file', async () => {
        const before = await dumpDb(t.ctx.db);
        const f = file(`${HEADER}\nc1@contoso.com,C1,c1@contoso.com,en\nc2@contoso.com,C2,c2@contoso.com\nc3@contoso.com,C3,c3@contoso.com,en\n`);
        await assert.rejects(run(f), code('CSV_INVALID', /^line 3: .*expect 4, got 3/));
        assert.deepEqual(await dumpDb(t.ctx.db), before);
        const g = file(`${HEADER}\nc1@contoso.com,C1,c1@contoso.com,en\nc2@contoso.com,C2,c2@contoso.com,klingon-x\nc3@contoso.com,C3,not-an-address,en\n`);
        const res = await run(g);
        assert.equal(res.rolledBack, true);
        assert.equal(res.imported, 0);
        assert.deepEqual(res.problems.map((p) => [p.line, p.code]), [[3, 'LANGUAGE_INVALID'], [4, 'EMAIL_INVALID']]);
        const err = importError(res);
        assert.equal(err.code, 'CSV_INVALID');
        assert.match(err.message, /2 line\(s\).*nothing was imported[\s\S]*line 3: Language[\s\S]*line 4: EmailAddress[\s\S]*--skip-invalid/);
        assert.deepEqual(await dumpDb(t.ctx.db), before);
      });

      it('with --skip-invalid imports the valid lines and reports the others', async () => {
        const g = file(`${HEADER}\nd1@contoso.com,D1,d1@contoso.com,en\nd2@contoso.com,,d2@contoso.com,en\nd3@contoso.com,D3,d3@contoso.com,fr\n`);
        const res = await run(g, true);
        assert.equal(res.rolledBack, false);
        assert.equal(res.imported, 2);
        assert.deepEqual(res.problems.map((p) => [p.line, p.code]), [[3, 'DISPLAY_NAME_INVALID']]);
        assert.equal(await count(), before0 + 2);
      });

      it('refuses a file with a missing column before reading any user', async () => {
        const before = await dumpDb(t.ctx.db);
        await assert.rejects(run(file('UserUri,DisplayName,Language\ne1@contoso.com,E1,en\n')), code('CSV_INVALID', /line 1: the header lacks the column EmailAddress/));
        await assert.rejects(run(file('UserUri\n')), code('CSV_INVALID', /columns DisplayName, EmailAddress, Language/));
        await assert.rejects(run(file('')), code('CSV_INVALID', /empty/));
        await assert.rejects(run(path.join(t.dataDir, 'missing.csv')), code('FILE_NOT_FOUND'));
        assert.deepEqual(await dumpDb(t.ctx.db), before);
      });

      it('refuses a file that is not UTF-8 and commits nothing', async () => {
        const before = await dumpDb(t.ctx.db);
        const latin1 = Buffer.concat([Buffer.from(`${HEADER}\nf1@contoso.com,F1,f1@contoso.com,en\nf2@contoso.com,Fran`), Buffer.from([0xe7]), Buffer.from('ois,f2@contoso.com,fr\n')]);
        await assert.rejects(run(file(latin1)), code('CSV_INVALID', /not valid UTF-8/));
        await assert.rejects(run(file(latin1), true), code('CSV_INVALID', /not valid UTF-8/));
        assert.deepEqual(await dumpDb(t.ctx.db), before);
      });

      it('reports duplicate rows, in the same batch or far apart, and existing users', async () => {
        const before = await dumpDb(t.ctx.db);
        const lines = [HEADER];
        for (let i = 0; i < 1200; i++) lines.push(`g${i}@contoso.com,G ${i},g${i}@contoso.com,en`);
        lines.splice(3, 0, 'g0@contoso.com,G dup,g0@contoso.com,en'); // line 4: a duplicate of line 2, in the same batch
        lines.push('G5@Contoso.com,G dup far,g5@contoso.com,en'); // line 1203: a duplicate of line 8, in another batch
        lines.push('bob@contoso.com,Bob again,bob@contoso.com,en'); // line 1204: in the directory already
        const res = await run(file(lines.join('\n')));
        assert.equal(res.rolledBack, true);
        assert.deepEqual(res.problems.map((p) => [p.line, p.code]), [[4, 'CSV_INVALID'], [1203, 'USER_EXISTS'], [1204, 'USER_EXISTS']]);
        assert.match(res.problems[0]!.message, /duplicate row: sip:g0@contoso.com is already on line 2/);
        assert.deepEqual(await dumpDb(t.ctx.db), before);
        const skipping = await run(file(lines.join('\n')), true);
        assert.equal(skipping.imported, 1200);
        assert.equal(skipping.skipped, 3);
        assert.equal(await count(), before0 + 1200);
      });
    });
  });
}
