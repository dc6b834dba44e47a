import { csUsers, type CsUser } from '../../../app/cs-users.ts';
import { parsePsFilter } from '../../../core/ps-filter.ts';
import { int, str, TENANT_PARAM, type CmdletDef, type ParamDef } from '../cmdlet.ts';

const PARAMS: ParamDef[] = [
  { name: 'Identity', type: 'string', keepCommas: true, position: 0, help: 'One user: the DN of their directory entry, sip:bob@contoso.com, bob@contoso.com, domain\\logon, the id or the display name.' },
  { name: 'OU', type: 'string', keepCommas: true, help: 'A DN ("OU=Finance,DC=litwareinc,DC=com"): the users whose directory entry lies under it.' },
  { name: 'LdapFilter', type: 'string', keepCommas: true, help: 'An RFC 4515 filter ("(&(Title=Manager)(department=Fin*))", parentheses optional for one test) over the synced attributes, named as the directory names them (title, ou, physicalDeliveryOfficeName…) or as Get-CsUser prints them; case-insensitive.' },
  { name: 'Filter', type: 'string', keepCommas: true, filterBlock: true, help: 'A PowerShell-style filter over the printed properties: {Department -eq "Finance"}, {DisplayName -like "Ken*" -and Enabled -eq $true}.' },
  { name: 'ResultSize', type: 'int', help: 'At most this many users.' },
  { name: 'DomainController', type: 'string', help: 'Accepted for compatibility.', ignored: 'dialin reads its own copy of the directory; -DomainController was ignored' },
  TENANT_PARAM,
];

/** Get-CsUser and Get-CsOnlineUser share their parameters and objects (Identity = the directory DN). */
function csUserCmdlet(name: string, synopsis: string): CmdletDef {
  return {
    name,
    synopsis,
    params: PARAMS,
    examples: [
      { command: `${name} -OU "OU=Finance,DC=litwareinc,DC=com"`, effect: 'The users in the Finance OU.' },
      { command: `${name} -LdapFilter "Title=Manager" | Get-CsClientPinInfo`, effect: 'PIN information of every manager.' },
      { command: `${name} -Filter {Department -eq "Finance"} --json`, effect: 'The Finance department as JSON.' },
    ],
    notes: {
      title: 'Properties',
      text: 'Identity (the directory DN; the SIP address for a user not from a directory), DisplayName, SipAddress, UserPrincipalName, Enabled (enabled for dial-in conferencing on dialin), LineURI, Title, Department, Office, Company, SamAccountName, WindowsEmailAddress, DistinguishedName, AudioConferencingProvider. Piped into a cmdlet, an object binds to its -Identity by SipAddress.',
    },
    async run(io, p) {
      const ldap = str(p, 'LdapFilter');
      // ldapts' filter parser is loaded only when a filter is given (a plain call stays light).
      const ldapFilter = ldap === null ? null : (await import('../../ldap/ldap-filter-parse.ts')).parseLdapFilter(ldap);
      const filter = str(p, 'Filter') === null ? null : parsePsFilter(str(p, 'Filter')!);
      const identity = str(p, 'Identity');
      const users = csUsers(io.scope, { identity, ou: str(p, 'OU'), ldapFilter, filter, resultSize: int(p, 'ResultSize') });
      if (identity === null) {
        // Every user (or those an -OU or filter keeps): a stream read in keyset pages as the pipeline asks.
        const objects = (async function* () {
          for await (const u of users) yield { ...u } as Record<string, unknown>;
        })();
        return { kind: 'stream', objects };
      }
      const objects: CsUser[] = [];
      for await (const u of users) objects.push(u);
      return { kind: 'objects', objects: objects.map((o) => ({ ...o })), single: true };
    },
  };
}

export const csUserCmdlets: CmdletDef[] = [
  csUserCmdlet('Get-CsUser', 'Lists users with their directory attributes (Skype for Business Server): by identity, OU, LDAP filter or filter.'),
  csUserCmdlet('Get-CsOnlineUser', 'Lists users with their directory attributes (Teams): the same objects as Get-CsUser.'),
];
