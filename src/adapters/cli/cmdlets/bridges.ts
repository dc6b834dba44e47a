import { getBridges, newBridge, setBridge, type BridgeRef } from '../../../app/bridges.ts';
import { getServiceNumbers, registerServiceNumber, setServiceNumber, unregisterServiceNumber } from '../../../app/service-numbers.ts';
import { BRIDGE_LANGUAGES } from '../../../core/languages.ts';
import { bool, CONFIRM_PARAM, FORCE_PARAM, int, list, str, TENANT_PARAM, type CmdletDef, type ParamDef, type Params } from '../cmdlet.ts';

const BRIDGE_NAME: ParamDef = { name: 'BridgeName', type: 'string', help: 'Name of the bridge.' };
const BRIDGE_ID: ParamDef = { name: 'BridgeId', type: 'string', help: 'Identity (GUID) of the bridge.' };
const INSTANCE: ParamDef = { name: 'Instance', type: 'list', help: 'Not supported.', unsupported: 'passes a PowerShell object, which dialin cannot receive; use -Name/-Identity with the values to change (and -NewName to rename)' };

const bridgeRef = (p: Params, nameKey = 'BridgeName', idKey = 'BridgeId'): BridgeRef => ({ name: str(p, nameKey), id: str(p, idKey) });

