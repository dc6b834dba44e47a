import { lastMailStatus } from '../../../app/outbox.ts';
import { AppError } from '../../../core/errors.ts';
import { enableUsers } from '../../../app/enable-users.ts';
import { disableUsers } from '../../../app/disable-user.ts';
import { setDialInUsers } from '../../../app/set-dialin-user.ts';
import { swapDefaultNumber } from '../../../app/default-number.ts';
import { toNumberType } from '../../../app/service-numbers.ts';
import { findBridge } from '../../../app/bridges.ts';
import { dialInUserPages, dialInUserView, bridgeNameOf } from '../../../app/dialin-user-view.ts';
import { perUser } from '../../../app/bulk.ts';
import { runGroup } from './run-group.ts';
import { bool, CONFIRM_PARAM, FORCE_PARAM, ids, int, str, TENANT_PARAM, type CmdletDef, type ParamDef, type Params } from '../cmdlet.ts';

export const IDENTITY: ParamDef = {
  name: 'Identity',
  type: 'identities',
  mandatory: true,
  position: 0,
  help: 'The user: sip:bob@contoso.com, bob@contoso.com, the id, domain\\logon or the display name; a comma list; or @FILE (one a line, or a CSV with a UserUri column).',
};
const BRIDGE_NAME: ParamDef = { name: 'BridgeName', type: 'string', help: 'The bridge, by name (default: the tenant default bridge).' };
const BRIDGE_ID: ParamDef = { name: 'BridgeId', type: 'string', help: 'The bridge, by GUID.' };
const SEND_EMAIL: ParamDef = { name: 'SendEmail', type: 'switch', help: 'Also send the conference information mail (never the PIN), even when automatic mail is off.' };
const SEND_TO: ParamDef = { name: 'SendEmailToAddress', type: 'string', help: 'Send that mail to this address instead of the user\'s.' };
const TOLL_FREE_DIALIN: ParamDef = { name: 'AllowTollFreeDialIn', type: 'bool', help: 'Accepted for compatibility.', ignored: 'toll-free dial-in is always allowed in dialin; -AllowTollFreeDialIn was ignored' };
const DEPRECATED_FROM = 'is deprecated by Microsoft and not supported: set the sender for the tenant with Set-CsOnlineDialInConferencingTenantSettings -SendEmailFromOverride';
const FROM_PARAMS: ParamDef[] = [
  { name: 'SendEmailFromAddress', type: 'list', help: 'Not supported.', unsupported: DEPRECATED_FROM },
  { name: 'SendEmailFromDisplayName', type: 'list', help: 'Not supported.', unsupported: DEPRECATED_FROM },
];
const bridgeRef = (p: Params) => ({ name: str(p, 'BridgeName'), id: str(p, 'BridgeId') });

