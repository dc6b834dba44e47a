import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { allCells } from '../support/db-dump.ts';
import { bridgeWithNumbers, enable, one } from '../support/fixtures.ts';
import { addUser, findUser } from '../../src/app/users.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { disableUsers } from '../../src/app/disable-user.ts';
import { enableUsers } from '../../src/app/enable-users.ts';
import { setUserAcp } from '../../src/app/acp.ts';
import { setClientPin } from '../../src/app/pins.ts';
import { setBridge } from '../../src/app/bridges.ts';
import { swapDefaultNumber } from '../../src/app/default-number.ts';
import { setTenantSettings } from '../../src/app/tenant-settings.ts';
import { listOutbox } from '../../src/app/outbox.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';
import type { MailPayload } from '../../src/app/mail-queue.ts';

for (const dialect of DIALECTS) {
  describe(`outbox rows for each trigger (${dialect})`, () => {
    let t: TestEnv;
    /** Every clear PIN the tests saw: none may be stored anywhere. */
    const clearPins: string[] = [];
    let seen = new Set<string>();
    /** Outbox rows written since the last call. */
    const newRows = async (): Promise<OutboxTable[]> => {
      const rows = await t.ctx.db.kysely.selectFrom('outbox').selectAll().execute();
      const fresh = rows.filter((r) => !seen.has(r.id));
      seen = new Set(rows.map((r) => r.id));
      return fresh.sort((a, b) => (`${a.kind} ${a.recipient}` < `${b.kind} ${b.recipient}` ? -1 : 1));
    };
    const brief = (rows: OutboxTable[]) => rows.map((r) => [r.kind, r.recipient, r.language, r.pin_enc !== null]);
    const statusOf = async (id: string) => (await t.ctx.db.kysely.selectFrom('outbox').select(['status', 'pin_enc', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow());
    const set = (who: string, o: Parameters<typeof setDialInUsers>[1]) => one(t.scope, who, setDialInUsers(t.scope, o));

    before(async () => {
      t = await testEnv(dialect);
      await setTenantSettings(t.scope, { PinLength: 12 }); // 12-digit PINs cannot appear anywhere by chance
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255551234', ['+14255551235', 'tf:+18005551010']);
      await bridgeWithNumbers(t.scope, 'Second Bridge', '+14255559999');
      await addUser(t.scope, { UserUri: 'ana@contoso.com', DisplayName: 'Ana Lima', EmailAddress: 'ana.lima@mail.contoso.com', Language: 'fr-CA' });
      await addUser(t.scope, { UserUri: 'ben@contoso.com', DisplayName: 'Ben Wolf', Language: 'de-DE' });
      await addUser(t.scope, { UserUri: 'cai@contoso.com', DisplayName: 'Cai Chen' });
      await addUser(t.scope, { UserUri: 'dee@contoso.com', DisplayName: 'Dee Roy', Language: 'en-GB' });
      await newRows();
    });
    after(() => t.cleanup());

    it('Enable: one welcome per user, with the sealed PIN, to their address, in their language', async () => {
      const results = await enable(t.scope, ['ana@contoso.com', 'ben@contoso.com']);
      for (const r of results) clearPins.push(r.output!.LeaderPin as string);
      const rows = await newRows();
      assert.deepEqual(brief(rows).sort(), [
        ['welcome', 'ana.lima@mail.contoso.com', 'fr', true],
        ['welcome', 'ben@contoso.com', 'en', true],
      ]);
      const ana = rows.find((r) => r.recipient.startsWith('ana'))!;
      assert.equal(t.ctx.keys.openPin(ana.pin_enc!), results[0]!.output!.LeaderPin);
      assert.equal(ana.status, 'queued');
      // On the sender's domain (DIALIN_MAIL_FROM, here the default), not the public URL's host.
      assert.equal(ana.message_id, `<${ana.id}@dialin.localhost>`);
      assert.equal(ana.expires_at - ana.created_at, t.ctx.mailLifetimeMs);
      const payload = JSON.parse(ana.payload) as MailPayload;
      assert.deepEqual(payload.data, { displayName: 'Ana Lima', sipAddress: 'sip:ana@contoso.com', conferenceId: results[0]!.output!.ConferenceId, tollNumber: '+14255551234', tollFreeNumber: null, tollCity: null, tollFreeCity: null, bridgeName: 'Conference Bridge', bridgeId: (await findUser(t.ctx.db.kysely, t.scope.tenant.id, 'ana@contoso.com')).bridge_id });
    });

    it("the tenant's DefaultLanguage is used for users whose language dialin does not write", async () => {
      await setTenantSettings(t.scope, { DefaultLanguage: 'fr' });
      const [r] = await enable(t.scope, ['cai@contoso.com'], { sendEmail: true, sendEmailToAddress: 'cai@home.example' });
      clearPins.push(r!.output!.LeaderPin as string);
      assert.deepEqual(brief(await newRows()), [
        ['conference_info', 'cai@home.example', 'fr', false],
        ['welcome', 'cai@contoso.com', 'fr', true],
      ]);
      await setTenantSettings(t.scope, { DefaultLanguage: 'en' });
    });

    it('-ResetLeaderPin: "PIN changed" with the new PIN; the unsent welcome is superseded and its PIN wiped', async () => {
      const welcome = (await t.ctx.db.kysely.selectFrom('outbox').select('id').where('kind', '=', 'welcome').where('recipient', '=', 'ben@contoso.com').executeTakeFirstOrThrow()).id;
      const r = await set('ben@contoso.com', { resetLeaderPin: true });
      clearPins.push(r.output!.LeaderPin as string);
      const rows = await newRows();
      assert.deepEqual(brief(rows), [['pin_changed', 'ben@contoso.com', 'en', true]]);
      assert.equal(t.ctx.keys.openPin(rows[0]!.pin_enc!), r.output!.LeaderPin);
      assert.deepEqual(await statusOf(welcome), { status: 'superseded', pin_enc: null, last_error: 'the PIN was reset (-ResetLeaderPin) before this mail went out' });
      const r2 = await set('ben@contoso.com', { resetLeaderPin: true });
      clearPins.push(r2.output!.LeaderPin as string);
      const [second] = await newRows();
      assert.equal((await statusOf(rows[0]!.id)).status, 'superseded');
      assert.equal((await statusOf(second!.id)).status, 'queued');
      const queuedPinMails = await t.ctx.db.kysely.selectFrom('outbox').select('id').where('user_id', '=', second!.user_id).where('pin_enc', 'is not', null).execute();
      assert.equal(queuedPinMails.length, 1, 'only the last PIN a user was given is waiting to be sent');
    });

    it('a new conference ID, default number or bridge: one "information changed" without a PIN', async () => {
      await set('ana@contoso.com', { resetConferenceId: true });
      assert.deepEqual(brief(await newRows()), [['info_changed', 'ana.lima@mail.contoso.com', 'fr', false]]);
      await set('ana@contoso.com', { serviceNumber: '+14255551235', tollFreeServiceNumber: '+18005551010' });
      assert.deepEqual(brief(await newRows()), [['info_changed', 'ana.lima@mail.contoso.com', 'fr', false]]);
      await set('ana@contoso.com', { bridge: { name: 'Second Bridge' } });
      const [moved] = await newRows();
      assert.equal(moved!.kind, 'info_changed');
      assert.deepEqual(JSON.parse(moved!.payload).data.bridgeName, 'Second Bridge');
      await set('ana@contoso.com', { allowPstnOnlyMeetings: true });
      assert.deepEqual(await newRows(), [], 'AllowPstnOnlyMeetings is not dial-in information');
    });

    it('the default-number swap mails each moved user; a bridge default change and Set-CsClientPin mail nobody', async () => {
      await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+14255551234', toNumber: '+14255551235', numberType: 'Toll' });
      assert.deepEqual(brief(await newRows()), [['info_changed', 'ben@contoso.com', 'en', false], ['info_changed', 'cai@contoso.com', 'en', false]]);
      await setBridge(t.scope, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255551234' });
      await t.ctx.db.kysely.transaction().execute(async (trx) => clearPins.push((await setClientPin(trx, t.scope, await findUser(trx, t.scope.tenant.id, 'ben@contoso.com'), null)).pin));
      assert.deepEqual(await newRows(), []);
    });

    it('-SendEmail: the conference info, never the PIN', async () => {
      await set('ben@contoso.com', { sendEmail: true });
      assert.deepEqual(brief(await newRows()), [['conference_info', 'ben@contoso.com', 'en', false]]);
    });

    it('Disable and a switch to a third party: "turned off"; PIN mails still waiting are cancelled', async () => {
      const welcomeOf = async (to: string) => (await t.ctx.db.kysely.selectFrom('outbox').select('id').where('recipient', '=', to).where('kind', '=', 'welcome').executeTakeFirstOrThrow()).id;
      // Set-CsClientPin (previous test) already cancelled Ben's welcome: its PIN no longer worked.
      assert.equal((await statusOf(await welcomeOf('ben@contoso.com'))).status, 'superseded');
      await one(t.scope, 'ben@contoso.com', disableUsers(t.scope, {}));
      assert.deepEqual(brief(await newRows()), [['turned_off', 'ben@contoso.com', 'en', false]]);
      const pending = await welcomeOf('cai@contoso.com');
      assert.notEqual((await statusOf(pending)).pin_enc, null);
      await t.ctx.db.kysely.transaction().execute(async (trx) => setUserAcp(trx, t.scope, await findUser(trx, t.scope.tenant.id, 'cai@contoso.com'), { name: 'Fabrikam ACP', domain: 'fabrikam.com' }));
      assert.deepEqual(brief(await newRows()), [['turned_off', 'cai@contoso.com', 'en', false]]);
      assert.deepEqual(await statusOf(pending), { status: 'superseded', pin_enc: null, last_error: 'dial-in was turned off' });
    });

    it('a switch back to dialin (-ReplaceProvider) is a welcome with a PIN', async () => {
      const r = await one(t.scope, 'cai@contoso.com', enableUsers(t.scope, { bridge: {}, replaceProvider: true, returnPin: true }));
      clearPins.push(r.output!.LeaderPin as string);
      assert.deepEqual(brief(await newRows()), [['welcome', 'cai@contoso.com', 'en', true]]);
    });

    it('with AutomaticallySendEmailsToUsers off, only the manual sends are written', async () => {
      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: false });
      const [r] = await enable(t.scope, ['dee@contoso.com']);
      clearPins.push(r!.output!.LeaderPin as string);
      const r2 = await set('dee@contoso.com', { resetLeaderPin: true, resetConferenceId: true });
      clearPins.push(r2.output!.LeaderPin as string);
      await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+14255551234', toNumber: '+14255551235', numberType: 'Toll' });
      await one(t.scope, 'ana@contoso.com', disableUsers(t.scope, {}));
      assert.deepEqual(await newRows(), []);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('details').where('action', '=', 'user.enable').where('target', '=', 'sip:dee@contoso.com').executeTakeFirstOrThrow();
      assert.equal(JSON.parse(audit.details).welcomeMail, false);
      await set('dee@contoso.com', { sendEmail: true, sendEmailToAddress: 'dee@home.example' });
      assert.deepEqual(brief(await newRows()), [['conference_info', 'dee@home.example', 'en', false]]);
      await one(t.scope, 'dee@contoso.com', disableUsers(t.scope, { sendEmail: true }));
      assert.deepEqual(brief(await newRows()), [['turned_off', 'dee@contoso.com', 'en', false]]);
      await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: true });
    });

    it('no PIN is ever stored in clear, in any column of any table', async () => {
      assert.ok(clearPins.length >= 8);
      assert.ok(clearPins.every((p) => /^[0-9]{12}$/.test(p)));
      for (const cell of await allCells(t.ctx.db)) {
        for (const pin of clearPins) assert.ok(!cell.value.includes(pin), `a PIN in ${cell.table}.${cell.column}`);
      }
    });

    it('outbox listings show whether a row carries a PIN, never the PIN or its ciphertext', async () => {
      const views = await listOutbox(t.scope, { limit: 100 });
      assert.ok(views.length > 10);
      const sealed = (await t.ctx.db.kysely.selectFrom('outbox').select('pin_enc').where('pin_enc', 'is not', null).execute()).map((r) => r.pin_enc!);
      const text = JSON.stringify(views);
      for (const s of [...sealed, ...clearPins]) assert.ok(!text.includes(s));
      assert.ok(views.every((v) => !('pin_enc' in v) && typeof v.CarriesPin === 'boolean'));
      assert.equal(views.filter((v) => v.CarriesPin).length, sealed.length);
      assert.deepEqual((await listOutbox(t.scope, { limit: 100, kind: 'turned_off' })).map((v) => v.User).sort(), ['sip:ben@contoso.com', 'sip:cai@contoso.com', 'sip:dee@contoso.com']);
    });
  });
}
