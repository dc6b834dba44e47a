import { getUserAcp, removeUserAcp, setUserAcp } from '../../../app/acp.ts';
import { perUser } from '../../../app/bulk.ts';
import { findUser } from '../../../app/users.ts';
import { runGroup } from './run-group.ts';
import { IDENTITY } from './dialin-users.ts';
import { CONFIRM_PARAM, FORCE_PARAM, ids, list, str, TENANT_PARAM, type CmdletDef } from '../cmdlet.ts';

export const acpCmdlets: CmdletDef[] = [
  {
    name: 'Set-CsUserAcp',
    synopsis: 'Puts users on a third-party audio conferencing provider (a user on dialin loses their dial-in information and gets the "turned off" mail).',
    params: [
      IDENTITY,
      { name: 'Name', type: 'string', mandatory: true, help: 'Provider name.' },
      { name: 'Domain', type: 'string', mandatory: true, help: "Provider's domain." },
      { name: 'TollNumber', type: 'string', help: 'Toll number.' },
      { name: 'TollFreeNumbers', type: 'list', help: 'Toll-free numbers.' },
      { name: 'ParticipantPasscode', type: 'string', help: 'Participant passcode (digits).' },
      { name: 'Url', type: 'string', help: 'Web page of the provider.' },
      TENANT_PARAM,
    ],
    examples: [{ command: 'Set-CsUserAcp -Identity "Ken Myer" -TollNumber "14255551298" -ParticipantPassCode 13761 -Domain "fabrikam.com" -Name "Fabrikam ACP"', effect: 'Ken uses Fabrikam for audio conferencing.' }],
    async run(io, p) {
      const input = { name: str(p, 'Name')!, domain: str(p, 'Domain')!, tollNumber: str(p, 'TollNumber'), tollFreeNumbers: list(p, 'TollFreeNumbers'), participantPasscode: str(p, 'ParticipantPasscode'), url: str(p, 'Url') };
      return runGroup(io, ids(p), 'set', perUser(async (trx, u) => ({ outcome: 'done', output: { Identity: u.sip, AcpInfo: [await setUserAcp(trx, io.scope, u, input)] } })));
    },
  },
  {
    name: 'Get-CsUserAcp',
    synopsis: 'Shows users’ third-party provider information.',
    params: [{ ...IDENTITY, type: 'string', mandatory: false }, TENANT_PARAM],
    examples: [
      { command: 'Get-CsUserAcp', effect: 'Every user with a third-party provider.' },
      { command: 'Get-CsUserAcp -Identity "Ken Myer" | Select-Object -ExpandProperty AcpInfo', effect: "Ken's provider details." },
    ],
    async run(io, p) {
      const trx = io.scope.db.kysely;
      const id = str(p, 'Identity');
      const rows = await getUserAcp(trx, io.scope, id ? await findUser(trx, io.scope.tenant.id, id) : undefined);
      return { kind: 'objects', objects: rows.map((r) => ({ ...r })), single: !!id };
    },
  },
  {
    name: 'Remove-CsUserAcp',
    synopsis: 'Removes users’ third-party provider (their provider becomes None).',
    params: [IDENTITY, { name: 'Name', type: 'string', help: 'Only if the provider has this name.' }, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Remove-CsUserAcp -Identity "Ken Myer" -Name "Fabrikam ACP"', effect: 'Ken no longer uses Fabrikam.' }],
    async run(io, p) {
      const who = ids(p);
      if (!(await io.confirm('Remove third-party provider', who.label))) return { kind: 'none', note: 'Nothing changed.' };
      return runGroup(io, who, 'removed', perUser(async (trx, u) => {
        const outcome = await removeUserAcp(trx, io.scope, u, str(p, 'Name'));
        return outcome === 'done' ? { outcome, output: { Identity: u.sip, Provider: 'None' } } : { outcome, reason: 'no third-party provider' };
      }));
    },
  },
];
