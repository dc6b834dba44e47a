import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applySettingsPatch, DEFAULT_TENANT_SETTINGS, UNSUPPORTED_SETTINGS, type TenantSettings } from './tenant-settings.ts';
import { AppError } from './errors.ts';

const D: TenantSettings = { ...DEFAULT_TENANT_SETTINGS };

function refused(patch: Record<string, unknown>, code: string, field: string, current: TenantSettings = D): void {
  assert.throws(
    () => applySettingsPatch(current, patch as Partial<TenantSettings>),
    (e: unknown) => e instanceof AppError && e.code === code && e.field === field && e.message.includes(field),
  );
}

describe('tenant settings defaults', () => {
  it('are those of the issue', () => {
    assert.deepEqual(
      { ...DEFAULT_TENANT_SETTINGS },
      {
        AutomaticallySendEmailsToUsers: true,
        SendEmailFromOverride: false,
        SendEmailFromAddress: null,
        SendEmailFromDisplayName: null,
        PinLength: 5,
        AllowPSTNOnlyMeetingsByDefault: false,
        ConferenceIdLength: 7,
        EnableEntryExitNotifications: true,
        EntryExitAnnouncementsType: 'UseNames',
        EnableNameRecording: true,
        DefaultLanguage: 'en',
      },
    );
    assert.ok(Object.isFrozen(DEFAULT_TENANT_SETTINGS));
  });
});

describe('applySettingsPatch: ranges and types', () => {
  it('PinLength 4 to 12', () => {
    assert.equal(applySettingsPatch(D, { PinLength: 4 }).PinLength, 4);
    assert.equal(applySettingsPatch(D, { PinLength: 12 }).PinLength, 12);
    refused({ PinLength: 3 }, 'SETTING_INVALID', 'PinLength');
    refused({ PinLength: 13 }, 'SETTING_INVALID', 'PinLength');
    refused({ PinLength: 5.5 }, 'SETTING_INVALID', 'PinLength');
    refused({ PinLength: '7' }, 'SETTING_INVALID', 'PinLength');
  });
  it('ConferenceIdLength 6 to 10', () => {
    assert.equal(applySettingsPatch(D, { ConferenceIdLength: 6 }).ConferenceIdLength, 6);
    assert.equal(applySettingsPatch(D, { ConferenceIdLength: 10 }).ConferenceIdLength, 10);
    refused({ ConferenceIdLength: 5 }, 'SETTING_INVALID', 'ConferenceIdLength');
    refused({ ConferenceIdLength: 11 }, 'SETTING_INVALID', 'ConferenceIdLength');
  });
  it('booleans must be booleans', () => {
    for (const k of ['AutomaticallySendEmailsToUsers', 'AllowPSTNOnlyMeetingsByDefault', 'EnableEntryExitNotifications', 'EnableNameRecording', 'SendEmailFromOverride']) {
      refused({ [k]: 'yes' }, 'SETTING_INVALID', k);
      refused({ [k]: 1 }, 'SETTING_INVALID', k);
    }
    assert.equal(applySettingsPatch(D, { AutomaticallySendEmailsToUsers: false }).AutomaticallySendEmailsToUsers, false);
  });
  it('EntryExitAnnouncementsType is UseNames or ToneOnly, any case', () => {
    assert.equal(applySettingsPatch(D, { EntryExitAnnouncementsType: 'toneonly' as never }).EntryExitAnnouncementsType, 'ToneOnly');
    refused({ EntryExitAnnouncementsType: 'Beep' }, 'SETTING_INVALID', 'EntryExitAnnouncementsType');
  });
  it('SendEmailFromAddress is a strict e-mail address', () => {
    assert.equal(applySettingsPatch(D, { SendEmailFromAddress: 'Admin@Contoso.com' }).SendEmailFromAddress, 'Admin@contoso.com');
    refused({ SendEmailFromAddress: 'admin@contoso.com\r\nBcc: x@y.com' }, 'EMAIL_INVALID', 'SendEmailFromAddress');
    refused({ SendEmailFromAddress: 'a@contoso.com,b@contoso.com' }, 'EMAIL_INVALID', 'SendEmailFromAddress');
  });
  it('SendEmailFromDisplayName has no line breaks and at most 256 characters', () => {
    assert.equal(applySettingsPatch(D, { SendEmailFromDisplayName: '  Conferencing Administrator ' }).SendEmailFromDisplayName, 'Conferencing Administrator');
    refused({ SendEmailFromDisplayName: 'Admin\r\nBcc: x@y.com' }, 'SETTING_INVALID', 'SendEmailFromDisplayName');
    refused({ SendEmailFromDisplayName: 'x'.repeat(257) }, 'SETTING_INVALID', 'SendEmailFromDisplayName');
  });
  it('an empty sender value clears it', () => {
    const cur = applySettingsPatch(D, { SendEmailFromAddress: 'a@contoso.com' });
    assert.equal(applySettingsPatch(cur, { SendEmailFromAddress: '' }).SendEmailFromAddress, null);
  });
  it('DefaultLanguage is a language dialin writes', () => {
    assert.equal(applySettingsPatch(D, { DefaultLanguage: 'FR' }).DefaultLanguage, 'fr');
    refused({ DefaultLanguage: 'de' }, 'SETTING_INVALID', 'DefaultLanguage');
  });
  it('leaves the current settings untouched and ignores undefined values', () => {
    const cur = { ...D };
    const next = applySettingsPatch(cur, { PinLength: 9, ConferenceIdLength: undefined });
    assert.deepEqual(cur, D);
    assert.deepEqual(next, { ...D, PinLength: 9 });
  });
});

