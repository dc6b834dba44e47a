import { AppError } from './errors.ts';
import type { TenantSettings } from './tenant-settings.ts';

/**
 * Lync Server's dial-in conferencing configuration (Get/Set-CsDialInConferencingConfiguration)
 * over dialin's tenant settings: one Global instance per tenant, its properties mapped onto the
 * settings that mean the same. What dialin does not have (site scopes, PinAuthType Everyone) is
 * refused, never stored without effect.
 */
export interface DialInConfiguration {
  Identity: 'Global';
  EnableNameRecording: boolean;
  EntryExitAnnouncementsEnabledByDefault: boolean;
  EntryExitAnnouncementsType: 'UseNames' | 'ToneOnly';
  /** dialin's AllowPSTNOnlyMeetingsByDefault: whether users enabled from now on let unauthenticated callers start their meetings. */
  AllowAnonymousPstnActivation: boolean;
  /** Only the organizer's PIN makes a caller the leader of a meeting in dialin. */
  PinAuthType: 'OrganizerOnly';
}

export function configurationView(s: TenantSettings): DialInConfiguration {
  return {
    Identity: 'Global',
    EnableNameRecording: s.EnableNameRecording,
    EntryExitAnnouncementsEnabledByDefault: s.EnableEntryExitNotifications,
    EntryExitAnnouncementsType: s.EntryExitAnnouncementsType,
    AllowAnonymousPstnActivation: s.AllowPSTNOnlyMeetingsByDefault,
    PinAuthType: 'OrganizerOnly',
  };
}

/** Lync accepts Global, site:NAME or service scopes; dialin has one instance per tenant. */
export function checkConfigurationIdentity(id: string | null | undefined): void {
  if (id === null || id === undefined || id.trim().toLowerCase() === 'global') return;
  if (/^(site|service):/i.test(id.trim())) {
    throw new AppError('CONFIGURATION_VALUE_UNSUPPORTED', `Identity "${id.trim()}": dialin has no sites or pools, only the tenant's Global configuration; use -Identity Global (or leave it out). Nothing was changed.`, { field: 'Identity' });
  }
  throw new AppError('INVALID_ARGUMENT', 'Identity must be Global: a tenant has one dial-in conferencing configuration.', { field: 'Identity' });
}

export interface ConfigurationPatch {
  EnableNameRecording?: boolean | null;
  EntryExitAnnouncementsEnabledByDefault?: boolean | null;
  EntryExitAnnouncementsType?: string | null;
  AllowAnonymousPstnActivation?: boolean | null;
  PinAuthType?: string | null;
}

/** The tenant settings a Lync configuration change stands for; validated again by applySettingsPatch. */
export function configurationToSettings(p: ConfigurationPatch): Partial<TenantSettings> {
  if (p.PinAuthType !== undefined && p.PinAuthType !== null) {
    const v = p.PinAuthType.trim().toLowerCase();
    if (v === 'everyone') {
      throw new AppError('CONFIGURATION_VALUE_UNSUPPORTED', 'PinAuthType Everyone is not supported: in dialin a PIN makes a caller the leader only of the meetings its user organized (OrganizerOnly). Nothing was changed.', { field: 'PinAuthType' });
    }
    if (v !== 'organizeronly') throw new AppError('SETTING_INVALID', 'PinAuthType must be OrganizerOnly (or Everyone, which dialin does not support).', { field: 'PinAuthType' });
  }
  const out: Partial<TenantSettings> = {};
  if (p.EnableNameRecording !== undefined && p.EnableNameRecording !== null) out.EnableNameRecording = p.EnableNameRecording;
  if (p.EntryExitAnnouncementsEnabledByDefault !== undefined && p.EntryExitAnnouncementsEnabledByDefault !== null) out.EnableEntryExitNotifications = p.EntryExitAnnouncementsEnabledByDefault;
  if (p.EntryExitAnnouncementsType !== undefined && p.EntryExitAnnouncementsType !== null) out.EntryExitAnnouncementsType = p.EntryExitAnnouncementsType as TenantSettings['EntryExitAnnouncementsType'];
  if (p.AllowAnonymousPstnActivation !== undefined && p.AllowAnonymousPstnActivation !== null) out.AllowPSTNOnlyMeetingsByDefault = p.AllowAnonymousPstnActivation;
  return out;
}