export const dialInUserCmdlets: CmdletDef[] = [
  {
    name: 'Enable-CsOnlineDialInConferencingUser',
    synopsis: 'Enables users for dial-in conferencing: bridge, default numbers, conference ID and PIN; mails the welcome (with the PIN) when automatic mail is on.',
    params: [
      IDENTITY,
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'ServiceNumber', type: 'string', help: "Default toll number (default: the bridge's)." },
      { name: 'TollFreeServiceNumber', type: 'string', help: 'Default toll-free number.' },
      { name: 'ConferenceId', type: 'string', help: 'A chosen conference ID (one user only; right length and check digit).' },
      { name: 'ReplaceProvider', type: 'switch', help: 'Switch a user from a third-party provider to dialin.' },
      { name: 'AllowPstnOnlyMeetings', type: 'bool', help: "Callers may start the meeting without the leader (default: the tenant's AllowPSTNOnlyMeetingsByDefault)." },
      SEND_EMAIL,
      SEND_TO,
      TOLL_FREE_DIALIN,
      ...FROM_PARAMS,
      TENANT_PARAM,
      FORCE_PARAM,
    ],
    examples: [
      { command: 'Enable-CsOnlineDialInConferencingUser -Identity bob@contoso.com', effect: 'Enables Bob on the default bridge; prints his conference ID and PIN once.' },
      { command: 'Enable-CsOnlineDialInConferencingUser -Identity @finance.csv', effect: 'Enables everyone in the file, in batches, with a summary.' },
      { command: 'Enable-CsOnlineDialInConferencingUser -Identity "Ken Meyer" -AllowPstnOnlyMeetings $false -ConferenceId 3659305 -ReplaceProvider -ServiceNumber 14255551234', effect: "Moves Ken from a third-party provider with a chosen conference ID." },
    ],
    async run(io, p) {
      if (p.SendEmailToAddress && !p.SendEmail) throw new AppError('CONFLICTING_PARAMETERS', '-SendEmailToAddress must be used with -SendEmail.', { field: 'SendEmailToAddress' });
      const who = ids(p);
      if (who.group && str(p, 'ConferenceId')) throw new AppError('CONFLICTING_PARAMETERS', '-ConferenceId can be given for one user only.', { field: 'ConferenceId' });
      const handler = enableUsers(io.scope, {
        bridge: bridgeRef(p),
        serviceNumber: str(p, 'ServiceNumber'),
        tollFreeServiceNumber: str(p, 'TollFreeServiceNumber'),
        conferenceId: str(p, 'ConferenceId'),
        replaceProvider: bool(p, 'ReplaceProvider') ?? false,
        allowPstnOnlyMeetings: bool(p, 'AllowPstnOnlyMeetings'),
        sendEmail: bool(p, 'SendEmail') ?? false,
        sendEmailToAddress: str(p, 'SendEmailToAddress'),
        returnPin: !who.group,
      });
      return runGroup(io, who, 'enabled', handler, { batchSize: 1000 });
    },
  },
  {
    name: 'Disable-CsOnlineDialInConferencingUser',
    synopsis: 'Removes dial-in conferencing from users and releases their conference IDs; mails "turned off" when automatic mail is on.',
    params: [IDENTITY, { ...SEND_EMAIL, help: 'Send the "turned off" mail even when automatic mail is off.' }, SEND_TO, ...FROM_PARAMS, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Disable-CsOnlineDialInConferencingUser -Identity "Pilar Ackerman" -Confirm', effect: 'Asks, then takes dial-in away from Pilar.' }],
    async run(io, p) {
      const who = ids(p);
      if (!(await io.confirm('Disable dial-in conferencing', who.label))) return { kind: 'none', note: 'Nothing changed.' };
      return runGroup(io, who, 'disabled', disableUsers(io.scope, { sendEmail: bool(p, 'SendEmail') ?? false, sendEmailToAddress: str(p, 'SendEmailToAddress') }));
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingUser',
    synopsis: 'Shows users enabled for dial-in conferencing (LeaderPin masked).',
    params: [
      { ...IDENTITY, mandatory: false },
      { name: 'ResultSize', type: 'int', help: 'At most this many users.' },
      BRIDGE_NAME,
      BRIDGE_ID,
      TENANT_PARAM,
    ],
    examples: [{ command: 'Get-CsOnlineDialInConferencingUser -Identity Ken.Myer@contoso.com', effect: "Ken's conference ID, bridge and numbers." }],
    async run(io, p) {
      if (p.Identity) {
        const who = ids(p);
        const out: Record<string, unknown>[] = [];
        const handler = perUser(async (trx, u) => {
          if (u.provider !== 'Microsoft' || u.dialin_enabled !== 1) {
            throw new AppError('USER_NOT_ENABLED', `${u.sip} is not enabled for dial-in conferencing (provider: ${u.provider}).`, { field: 'Identity' });
          }
          return { outcome: 'unchanged', output: { ...dialInUserView(io.scope, u, await bridgeNameOf(trx, u.bridge_id)), LastMailStatus: (await lastMailStatus(trx, [u.id])).get(u.id) ?? null } };
        });
        const res = await runGroup({ ...io, onResult: (r) => r.output && out.push(r.output) }, who, 'shown', handler);
        return res.kind === 'group' ? { kind: 'objects', objects: out } : { ...res, note: undefined };
      }
      const bridgeId = str(p, 'BridgeName') || str(p, 'BridgeId') ? (await findBridge(io.scope.db.kysely, io.scope.tenant.id, bridgeRef(p))).id : null;
      // Page by page: a script pipeline streams the users on (the command line prints them all).
      return { kind: 'stream', objects: dialInUserPages(io.scope, { resultSize: int(p, 'ResultSize'), bridgeId }) as AsyncIterable<Record<string, unknown>> };
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingUser',
    synopsis: "Resets a user's PIN or conference ID, changes default numbers or bridge, or sends the conference info.",
    params: [
      IDENTITY,
      { name: 'ResetLeaderPin', type: 'switch', help: 'Generate a new PIN (shown once; mailed as "PIN changed" when automatic mail is on).' },
      { name: 'ResetConferenceId', type: 'switch', help: 'Generate a new conference ID (the old one is quarantined 30 days).' },
      { name: 'ConferenceId', type: 'string', help: 'Set a chosen conference ID.' },
      { name: 'ServiceNumber', type: 'string', help: 'New default toll number (on the bridge).' },
      { name: 'TollFreeServiceNumber', type: 'string', help: 'New default toll-free number (on the bridge).' },
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'AllowPstnOnlyMeetings', type: 'bool', help: 'Callers may start the meeting without the leader.' },
      SEND_EMAIL,
      SEND_TO,
      TOLL_FREE_DIALIN,
      ...FROM_PARAMS,
      TENANT_PARAM,
      FORCE_PARAM,
    ],
    examples: [
      { command: 'Set-CsOnlineDialInConferencingUser -Identity "Ken Meyers" -ResetLeaderPin -ServiceNumber 14255037265', effect: "Resets Ken's PIN and sets his default toll number." },
      { command: 'Set-CsOnlineDialInConferencingUser -Identity "Ken Meyers" -BridgeName "Conference Bridge"', effect: 'Moves Ken to another bridge.' },
      { command: 'Set-CsOnlineDialInConferencingUser -Identity bob@contoso.com -SendEmail -SendEmailToAddress bob@hotmail.com', effect: 'Mails Bob his conference info (no PIN) at another address.' },
    ],
    async run(io, p) {
      const who = ids(p);
      const handler = setDialInUsers(io.scope, {
        resetLeaderPin: bool(p, 'ResetLeaderPin') ?? false,
        resetConferenceId: bool(p, 'ResetConferenceId') ?? false,
        conferenceId: str(p, 'ConferenceId'),
        serviceNumber: str(p, 'ServiceNumber'),
        tollFreeServiceNumber: str(p, 'TollFreeServiceNumber'),
        bridge: bridgeRef(p),
        allowPstnOnlyMeetings: bool(p, 'AllowPstnOnlyMeetings'),
        sendEmail: bool(p, 'SendEmail') ?? false,
        sendEmailToAddress: str(p, 'SendEmailToAddress'),
      });
      if (who.group && str(p, 'ConferenceId')) throw new AppError('CONFLICTING_PARAMETERS', '-ConferenceId can be given for one user only.', { field: 'ConferenceId' });
      return runGroup(io, who, 'updated', handler, { keepOutputs: bool(p, 'ResetLeaderPin') ?? false });
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingUserDefaultNumber',
    synopsis: 'Moves every user of a bridge from one default number to another (one "information changed" mail each).',
    params: [
      { name: 'FromNumber', type: 'string', help: 'Current default number; $null selects users with no default of that type.' },
      { name: 'ToNumber', type: 'string', mandatory: true, help: 'New default number (on the bridge).' },
      { name: 'NumberType', type: 'string', mandatory: true, help: 'Toll or TollFree.' },
      BRIDGE_NAME,
      BRIDGE_ID,
      { name: 'RescheduleMeetings', type: 'switch', help: 'Accepted for compatibility.', ignored: 'dialin does not manage meetings, so -RescheduleMeetings was ignored; users get an "information changed" mail' },
      ...['CountryOrRegion', 'AreaOrState', 'CapitalOrMajorCity'].map((name): ParamDef => ({ name, type: 'list', help: 'Not supported.', unsupported: 'filters by usage location, which dialin does not store; select the users with -BridgeName and -FromNumber' })),
      TENANT_PARAM,
    ],
    examples: [{ command: 'Set-CsOnlineDialInConferencingUserDefaultNumber -FromNumber 14255550100 -ToNumber 14255550101 -NumberType Toll -BridgeName "Conference Bridge"', effect: 'Everyone on +14255550100 moves to +14255550101.' }],
    async run(io, p) {
      if (p.FromNumber === undefined) throw new AppError('MISSING_ARGUMENT', '-FromNumber is needed (use $null for users who have no default number of that type).', { field: 'FromNumber' });
      const res = await swapDefaultNumber(io.scope, { bridge: bridgeRef(p), fromNumber: str(p, 'FromNumber'), toNumber: str(p, 'ToNumber')!, numberType: toNumberType(str(p, 'NumberType'), 'NumberType') });
      return { kind: 'objects', objects: [{ ...res }], single: true };
    },
  },
];
