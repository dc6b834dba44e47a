import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb } from '../support/db-dump.ts';
import { getTenantSettings, removeTenantSettings, setTenantSettings } from '../../src/app/tenant-settings.ts';
import { DEFAULT_TENANT_SETTINGS } from '../../src/core/tenant-settings.ts';
import { AppError } from '../../src/core/errors.ts';

for (const dialect of DIALECTS) {
  describe(`tenant settings (${dialect})`, () => {
    let t: TestEnv;
    before(async () => {
      t = await testEnv(dialect);
    });
    after(() => t.cleanup());

    it('Get gives the defaults of a new tenant, as the Global instance', async () => {
      assert.deepEqual(await getTenantSettings(t.scope), { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS });
    });

    it('Set changes only what it is given, stores only what differs from the defaults, and audits the change', async () => {
      const res = await setTenantSettings(t.scope, { PinLength: 7, EnableNameRecording: false, EntryExitAnnouncementsType: 'toneonly' as never });
      assert.equal(res.PinLength, 7);
      assert.equal(res.EntryExitAnnouncementsType, 'ToneOnly');
      const again = await setTenantSettings(t.scope, { AutomaticallySendEmailsToUsers: false });
      assert.deepEqual(again, { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS, PinLength: 7, EnableNameRecording: false, EntryExitAnnouncementsType: 'ToneOnly', AutomaticallySendEmailsToUsers: false });
      assert.deepEqual(await getTenantSettings(t.scope), again);
      const row = await t.ctx.db.kysely.selectFrom('tenant_settings').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(row.settings), { PinLength: 7, EnableNameRecording: false, EntryExitAnnouncementsType: 'ToneOnly', AutomaticallySendEmailsToUsers: false });
      const audit = await t.ctx.db.kysely.selectFrom('audit').selectAll().where('action', '=', 'tenant.settings.set').execute();
      assert.deepEqual(audit.map((r) => JSON.parse(r.details)).sort((x, y) => Object.keys(x).length - Object.keys(y).length), [
        { AutomaticallySendEmailsToUsers: false },
        { PinLength: 7, EnableNameRecording: false, EntryExitAnnouncementsType: 'ToneOnly' },
      ]);
      assert.ok(audit.every((r) => r.actor === 'test' && r.tenant_id === t.scope.tenant.id));
    });

    it('sets the sender override with both fields, and refuses it alone without changing anything', async () => {
      await setTenantSettings(t.scope, { SendEmailFromOverride: true, SendEmailFromAddress: 'admin@contoso.com', SendEmailFromDisplayName: 'Conferencing Administrator' });
      const before = await dumpDb(t.ctx.db);
      await assert.rejects(setTenantSettings(t.scope, { SendEmailFromAddress: null }), (e: unknown) => e instanceof AppError && e.code === 'SENDER_OVERRIDE_INCOMPLETE');
      await assert.rejects(setTenantSettings(t.scope, { PinLength: 13 }), (e: unknown) => e instanceof AppError && e.code === 'SETTING_INVALID' && e.field === 'PinLength');
      await assert.rejects(setTenantSettings(t.scope, { PinLength: 6, ConferenceIdLength: 3 }), (e: unknown) => e instanceof AppError && e.field === 'ConferenceIdLength');
      assert.deepEqual(await dumpDb(t.ctx.db), before);
      await setTenantSettings(t.scope, { SendEmailFromOverride: false });
      assert.equal((await getTenantSettings(t.scope)).SendEmailFromAddress, 'admin@contoso.com');
    });

    it('Remove restores every default', async () => {
      assert.deepEqual(await removeTenantSettings(t.scope), { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS });
      assert.deepEqual(await getTenantSettings(t.scope), { Identity: 'Global', ...DEFAULT_TENANT_SETTINGS });
      assert.equal(await t.ctx.db.kysely.selectFrom('tenant_settings').selectAll().executeTakeFirst(), undefined);
      const audit = await t.ctx.db.kysely.selectFrom('audit').select('action').where('action', '=', 'tenant.settings.reset').execute();
      assert.equal(audit.length, 1);
    });
  });
}
