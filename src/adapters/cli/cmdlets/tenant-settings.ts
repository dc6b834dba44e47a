import { UNSUPPORTED_SETTINGS, UNSUPPORTED_SETTING_REASON, type TenantSettings } from '../../../core/tenant-settings.ts';
import { getTenantSettings, removeTenantSettings, setTenantSettings } from '../../../app/tenant-settings.ts';
import { AppError } from '../../../core/errors.ts';
import { bool, CONFIRM_PARAM, FORCE_PARAM, int, str, TENANT_PARAM, type CmdletDef, type ParamDef, type Params } from '../cmdlet.ts';

const IDENTITY: ParamDef = { name: 'Identity', type: 'string', position: 0, help: 'Always Global: a tenant has one settings instance.' };

function checkIdentity(p: Params): void {
  const id = str(p, 'Identity');
  if (id && id.toLowerCase() !== 'global') throw new AppError('INVALID_ARGUMENT', 'Identity must be Global: a tenant has exactly one settings instance.', { field: 'Identity' });
}

const unsupported: ParamDef[] = UNSUPPORTED_SETTINGS.map((name) => ({ name, type: 'list', help: 'Not supported in dialin.', unsupported: UNSUPPORTED_SETTING_REASON }));

const SETTABLE: ParamDef[] = [
  { name: 'AutomaticallySendEmailsToUsers', type: 'bool', help: 'Mail users when their dial-in settings change (default $true).' },
  { name: 'SendEmailFromOverride', type: 'bool', aliases: ['SendEmailOverride'], help: 'Send from SendEmailFromAddress / SendEmailFromDisplayName instead of the default sender (needs both).' },
  { name: 'SendEmailFromAddress', type: 'string', help: 'Sender address when SendEmailFromOverride is $true.' },
  { name: 'SendEmailFromDisplayName', type: 'string', help: 'Sender display name when SendEmailFromOverride is $true.' },
  { name: 'PinLength', type: 'int', help: 'Digits of generated PINs, 4 to 12 (default 5); applies to PINs generated afterwards.' },
  { name: 'AllowPSTNOnlyMeetingsByDefault', type: 'bool', help: 'Copied to users when they are enabled (default $false).' },
  { name: 'ConferenceIdLength', type: 'int', help: 'Digits of new conference IDs, check digit included, 6 to 10 (default 7).' },
  { name: 'EnableEntryExitNotifications', type: 'bool', help: 'Announce callers joining and leaving (default $true).' },
  { name: 'EntryExitAnnouncementsType', type: 'string', help: 'UseNames or ToneOnly.' },
  { name: 'EnableNameRecording', type: 'bool', help: 'Ask callers to record their name (default $true).' },
  { name: 'DefaultLanguage', type: 'string', help: 'Mail language for users whose language dialin does not write: en or fr (dialin extension).' },
];

export const tenantSettingsCmdlets: CmdletDef[] = [
  {
    name: 'Get-CsOnlineDialInConferencingTenantSettings',
    aliases: ['Get-CsOnlineDialInConferencingTenantSetting'],
    synopsis: "Shows the tenant's dial-in conferencing settings.",
    params: [IDENTITY, TENANT_PARAM],
    examples: [{ command: 'Get-CsOnlineDialInConferencingTenantSettings', effect: 'Shows the settings of the default tenant.' }],
    async run(io, p) {
      checkIdentity(p);
      return { kind: 'objects', objects: [{ ...(await getTenantSettings(io.scope)) }], single: true };
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingTenantSettings',
    aliases: ['Set-CsOnlineDialInConferencingTenantSetting'],
    synopsis: "Changes the tenant's dial-in conferencing settings.",
    params: [IDENTITY, ...SETTABLE, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM, ...unsupported],
    confirmImpact: true,
    examples: [
      { command: 'Set-CsOnlineDialInConferencingTenantSettings -AutomaticallySendEmailsToUsers $false', effect: 'Stops all automatic dial-in mail (welcome, PIN changed, information changed, turned off).' },
      { command: 'Set-CsOnlineDialInConferencingTenantSettings -EnableEntryExitNotifications $True -EnableNameRecording $True -PinLength 7', effect: 'Announcements on, name recording on, 7-digit PINs from now on.' },
      { command: 'Set-CsOnlineDialInConferencingTenantSettings -SendEmailFromOverride $true -SendEmailFromAddress admin@contoso.com -SendEmailFromDisplayName "Conferencing Administrator"', effect: 'Mail comes from admin@contoso.com.' },
    ],
    async run(io, p) {
      checkIdentity(p);
      const patch: Partial<TenantSettings> = {};
      for (const d of SETTABLE) {
        const v = d.type === 'bool' ? bool(p, d.name) : d.type === 'int' ? int(p, d.name) : p[d.name] === null ? null : str(p, d.name);
        if (p[d.name] !== undefined) (patch as Record<string, unknown>)[d.name] = v;
      }
      if (Object.keys(patch).length === 0) throw new AppError('MISSING_ARGUMENT', 'Give at least one setting to change; see `dialin help Set-CsOnlineDialInConferencingTenantSettings`.');
      if (!(await io.confirm('Set tenant settings', Object.keys(patch).join(', ')))) return { kind: 'none', note: 'Nothing changed.' };
      return { kind: 'objects', objects: [{ ...(await setTenantSettings(io.scope, patch)) }], single: true };
    },
  },
  {
    name: 'Remove-CsOnlineDialInConferencingTenantSettings',
    aliases: ['Remove-CsOnlineDialInConferencingTenantSetting'],
    synopsis: "Restores the tenant's dial-in conferencing settings to their defaults.",
    params: [IDENTITY, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Remove-CsOnlineDialInConferencingTenantSettings', effect: 'Every setting goes back to its default.' }],
    async run(io, p) {
      checkIdentity(p);
      if (!(await io.confirm('Restore default tenant settings', 'Global'))) return { kind: 'none', note: 'Nothing changed.' };
      return { kind: 'objects', objects: [{ ...(await removeTenantSettings(io.scope)) }], single: true };
    },
  },
];
