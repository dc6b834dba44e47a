import { getAccessNumbers, newAccessNumber, removeAccessNumber, setAccessNumber, type AccessNumberInput } from '../../../app/access-numbers.ts';
import { getTenantSettings, setTenantSettings } from '../../../app/tenant-settings.ts';
import { checkConfigurationIdentity, configurationToSettings, configurationView } from '../../../core/dialin-configuration.ts';
import { BRIDGE_LANGUAGES } from '../../../core/languages.ts';
import { AppError } from '../../../core/errors.ts';
import { bool, CONFIRM_PARAM, FORCE_PARAM, int, list, str, TENANT_PARAM, type CmdletDef, type ParamDef, type Params } from '../cmdlet.ts';

/** Lync Server 2013's dial-in conferencing cmdlets, over the same bridges, numbers and settings as the online ones. */

const INSTANCE: ParamDef = { name: 'Instance', type: 'list', help: 'An object from a Get- cmdlet (in a script).', unsupported: 'passes a PowerShell object: use it in a script (dialin run, dialin -Command), or give the values to change on the command line' };
const NOT_HERE = (what: string): string => `${what} has no meaning in dialin (no sites, pools or hosting providers); the number belongs to one bridge`;
const SCOPE_PARAMS: ParamDef[] = [
  { name: 'ScopeToSite', type: 'switch', help: 'Not supported.', unsupported: NOT_HERE('a site scope') },
  { name: 'ScopeToGlobal', type: 'switch', help: 'Not supported.', unsupported: NOT_HERE('a global scope') },
  { name: 'HostingProviderProxyFqdn', type: 'string', help: 'Not supported.', unsupported: NOT_HERE('a hosting provider') },
  { name: 'PassThru', type: 'switch', help: 'Accepted; the number is always shown.', ignored: 'dialin always shows the access number it changed' },
];
const NUMBER_PARAMS: ParamDef[] = [
  { name: 'DisplayNumber', type: 'string', help: 'The number as invitations and the "Find a local number" page show it, e.g. "1-800-555-1234".' },
  { name: 'LineUri', type: 'string', help: 'The number dialled: tel: and E.164, e.g. tel:+14255551234.' },
  { name: 'DisplayName', type: 'string', help: 'The name shown with the number: dialin keeps it as the number\'s City.' },
  { name: 'PrimaryLanguage', type: 'string', help: `Announcement language (default en-US): ${BRIDGE_LANGUAGES.join(', ')}.` },
  { name: 'SecondaryLanguages', type: 'list', help: 'Up to 4 more languages, in the order offered to callers.' },
  { name: 'Pool', type: 'string', help: 'The bridge the number is on, by name (Lync\'s pool; default: the bridge of -Regions, else the default bridge).' },
  { name: 'Regions', type: 'list', help: 'The region of the number: the Region of its bridge (one region).' },
];

function numberInput(p: Params): AccessNumberInput {
  return { displayNumber: str(p, 'DisplayNumber'), lineUri: str(p, 'LineUri'), displayName: str(p, 'DisplayName'), primaryLanguage: str(p, 'PrimaryLanguage'), secondaryLanguages: list(p, 'SecondaryLanguages'), pool: str(p, 'Pool'), regions: list(p, 'Regions') };
}

const CONFIG_IDENTITY: ParamDef = { name: 'Identity', type: 'string', position: 0, help: 'Global (dialin has one configuration per tenant; site: scopes are refused).' };

const CONFIG_SETTABLE: ParamDef[] = [
  { name: 'EnableNameRecording', type: 'bool', help: 'Ask anonymous callers to record their name (tenant setting EnableNameRecording).' },
  { name: 'EntryExitAnnouncementsEnabledByDefault', type: 'bool', help: 'Announce callers joining and leaving (tenant setting EnableEntryExitNotifications).' },
  { name: 'EntryExitAnnouncementsType', type: 'string', help: 'UseNames or ToneOnly (tenant setting EntryExitAnnouncementsType).' },
  { name: 'AllowAnonymousPstnActivation', type: 'bool', help: 'Let unauthenticated callers start meetings: tenant setting AllowPSTNOnlyMeetingsByDefault, given to users enabled afterwards.' },
  { name: 'PinAuthType', type: 'string', help: 'OrganizerOnly (a PIN leads only its own user\'s meetings); Everyone is refused.' },
];