export const bridgeCmdlets: CmdletDef[] = [
  {
    name: 'New-CsOnlineDialInConferencingBridge',
    synopsis: 'Creates an audio conferencing bridge (the first one is the tenant default).',
    params: [
      { name: 'Name', type: 'string', mandatory: true, position: 0, help: 'Bridge name, e.g. "Conference Bridge".' },
      { name: 'Region', type: 'string', help: 'Free text region label.' },
      { name: 'SetDefault', type: 'switch', help: 'Make it the tenant default bridge.' },
      TENANT_PARAM,
    ],
    examples: [{ command: 'New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"', effect: 'Creates the bridge users are put on by default.' }],
    async run(io, p) {
      const b = await newBridge(io.scope, { name: str(p, 'Name')!, region: str(p, 'Region'), setDefault: bool(p, 'SetDefault') ?? false });
      return { kind: 'objects', objects: [{ ...b }], single: true };
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingBridge',
    synopsis: 'Lists the bridges with their service numbers.',
    params: [{ name: 'Name', type: 'string', help: 'Only the bridge of that name.' }, { name: 'Identity', type: 'string', position: 0, help: 'Only the bridge of that GUID.' }, TENANT_PARAM],
    examples: [
      { command: 'Get-CsOnlineDialInConferencingBridge | fl', effect: 'Every bridge, as a list.' },
      { command: 'Get-CsOnlineDialInConferencingBridge -Name "Conference Bridge"', effect: 'One bridge.' },
    ],
    async run(io, p) {
      const rows = await getBridges(io.scope, { name: str(p, 'Name'), id: str(p, 'Identity') });
      return { kind: 'objects', objects: rows.map((b) => ({ ...b })), single: !!(str(p, 'Name') || str(p, 'Identity')) };
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingBridge',
    synopsis: "Sets a bridge's default toll and toll-free numbers, makes it the default bridge, or renames it. Existing users keep their numbers.",
    params: [
      { name: 'Name', type: 'string', help: 'The bridge, by name.' },
      { name: 'Identity', type: 'string', position: 0, help: 'The bridge, by GUID.' },
      { name: 'DefaultServiceNumber', type: 'string', help: 'A toll number of the bridge; only users enabled afterwards get it.' },
      { name: 'DefaultTollFreeServiceNumber', type: 'string', help: 'A toll-free number of the bridge; only users enabled afterwards get it (without -TollFreeServiceNumber).' },
      { name: 'SetDefault', type: 'switch', help: "Make it the tenant's default bridge." },
      { name: 'NewName', type: 'string', help: 'Rename the bridge (dialin extension; Microsoft uses -Instance).' },
      { name: 'NewLocalNumbersLink', type: 'switch', help: 'Give the bridge a new "Find a local number" link (LocalNumbersUrl); the old one stops working, mails sent before keep it (dialin extension).' },
      INSTANCE,
      TENANT_PARAM,
      FORCE_PARAM,
      CONFIRM_PARAM,
    ],
    confirmImpact: true,
    examples: [
      { command: 'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultServiceNumber 14255551234', effect: 'New users of the bridge get +14255551234 as default toll number.' },
      { command: 'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultTollFreeServiceNumber 18005551234', effect: 'New users of the bridge get +18005551234 as default toll-free number.' },
      { command: 'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -NewLocalNumbersLink', effect: 'A new LocalNumbersUrl for the bridge\'s public "Find a local number" page; the old link stops working.' },
    ],
    async run(io, p) {
      const ref = { name: str(p, 'Name'), id: str(p, 'Identity') };
      if (!(await io.confirm('Set bridge', ref.name ?? ref.id ?? 'default bridge'))) return { kind: 'none', note: 'Nothing changed.' };
      const b = await setBridge(io.scope, ref, { defaultServiceNumber: str(p, 'DefaultServiceNumber'), defaultTollFreeServiceNumber: str(p, 'DefaultTollFreeServiceNumber'), setDefault: bool(p, 'SetDefault') ?? false, newName: str(p, 'NewName'), newLocalNumbersLink: bool(p, 'NewLocalNumbersLink') ?? false });
      return { kind: 'objects', objects: [{ ...b }], single: true };
    },
  },
  {
    name: 'Register-CsOnlineDialInConferencingServiceNumber',
    synopsis: 'Attaches a service (access) number to a bridge.',
    params: [
      { name: 'Identity', type: 'string', mandatory: true, position: 0, help: 'The number in E.164 (+14255551234, 14255551234 or tel:+14255551234).' },
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'Type', type: 'string', help: 'Toll (default) or TollFree.' },
      { name: 'City', type: 'string', help: 'City shown with the number.' },
      { name: 'PrimaryLanguage', type: 'string', help: `Announcement language (default en-US): ${BRIDGE_LANGUAGES.join(', ')}.` },
      { name: 'SecondaryLanguages', type: 'list', help: 'Up to 4 more languages, in the order offered to callers.' },
      INSTANCE,
      TENANT_PARAM,
    ],
    examples: [{ command: 'Register-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -BridgeName "Conference Bridge" -City Redmond', effect: 'Adds a toll number to the bridge.' }],
    async run(io, p) {
      const n = await registerServiceNumber(io.scope, { number: str(p, 'Identity')!, bridge: bridgeRef(p), type: str(p, 'Type'), city: str(p, 'City'), primaryLanguage: str(p, 'PrimaryLanguage'), secondaryLanguages: list(p, 'SecondaryLanguages') });
      return { kind: 'objects', objects: [{ ...n }], single: true };
    },
  },
  {
    name: 'Unregister-CsOnlineDialInConferencingServiceNumber',
    synopsis: "Detaches a service number from its bridge (refused while it is a bridge or user default).",
    params: [
      { name: 'Identity', type: 'string', mandatory: true, position: 0, help: 'The number.' },
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'RemoveDefaultServiceNumber', type: 'switch', help: 'Allow removing the bridge default number.' },
      INSTANCE,
      TENANT_PARAM,
      FORCE_PARAM,
      CONFIRM_PARAM,
    ],
    confirmImpact: true,
    examples: [{ command: 'Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName "Conference Bridge" -RemoveDefaultServiceNumber 14255551234', effect: 'Removes the default number from the bridge.' }],
    async run(io, p) {
      if (!(await io.confirm('Unregister service number', str(p, 'Identity')!))) return { kind: 'none', note: 'Nothing changed.' };
      const n = await unregisterServiceNumber(io.scope, { number: str(p, 'Identity')!, bridge: bridgeRef(p), removeDefault: bool(p, 'RemoveDefaultServiceNumber') ?? false });
      return { kind: 'objects', objects: [{ ...n }], single: true, note: `${n.Number} was unregistered.` };
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingServiceNumber',
    synopsis: 'Lists service numbers, by number, bridge or city.',
    params: [
      { name: 'Identity', type: 'string', position: 0, help: 'One number.' },
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'City', type: 'string', help: 'Only numbers of that city.' },
      { name: 'ResultSize', type: 'int', help: 'At most this many.' },
      TENANT_PARAM,
    ],
    examples: [{ command: 'Get-CsOnlineDialInConferencingServiceNumber | fl', effect: 'Every number of the tenant.' }],
    async run(io, p) {
      const rows = await getServiceNumbers(io.scope, { number: str(p, 'Identity'), bridge: bridgeRef(p), city: str(p, 'City'), resultSize: int(p, 'ResultSize') });
      return { kind: 'objects', objects: rows.map((r) => ({ ...r })), single: !!str(p, 'Identity') };
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingServiceNumber',
    synopsis: "Sets a service number's languages or city.",
    params: [
      { name: 'Identity', type: 'string', mandatory: true, position: 0, help: 'The number.' },
      { name: 'PrimaryLanguage', type: 'string', help: 'Announcement language.' },
      { name: 'SecondaryLanguages', type: 'list', help: 'Up to 4 more languages.' },
      { name: 'RestoreDefaultLanguages', type: 'switch', help: 'Back to en-US with no secondary languages.' },
      { name: 'City', type: 'string', help: 'City shown with the number.' },
      INSTANCE,
      TENANT_PARAM,
    ],
    examples: [{ command: 'Set-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -PrimaryLanguage de-de -SecondaryLanguages en-us, ja-jp, en-gb', effect: 'German first, then English (US), Japanese and English (UK).' }],
    async run(io, p) {
      const n = await setServiceNumber(io.scope, { number: str(p, 'Identity')!, primaryLanguage: str(p, 'PrimaryLanguage'), secondaryLanguages: list(p, 'SecondaryLanguages'), restoreDefaultLanguages: bool(p, 'RestoreDefaultLanguages') ?? false, city: str(p, 'City') });
      return { kind: 'objects', objects: [{ ...n }], single: true };
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingLanguagesSupported',
    synopsis: 'Lists the languages a service number can use.',
    params: [TENANT_PARAM],
    examples: [{ command: 'Get-CsOnlineDialInConferencingLanguagesSupported', effect: 'The 24 supported languages.' }],
    async run() {
      return { kind: 'objects', objects: BRIDGE_LANGUAGES.map((l) => ({ Id: l })) };
    },
  },
];
