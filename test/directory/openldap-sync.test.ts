import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, type Client } from 'ldapts';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { allCells, dumpDb } from '../support/db-dump.ts';
import { runCli } from '../support/cli.ts';
import { startCutProxy } from '../support/cut-proxy.ts';
import { bridgeWithNumbers, userRow } from '../support/fixtures.ts';
import { GROUPS, LICENCE_GROUP, PEOPLE, SUFFIX, SYNC_DN, SYNC_PW, groupLdif, personLdif, startSlapd, type Slapd } from '../support/slapd.ts';
import { addUser } from '../../src/app/users.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { directoryStatus, syncDirectory } from '../../src/app/directory-sync.ts';
import { AppError } from '../../src/core/errors.ts';
import type { TenantScope } from '../../src/app/context.ts';
import { scopeOf } from '../../src/app/tenants.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import { createContext } from '../../src/main/context.ts';
import { startDirectoryScheduler } from '../../src/main/directory-scheduler.ts';
import pino from 'pino';

/**
 * The OpenLDAP path of issue 11 against a real slapd of the test's own: people in OUs, a licence
 * group with a nested group (and a cycle), a person without mail, two entries with one SIP
 * address; hires, leavers, renames, deletions and the mass-disable guard, with the mails each
 * causes counted in the outbox. On SQLite and PostgreSQL.
 */

const uid = (u: string) => `uid=${u},${PEOPLE}`;
const SALES = `cn=sales,${GROUPS}`;

const LDIF = [
  personLdif({ uid: 'ann', cn: 'Ann Lee', mail: 'ann@contoso.com', ou: 'Finance', lang: 'fr-CA', phone: '+1 425 555 0101', title: 'Controller' }),
  personLdif({ uid: 'bob', cn: 'Bob Ray', mail: 'bob@contoso.com', ou: 'Sales' }),
  personLdif({ uid: 'carl', cn: 'Carl Diaz', mail: 'carl@contoso.com', ou: 'Sales' }),
  personLdif({ uid: 'nomail', cn: 'No Mail', ou: 'Sales' }),
  personLdif({ uid: 'dup1', cn: 'Dup One', mail: 'dup@contoso.com' }),
  personLdif({ uid: 'dup2', cn: 'Dup Two', mail: 'dup@contoso.com' }),
  // sales is nested in dialin, and (a cycle) dialin in sales
  groupLdif('dialin', [uid('ann'), SALES, uid('nomail'), uid('dup1'), uid('dup2')]),
  groupLdif('sales', [uid('bob'), LICENCE_GROUP]),
].join('\n');

const code = (c: string, field?: string) => (e: unknown) => e instanceof AppError && e.code === c && (field === undefined || e.field === field);