export const lyncCmdlets: CmdletDef[] = [
  {
    name: 'New-CsDialInConferencingAccessNumber',
    synopsis: 'Creates a dial-in access number (Lync Server): a service number of a bridge with a sip: identity.',
    params: [
      { name: 'PrimaryUri', type: 'string', mandatory: true, position: 0, aliases: ['Identity'], help: 'The number\'s SIP identity, lowercase sip: prefix, e.g. sip:RedmondDialIn@litwareinc.com; cannot change later.' },
      ...NUMBER_PARAMS.map((d) => (d.name === 'LineUri' || d.name === 'DisplayNumber' ? { ...d, mandatory: true } : d)),
      ...SCOPE_PARAMS,
      TENANT_PARAM,
    ],
    examples: [
      { command: 'New-CsDialInConferencingAccessNumber -PrimaryUri "sip:RedmondDialIn@litwareinc.com" -DisplayNumber "1-425-555-1234" -LineUri "tel:+14255551234" -Pool "Conference Bridge" -PrimaryLanguage "en-US" -DisplayName Redmond', effect: 'Adds +14255551234 to the bridge "Conference Bridge", shown as 1-425-555-1234, city Redmond.' },
      { command: 'New-CsDialInConferencingAccessNumber -PrimaryUri "sip:ParisDialIn@litwareinc.com" -DisplayNumber "+33 1 70 00 01 00" -LineUri "tel:+33170000100" -Regions Europe -PrimaryLanguage fr-FR -SecondaryLanguages en-US', effect: 'Adds a Paris number, French first then English, to the bridge whose Region is Europe.' },
    ],
    async run(io, p) {
      const n = await newAccessNumber(io.scope, str(p, 'PrimaryUri')!, numberInput(p));
      return { kind: 'objects', objects: [{ ...n }], single: true };
    },
  },
  {
    name: 'Get-CsDialInConferencingAccessNumber',
    synopsis: 'Lists dial-in access numbers (Lync Server view of the bridges\' service numbers), in each bridge\'s order.',
    params: [
      { name: 'Identity', type: 'string', position: 0, help: 'One number, by PrimaryUri (sip:…) or LineUri (tel:+…).' },
      { name: 'Region', type: 'string', help: 'Only the numbers of bridges with this Region.' },
      TENANT_PARAM,
    ],
    examples: [
      { command: 'Get-CsDialInConferencingAccessNumber', effect: 'Every access number, bridge by bridge, in priority order.' },
      { command: 'Get-CsDialInConferencingAccessNumber -Identity "sip:RedmondDialIn@litwareinc.com"', effect: 'One access number.' },
      { command: 'Get-CsDialInConferencingAccessNumber -Region Europe | Select-Object DisplayNumber, LineUri', effect: 'The numbers of the Europe bridge.' },
    ],
    async run(io, p) {
      const rows = await getAccessNumbers(io.scope, { identity: str(p, 'Identity'), region: str(p, 'Region') });
      return { kind: 'objects', objects: rows.map((r) => ({ ...r })), single: !!str(p, 'Identity') };
    },
  },
  {
    name: 'Set-CsDialInConferencingAccessNumber',
    synopsis: 'Changes an access number: how it is shown, its number, languages, bridge or place in the bridge\'s list.',
    params: [
      { name: 'Identity', type: 'string', mandatory: true, position: 0, help: 'The number, by PrimaryUri (sip:…) or LineUri (tel:+…).' },
      ...NUMBER_PARAMS,
      { name: 'Priority', type: 'int', help: 'Its place in the list of its region (its bridge), 0 first; the others keep their order.' },
      { name: 'ReorderedRegion', type: 'string', help: 'The region -Priority orders: the number\'s bridge (its Region or name).' },
      INSTANCE,
      ...SCOPE_PARAMS,
      TENANT_PARAM,
    ],
    examples: [
      { command: 'Set-CsDialInConferencingAccessNumber -Identity "sip:RedmondDialIn@litwareinc.com" -DisplayNumber "1-425-555-0000" -LineUri "tel:+14255550000"', effect: 'A new number for the access number (refused while a bridge or user has it as default).' },
      { command: 'Set-CsDialInConferencingAccessNumber -Identity "sip:RedmondDialIn@litwareinc.com" -Priority 0 -ReorderedRegion Redmond', effect: 'The number comes first in its bridge\'s list.' },
      { command: 'Set-CsDialInConferencingAccessNumber -Identity "sip:RedmondDialIn@litwareinc.com" -PrimaryLanguage de-DE -SecondaryLanguages en-US, ja-JP', effect: 'German first, then English (US) and Japanese.' },
    ],
    async run(io, p) {
      const n = await setAccessNumber(io.scope, str(p, 'Identity')!, { ...numberInput(p), priority: int(p, 'Priority'), reorderedRegion: str(p, 'ReorderedRegion') });
      return { kind: 'objects', objects: [{ ...n }], single: true };
    },
  },
  {
    name: 'Remove-CsDialInConferencingAccessNumber',
    synopsis: 'Removes an access number (refused while it is a bridge or user default).',
    params: [{ name: 'Identity', type: 'string', mandatory: true, position: 0, help: 'The number, by PrimaryUri (sip:…) or LineUri (tel:+…).' }, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Remove-CsDialInConferencingAccessNumber -Identity "sip:RedmondDialIn@litwareinc.com"', effect: 'The number leaves its bridge.' }],
    async run(io, p) {
      if (!(await io.confirm('Remove access number', str(p, 'Identity')!))) return { kind: 'none', note: 'Nothing changed.' };
      const n = await removeAccessNumber(io.scope, str(p, 'Identity')!);
      return { kind: 'none', note: `${n.Identity} (${n.LineUri}) was removed.` };
    },
  },
  {
    name: 'Get-CsDialInConferencingConfiguration',
    synopsis: 'Shows the dial-in conferencing configuration (Lync Server view of the tenant settings).',
    params: [CONFIG_IDENTITY, TENANT_PARAM],
    examples: [{ command: 'Get-CsDialInConferencingConfiguration', effect: 'Name recording, entry/exit announcements, PSTN activation and PIN authentication of the tenant.' }],
    async run(io, p) {
      checkConfigurationIdentity(str(p, 'Identity'));
      return { kind: 'objects', objects: [{ ...configurationView(await getTenantSettings(io.scope)) }], single: true };
    },
  },
  {
    name: 'Set-CsDialInConferencingConfiguration',
    synopsis: 'Changes the dial-in conferencing configuration: the tenant settings it maps to.',
    params: [CONFIG_IDENTITY, ...CONFIG_SETTABLE, INSTANCE, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [
      { command: 'Set-CsDialInConferencingConfiguration -Identity global -EnableNameRecording $False', effect: 'Callers are no longer asked to record their name.' },
      { command: 'Set-CsDialInConferencingConfiguration -EntryExitAnnouncementsEnabledByDefault $True -EntryExitAnnouncementsType ToneOnly', effect: 'A tone when a caller joins or leaves.' },
    ],
    async run(io, p) {
      checkConfigurationIdentity(str(p, 'Identity'));
      const patch = configurationToSettings({
        EnableNameRecording: bool(p, 'EnableNameRecording'),
        EntryExitAnnouncementsEnabledByDefault: bool(p, 'EntryExitAnnouncementsEnabledByDefault'),
        EntryExitAnnouncementsType: str(p, 'EntryExitAnnouncementsType'),
        AllowAnonymousPstnActivation: bool(p, 'AllowAnonymousPstnActivation'),
        PinAuthType: str(p, 'PinAuthType'),
      });
      if (Object.keys(patch).length === 0 && str(p, 'PinAuthType') === null) throw new AppError('MISSING_ARGUMENT', 'Give at least one setting to change; see `dialin help Set-CsDialInConferencingConfiguration`.');
      if (!(await io.confirm('Set dial-in conferencing configuration', 'Global'))) return { kind: 'none', note: 'Nothing changed.' };
      const next = Object.keys(patch).length ? await setTenantSettings(io.scope, patch) : await getTenantSettings(io.scope);
      return { kind: 'objects', objects: [{ ...configurationView(next) }], single: true };
    },
  },
  {
    name: 'Get-CsDialInConferencingLanguageList',
    synopsis: 'Lists the languages access numbers can announce in.',
    params: [{ name: 'Identity', type: 'string', position: 0, help: 'Global (the only list).' }, TENANT_PARAM],
    examples: [{ command: 'Get-CsDialInConferencingLanguageList | Select-Object -ExpandProperty Languages', effect: 'The 24 languages, one per line.' }],
    async run(_io, p) {
      checkConfigurationIdentity(str(p, 'Identity'));
      return { kind: 'objects', objects: [{ Identity: 'Global', Languages: [...BRIDGE_LANGUAGES] }], single: true };
    },
  },
];