describe('applySettingsPatch: sender override', () => {
  it('needs both the address and the display name', () => {
    refused({ SendEmailFromOverride: true }, 'SENDER_OVERRIDE_INCOMPLETE', 'SendEmailFromOverride');
    refused({ SendEmailFromOverride: true, SendEmailFromAddress: 'admin@contoso.com' }, 'SENDER_OVERRIDE_INCOMPLETE', 'SendEmailFromOverride');
    refused({ SendEmailFromOverride: true, SendEmailFromDisplayName: 'Admin' }, 'SENDER_OVERRIDE_INCOMPLETE', 'SendEmailFromOverride');
  });
  it('succeeds with the three given together, or on top of stored values', () => {
    const all = applySettingsPatch(D, { SendEmailFromOverride: true, SendEmailFromAddress: 'admin@contoso.com', SendEmailFromDisplayName: 'Conferencing Administrator' });
    assert.equal(all.SendEmailFromOverride, true);
    const stored = applySettingsPatch(D, { SendEmailFromAddress: 'admin@contoso.com', SendEmailFromDisplayName: 'Admin' });
    assert.equal(applySettingsPatch(stored, { SendEmailFromOverride: true }).SendEmailFromOverride, true);
  });
  it('refuses clearing the address while the override is on', () => {
    const on = applySettingsPatch(D, { SendEmailFromOverride: true, SendEmailFromAddress: 'admin@contoso.com', SendEmailFromDisplayName: 'Admin' });
    refused({ SendEmailFromAddress: null }, 'SENDER_OVERRIDE_INCOMPLETE', 'SendEmailFromOverride', on);
    assert.equal(applySettingsPatch(on, { SendEmailFromOverride: false, SendEmailFromAddress: null }).SendEmailFromAddress, null);
  });
});

describe('unsupported Microsoft settings', () => {
  it('lists the parameters that have no meaning in dialin and none of ours', () => {
    for (const k of ['AutomaticallyMigrateUserMeetings', 'AutomaticallyReplaceAcpProvider', 'UseUniqueConferenceIds', 'MaskPstnNumbersType']) {
      assert.ok((UNSUPPORTED_SETTINGS as readonly string[]).includes(k), k);
    }
    for (const k of Object.keys(D)) assert.ok(!(UNSUPPORTED_SETTINGS as readonly string[]).includes(k), k);
  });
});