for (const dialect of DIALECTS) {
  describe(`directory sync from OpenLDAP (${dialect})`, () => {
    let t: TestEnv;
    let s: TenantScope;
    let ldap: Slapd;
    let admin: Client;
    let carlId: string;

    const mails = async (kind: string, sip: string) => {
      const u = await userRow(s, sip);
      return (await s.db.kysely.selectFrom('outbox').select('id').where('kind', '=', kind).where('user_id', '=', u.id).execute()).length;
    };
    const outboxCount = async () => (await s.db.kysely.selectFrom('outbox').select('id').execute()).length;
    const enabled = async (sip: string) => (await userRow(s, sip)).dialin_enabled === 1;
    const usersAndMail = async () => {
      const d = await dumpDb(t.ctx.db);
      return { users: d.users, outbox: d.outbox, audit: d.audit?.filter((a) => a.action !== 'directory.sync') };
    };
    const setMembers = (group: string, op: 'add' | 'delete', dns: string[]) => admin.modify(group, new Change({ operation: op, modification: new Attribute({ type: 'member', values: dns }) }));
    const cli = (...args: string[]) => runCli(args, t.env);
    // The directory's modifyTimestamp has one-second steps: wait for the next second so a change is newer than the last pass.
    const nextSecond = () => new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));

    before(async () => {
      t = await testEnv(dialect);
      s = t.scope;
      ldap = await startSlapd(LDIF);
      admin = await ldap.admin();
      await bridgeWithNumbers(s, 'Conference Bridge', '+14255551234');
      // Carl already exists (CSV import): the directory adopts him instead of making a second user.
      carlId = (await addUser(s, { UserUri: 'carl@contoso.com', DisplayName: 'Carl (CSV)' })).id;
    });
    after(async () => {
      await admin?.unbind().catch(() => {});
      await ldap?.stop();
      await t?.cleanup();
    });

    it('refuses a bad filter, a bad URL and plaintext-looking options at add, naming the field, storing nothing', async () => {
      const before = await dumpDb(t.ctx.db);
      const bad = await cli('directory', 'add', 'broken', '--url', ldap.url, '--base', SUFFIX, '--filter', '(uid=');
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /DIRECTORY_CONFIG_INVALID: --filter "\(uid=" is not an LDAP filter/);
      const url = await cli('directory', 'add', 'broken', '--url', 'http://localhost', '--base', SUFFIX);
      assert.match(url.stderr, /DIRECTORY_CONFIG_INVALID: --url/);
      const pw = await cli('directory', 'add', 'broken', '--url', ldap.url, '--base', SUFFIX, '--bind-dn', SYNC_DN);
      assert.match(pw.stderr, /--password-file/);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('adds a connection with the password sealed: never printed, never in the database in clear', async () => {
      const r = await cli('directory', 'add', 'corp', '--url', ldap.url, '--base', SUFFIX, '--bind-dn', SYNC_DN, '--password-file', ldap.passwordFile, '--licence-group', LICENCE_GROUP, '--ca-file', ldap.caFile);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Transport\s+: StartTLS/);
      assert.match(r.stdout, /Password\s+: \(sealed\)/);
      const show = await cli('--json', 'directory', 'show', 'corp');
      assert.equal(JSON.parse(show.stdout).Password, '(sealed)');
      for (const out of [r.stdout, r.stderr, show.stdout]) assert.ok(!out.includes(SYNC_PW));
      assert.deepEqual((await allCells(t.ctx.db)).filter((c) => c.value.includes(SYNC_PW)), []);
      assert.match((await cli('directory', 'add', 'CORP', '--url', ldap.url, '--base', SUFFIX)).stderr, /DIRECTORY_EXISTS/);
    });

    it('directory test binds, counts entries and licence members (nested, cycle-safe), prints three samples, changes nothing', async () => {
      const before = await dumpDb(t.ctx.db);
      const r = await cli('--json', 'directory', 'test', 'corp');
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout);
      assert.equal(o.Entries, 6);
      // ann, nomail, dup1, dup2 directly; bob through sales; the groups themselves are not members.
      assert.equal(o.LicenceGroupMembers, 5);
      assert.equal(o.Samples.length, 3);
      const ann = o.Samples.find((x: { Dn: string }) => x.Dn === uid('ann'));
      assert.deepEqual([ann.SipAddress, ann.EmailAddress, ann.DisplayName, ann.Language, ann.Phone, ann.title, ann.department, ann.logon], ['sip:ann@contoso.com', 'ann@contoso.com', 'Ann Lee', 'fr-CA', '+1 425 555 0101', 'Controller', 'Finance', 'ann']);
      assert.match(ann.Key, /^[0-9a-f-]{36}$/);
      assert.deepEqual(o.Unusable.map((u: { Dn: string }) => u.Dn), [uid('nomail')]);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('a dry run prints the plan and changes nothing', async () => {
      const before = await dumpDb(t.ctx.db);
      const r = await cli('directory', 'sync', 'corp', '--dry-run');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /dry run, nothing changed\): create 2, adopt 1, update 0, enable 2, disable 0/);
      assert.match(r.stdout, /create \+ enable\s+sip:ann@contoso\.com/);
      assert.match(r.stdout, /adopt\s+sip:carl@contoso\.com/);
      assert.match(r.stdout, /skip\s+uid=nomail,ou=people,dc=contoso,dc=com: no mail/);
      assert.deepEqual(await dumpDb(t.ctx.db), before);
    });

    it('first sync: creates, adopts, enables the licence group (nested too) with one welcome each; skips no-mail and duplicate SIP', async () => {
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Status, 'applied');
      assert.equal(r.Mode, 'full');
      assert.deepEqual([r.Counts.create, r.Counts.adopt, r.Counts.enable, r.Counts.disable, r.Counts.skip], [2, 1, 2, 0, 3]);
      assert.equal(await enabled('sip:ann@contoso.com'), true);
      assert.equal(await enabled('sip:bob@contoso.com'), true, 'bob is licensed through the nested sales group');
      assert.equal(await enabled('sip:carl@contoso.com'), false);
      assert.equal((await userRow(s, 'sip:carl@contoso.com')).id, carlId, 'adopted, not duplicated');
      assert.equal((await userRow(s, 'sip:carl@contoso.com')).display_name, 'Carl Diaz');
      assert.equal((await userRow(s, 'sip:ann@contoso.com')).language, 'fr-CA');
      assert.equal(await mails('welcome', 'sip:ann@contoso.com'), 1);
      assert.equal(await mails('welcome', 'sip:bob@contoso.com'), 1);
      assert.equal(await outboxCount(), 2);
      const dupes = r.Skipped.filter((k) => k.Sip === 'sip:dup@contoso.com');
      assert.equal(dupes.length, 2, 'both entries with the same SIP address are skipped');
      assert.match(dupes[0]!.Reason, /also that of uid=dup2/);
      assert.equal(await s.db.kysely.selectFrom('users').select('id').where('sip', '=', 'sip:dup@contoso.com').executeTakeFirst(), undefined);
      const st = await directoryStatus(s);
      assert.equal(st[0]!.Status, 'applied');
      assert.ok(st[0]!.Skipped.some((k) => k.Dn === uid('nomail') && /no mail/.test(k.Reason)));
      // the same pass again changes nothing
      const again = await syncDirectory(s, 'corp');
      assert.deepEqual([again.Counts.create, again.Counts.update, again.Counts.enable, again.Counts.disable], [0, 0, 0, 0]);
      assert.equal(await outboxCount(), 2);
    });

    it('hire: joining the group enables the user with one welcome (incremental pass)', async () => {
      await setMembers(LICENCE_GROUP, 'add', [uid('carl')]);
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Mode, 'incremental');
      assert.equal(r.Counts.enable, 1);
      assert.equal(await enabled('sip:carl@contoso.com'), true);
      assert.equal(await mails('welcome', 'sip:carl@contoso.com'), 1);
      assert.equal(await outboxCount(), 3);
    });

    it('rename (new RDN, new name): the same user, updated, no mail', async () => {
      const id = (await userRow(s, 'sip:ann@contoso.com')).id;
      await nextSecond();
      await admin.modifyDN(uid('ann'), uid('annie'));
      await admin.modify(uid('annie'), [new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['Annie Lee-Park'] }) })]);
      await setMembers(LICENCE_GROUP, 'delete', [uid('ann')]);
      await setMembers(LICENCE_GROUP, 'add', [uid('annie')]);
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Counts.update, 1);
      assert.deepEqual([r.Counts.create, r.Counts.enable, r.Counts.disable], [0, 0, 0]);
      const u = await userRow(s, 'sip:ann@contoso.com');
      assert.equal(u.id, id);
      assert.equal(u.display_name, 'Annie Lee-Park');
      assert.equal(u.directory_dn, uid('annie'));
      assert.equal(u.dialin_enabled, 1);
      assert.equal(await outboxCount(), 3, 'a rename sends nothing');
    });

    it('leaver: leaving the nested group disables with one turned-off mail', async () => {
      await setMembers(SALES, 'delete', [uid('bob')]);
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Counts.disable, 1);
      assert.equal(await enabled('sip:bob@contoso.com'), false);
      assert.equal(await mails('turned_off', 'sip:bob@contoso.com'), 1);
      assert.equal(await outboxCount(), 4);
    });

    it('no group changed: a changed member and a changed non-member are updated, their licences kept, no mail', async () => {
      await nextSecond();
      for (const u of ['carl', 'bob']) await admin.modify(uid(u), [new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Buyer'] }) })]);
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Mode, 'incremental');
      assert.deepEqual([r.Counts.update, r.Counts.create, r.Counts.enable, r.Counts.disable], [2, 0, 0, 0]);
      assert.deepEqual([await enabled('sip:carl@contoso.com'), await enabled('sip:bob@contoso.com')], [true, false]);
      assert.equal(await outboxCount(), 4);
      const again = await syncDirectory(s, 'corp');
      assert.deepEqual([again.Counts.update, again.Counts.enable, again.Counts.disable], [0, 0, 0]);
    });

    it('once the mark\'s second has settled, a pass reads only entries changed after the last one read (entryCSN), not that whole second again', async () => {
      await nextSecond();
      for (const u of ['carl', 'bob']) await admin.modify(uid(u), [new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Chief Buyer'] }) })]);
      // Past the settling time: no write stamped in that second can still be committing.
      await new Promise((r) => setTimeout(r, 6000));
      const first = await syncDirectory(s, 'corp');
      assert.deepEqual([first.Mode, first.Counts.entries, first.Counts.update], ['incremental', 2, 2]);
      const c = await t.ctx.db.kysely.selectFrom('directory_connections').select(['sync_mark', 'sync_source']).where('name', '=', 'corp').executeTakeFirstOrThrow();
      assert.match(JSON.parse(c.sync_source!).entryCSN, /^[0-9]{14}\.[0-9]{6}Z#/);
      // modifyTimestamp alone (one-second steps) would read both again.
      const again = await syncDirectory(s, 'corp');
      assert.deepEqual([again.Mode, again.Counts.entries, again.Counts.update], ['incremental', 0, 0]);
      await nextSecond();
      await admin.modify(uid('bob'), [new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Buyer'] }) })]);
      const next = await syncDirectory(s, 'corp');
      assert.deepEqual([next.Counts.entries, next.Counts.update], [1, 1], 'a later change is read');
      assert.equal((await userRow(s, 'sip:bob@contoso.com')).directory_attrs?.includes('"title":"Buyer"'), true);
    });

    it('with the tenant switch off, a hire is enabled without any mail', async () => {
      await setTenantSettings(s, { AutomaticallySendEmailsToUsers: false });
      await nextSecond();
      await admin.add(uid('erin'), { objectClass: 'inetOrgPerson', uid: 'erin', cn: 'Erin Hall', sn: 'Hall', mail: 'erin@contoso.com' });
      await setMembers(LICENCE_GROUP, 'add', [uid('erin')]);
      const r = await syncDirectory(s, 'corp');
      assert.deepEqual([r.Counts.create, r.Counts.enable], [1, 1]);
      assert.equal(await enabled('sip:erin@contoso.com'), true);
      assert.equal(await outboxCount(), 4);
      await setTenantSettings(s, { AutomaticallySendEmailsToUsers: true });
    });

    it('incremental: a changed entry whose SIP address an unchanged entry shares is still skipped', async () => {
      await nextSecond();
      await admin.modify(uid('dup2'), [new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Engineer'] }) })]);
      const r = await syncDirectory(s, 'corp');
      assert.equal(r.Mode, 'incremental');
      assert.equal(r.Counts.create, 0);
      assert.deepEqual(r.Skipped.filter((k) => k.Sip === 'sip:dup@contoso.com').map((k) => k.Reason), [`the SIP address sip:dup@contoso.com is also that of ${uid('dup1')}`]);
      assert.equal(await s.db.kysely.selectFrom('users').select('id').where('sip', '=', 'sip:dup@contoso.com').executeTakeFirst(), undefined);
    });

    it('a deleted entry is found on the full pass (not the incremental one) and disabled with one turned-off mail', async () => {
      await admin.del(uid('carl'));
      const inc = await syncDirectory(s, 'corp');
      assert.equal(inc.Mode, 'incremental');
      assert.equal(inc.Counts.disable, 0);
      assert.equal(await enabled('sip:carl@contoso.com'), true);
      const full = await syncDirectory(s, 'corp', { full: true });
      assert.equal(full.Mode, 'full');
      assert.deepEqual([full.Counts.gone, full.Counts.disable], [1, 1]);
      assert.equal(await enabled('sip:carl@contoso.com'), false);
      assert.equal(await mails('turned_off', 'sip:carl@contoso.com'), 1);
      assert.equal(await outboxCount(), 5);
    });

    it('more disables than the guard allows: nothing changes until --allow-mass-disable', async () => {
      // annie and erin are the two licensed users: the guard allows ceil(10 %) = 1.
      await setMembers(LICENCE_GROUP, 'delete', [uid('annie'), uid('erin')]);
      const before = await usersAndMail();
      const held = await cli('directory', 'sync', 'corp');
      assert.notEqual(held.code, 0);
      assert.match(held.stdout, /HELD, nothing changed: .*disable 2 \(limit 1\)/);
      assert.match(held.stderr, /DIRECTORY_MASS_DISABLE_HELD: corp: the sync would disable 2 users, more than the limit of 1/);
      assert.deepEqual(await usersAndMail(), before);
      assert.equal((await directoryStatus(s))[0]!.Status, 'held');
      const doctor = await cli('doctor');
      assert.notEqual(doctor.code, 0);
      assert.match(doctor.stdout + doctor.stderr, /directory corp \(tenant default\): the sync of .* would disable 2 users, more than its limit; nothing was applied/);
      const ok = await cli('directory', 'sync', 'corp', '--allow-mass-disable');
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(await enabled('sip:ann@contoso.com'), false);
      assert.equal(await enabled('sip:erin@contoso.com'), false);
      assert.equal(await mails('turned_off', 'sip:ann@contoso.com'), 1);
      assert.equal(await mails('turned_off', 'sip:erin@contoso.com'), 1);
    });

    it('a directory that stops half way through the search: nothing applied, the error recorded; the next sync completes', async () => {
      const proxy = await startCutProxy(ldap.port);
      const corp = await s.db.kysely.selectFrom('directory_connections').select('url').where('name', '=', 'corp').executeTakeFirstOrThrow();
      await s.db.kysely.updateTable('directory_connections').set({ url: `ldap://localhost:${proxy.port}` }).where('name', '=', 'corp').execute();
      try {
        await setMembers(SALES, 'add', [uid('bob')]); // a hire the interrupted sync must not apply
        await syncDirectory(s, 'corp', { full: true, dryRun: true });
        await new Promise((r) => setTimeout(r, 200));
        const whole = proxy.lastBytes;
        assert.ok(whole > 2000, `a whole pass is ${whole} bytes`);
        proxy.cutAfter = whole - 150; // within the last search's answers
        const before = await usersAndMail();
        await assert.rejects(syncDirectory(s, 'corp', { full: true }), code('DIRECTORY_UNAVAILABLE', 'url'));
        assert.equal(proxy.cuts, 1);
        assert.deepEqual(await usersAndMail(), before);
        const st = (await directoryStatus(s, { name: 'corp' }))[0]!;
        assert.equal(st.Status, 'failed');
        assert.match(st.Error!, /^DIRECTORY_UNAVAILABLE: .*stopped answering/);
        proxy.cutAfter = null;
        const r = await syncDirectory(s, 'corp', { full: true });
        assert.equal(r.Status, 'applied');
        assert.equal(await enabled('sip:bob@contoso.com'), true);
        assert.equal(await mails('welcome', 'sip:bob@contoso.com'), 2, 'his first welcome, and one for coming back');
      } finally {
        await s.db.kysely.updateTable('directory_connections').set({ url: corp.url }).where('name', '=', 'corp').execute();
        await proxy.close();
      }
    });

    it('wrong password, bad base DN, untrusted certificate: a clear error naming the field, nothing applied, the failure recorded', async () => {
      const wrong = `${ldap.dir}/wrong.pw`;
      (await import('node:fs')).writeFileSync(wrong, 'not-the-password\n');
      const common = ['--url', ldap.url, '--base', SUFFIX, '--bind-dn', SYNC_DN, '--licence-group', LICENCE_GROUP];
      assert.equal((await cli('directory', 'add', 'wrongpw', ...common, '--password-file', wrong, '--ca-file', ldap.caFile)).code, 0);
      assert.equal((await cli('directory', 'add', 'badbase', ...common.map((v) => (v === SUFFIX ? `ou=nowhere,${SUFFIX}` : v)), '--password-file', ldap.passwordFile, '--ca-file', ldap.caFile)).code, 0);
      assert.equal((await cli('directory', 'add', 'untrusted', ...common, '--password-file', ldap.passwordFile)).code, 0);
      const before = await usersAndMail();
      await assert.rejects(syncDirectory(s, 'wrongpw'), code('DIRECTORY_BIND_FAILED', 'password'));
      await assert.rejects(syncDirectory(s, 'badbase'), code('DIRECTORY_SEARCH_FAILED', 'base'));
      await assert.rejects(syncDirectory(s, 'untrusted'), code('DIRECTORY_UNAVAILABLE', 'ca-file'));
      const r = await cli('directory', 'test', 'wrongpw');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /DIRECTORY_BIND_FAILED: .*wrong --bind-dn or --password-file/);
      assert.deepEqual(await usersAndMail(), before);
      const st = await cli('directory', 'status');
      assert.match(st.stdout, /wrongpw\s.*failed.*DIRECTORY_BIND_FAILED/);
      assert.match(st.stdout, /badbase\s.*failed.*DIRECTORY_SEARCH_FAILED/);
    });

    it('two processes never sync one connection at once; the serve/worker schedulers sync a due connection once between them', async () => {
      const ctx2 = await createContext(t.config, { actor: 'second-process' });
      const s2 = scopeOf(ctx2, s.tenant);
      try {
        const both = await Promise.allSettled([syncDirectory(s, 'corp', { full: true }), syncDirectory(s2, 'corp', { full: true })]);
        assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1);
        const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.ok(code('DIRECTORY_SYNC_BUSY')(refused.reason), String(refused.reason));

        await addDirectoryConnection(s, { name: 'sched', url: ldap.url, base: SUFFIX, bindDn: SYNC_DN, password: SYNC_PW, caFile: ldap.caFile, interval: '1m' });
        const runs = async () => (await directoryStatus(s, { name: 'sched' })).length;
        const log = pino({ level: 'silent' });
        const a = startDirectoryScheduler({ ctx: t.ctx, log, tickMs: 100 });
        const b = startDirectoryScheduler({ ctx: ctx2, log, tickMs: 100 });
        try {
          const until = Date.now() + 60_000;
          while ((await runs()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
          await new Promise((r) => setTimeout(r, 1500)); // both keep ticking: the connection is not due again for a minute
        } finally {
          await a.stop();
          await b.stop();
        }
        const st = await directoryStatus(s, { name: 'sched' });
        assert.equal(st.length, 1);
        assert.equal(st[0]!.Status, 'applied');
        assert.equal(st[0]!.Actor, 'directory-sync');
      } finally {
        await ctx2.db.close();
      }
    });
  });
}
