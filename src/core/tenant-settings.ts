import { AppError } from './errors.ts';
import { normalizeEmail } from './email-address.ts';
import { PIN_LENGTH_MAX, PIN_LENGTH_MIN } from './pin.ts';
import { CONFERENCE_ID_LENGTH_MAX, CONFERENCE_ID_LENGTH_MIN } from './conference-id.ts';
import { MAIL_LANGUAGES } from './languages.ts';

/** A tenant's dial-in conferencing settings, with the PowerShell property names. */
export interface TenantSettings {
  AutomaticallySendEmailsToUsers: boolean;
  SendEmailFromOverride: boolean;
  SendEmailFromAddress: string | null;
  SendEmailFromDisplayName: string | null;
  PinLength: number;
  AllowPSTNOnlyMeetingsByDefault: boolean;
  ConferenceIdLength: number;
  EnableEntryExitNotifications: boolean;
  EntryExitAnnouncementsType: 'UseNames' | 'ToneOnly';
  EnableNameRecording: boolean;
  /** dialin's own: the language of mail for users whose language dialin does not write. */
  DefaultLanguage: string;
}

export const DEFAULT_TENANT_SETTINGS: Readonly<TenantSettings> = Object.freeze({
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
});

/**
 * Parameters of Microsoft's Set-CsOnlineDialInConferencingTenantSettings that have no effect in
 * dialin. They are refused with a message rather than silently stored.
 */
export const UNSUPPORTED_SETTINGS = [
  'AllowedDialOutExternalDomains', 'AllowFederatedUsersToDialOutToSelf', 'AllowFederatedUsersToDialOutToThirdParty',
  'AutomaticallyMigrateUserMeetings', 'AutomaticallyReplaceAcpProvider', 'EnableDialOutJoinConfirmation',
  'IncludeTollFreeNumberInMeetingInvites', 'MaskPstnNumbersType', 'MigrateServiceNumbersOnCrossForestMove',
  'UseUniqueConferenceIds', 'MsftInternalProcessingMode', 'Instance', 'BypassDualWrite', 'AsJob', 'WhatIf',
] as const;

export const UNSUPPORTED_SETTING_REASON =
  'is a Microsoft parameter that has no effect in dialin (meeting migration, dial-out and Teams roster features are not part of it); it is not supported and nothing was changed';

/**
 * Applies a patch to settings and validates the result as a whole, so that
 * `-SendEmailFromOverride $true` alone fails while the three given together succeed.
 */
export function applySettingsPatch(current: TenantSettings, patch: Partial<TenantSettings>): TenantSettings {
  const next: TenantSettings = { ...current };
  for (const [k, v] of Object.entries(patch) as [keyof TenantSettings, unknown][]) {
    if (v === undefined) continue;
    (next as unknown as Record<string, unknown>)[k] = normalizeSetting(k, v);
  }
  if (next.SendEmailFromOverride && (!next.SendEmailFromAddress || !next.SendEmailFromDisplayName)) {
    throw new AppError(
      'SENDER_OVERRIDE_INCOMPLETE',
      'SendEmailFromOverride can be $true only when both SendEmailFromAddress and SendEmailFromDisplayName are set.',
      { field: 'SendEmailFromOverride' },
    );
  }
  return next;
}

function normalizeSetting(key: keyof TenantSettings, v: unknown): unknown {
  const bool = (): boolean => {
    if (typeof v !== 'boolean') throw new AppError('SETTING_INVALID', `${key} must be $true or $false.`, { field: key });
    return v;
  };
  const intIn = (min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new AppError('SETTING_INVALID', `${key} must be a whole number from ${min} to ${max}.`, { field: key });
    }
    return v;
  };
  switch (key) {
    case 'AutomaticallySendEmailsToUsers':
    case 'SendEmailFromOverride':
    case 'AllowPSTNOnlyMeetingsByDefault':
    case 'EnableEntryExitNotifications':
    case 'EnableNameRecording':
      return bool();
    case 'PinLength':
      return intIn(PIN_LENGTH_MIN, PIN_LENGTH_MAX);
    case 'ConferenceIdLength':
      return intIn(CONFERENCE_ID_LENGTH_MIN, CONFERENCE_ID_LENGTH_MAX);
    case 'SendEmailFromAddress':
      return v === null || v === '' ? null : normalizeEmail(String(v), key);
    case 'SendEmailFromDisplayName': {
      if (v === null || v === '') return null;
      const s = String(v).trim();
      if (s.length > 256 || /[\u0000-\u001f\u007f\u2028\u2029]/.test(s)) {
        throw new AppError('SETTING_INVALID', `${key} must be at most 256 characters with no line breaks or control characters.`, { field: key });
      }
      return s;
    }
    case 'EntryExitAnnouncementsType': {
      const found = ['UseNames', 'ToneOnly'].find((x) => x.toLowerCase() === String(v).toLowerCase());
      if (!found) throw new AppError('SETTING_INVALID', `${key} must be UseNames or ToneOnly.`, { field: key });
      return found;
    }
    case 'DefaultLanguage': {
      const l = String(v).toLowerCase();
      if (!(MAIL_LANGUAGES as readonly string[]).includes(l)) {
        throw new AppError('SETTING_INVALID', `${key} must be one of ${MAIL_LANGUAGES.join(', ')}.`, { field: key });
      }
      return l;
    }
  }
}
