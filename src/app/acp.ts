import { AppError } from '../core/errors.ts';
import { toE164 } from '../core/phone-number.ts';
import { printable } from '../core/email-address.ts';
import type { UserAcpTable, UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { turnOffDialIn } from './disable-user.ts';
import type { TenantScope, Trx } from './context.ts';

export interface AcpInput {
  name: string;
  domain: string;
  tollNumber?: string | null;
  tollFreeNumbers?: string[] | null;
  participantPasscode?: string | null;
  url?: string | null;
}

export interface AcpInfo {
  Default: boolean;
  Name: string;
  Domain: string;
  TollNumber: string | null;
  TollFreeNumbers: string[];
  ParticipantPassCode: string | null;
  Url: string | null;
}

export function acpInfo(r: UserAcpTable): AcpInfo {
  return { Default: true, Name: r.name, Domain: r.domain, TollNumber: r.toll_number, TollFreeNumbers: JSON.parse(r.toll_free_numbers), ParticipantPassCode: r.participant_passcode, Url: r.url };
}

function checkAcp(i: AcpInput): Omit<UserAcpTable, 'tenant_id' | 'user_id'> {
  const name = String(i.name ?? '').trim();
  if (!name || name.length > 128 || /[\u0000-\u001f]/.test(name)) throw new AppError('INVALID_ARGUMENT', 'Name must be 1 to 128 characters.', { field: 'Name' });
  const domain = String(i.domain ?? '').trim().toLowerCase();
  if (!/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/.test(domain)) throw new AppError('INVALID_ARGUMENT', `Domain "${printable(domain)}" is not a domain name such as fabrikam.com.`, { field: 'Domain' });
  const passcode = i.participantPasscode ? String(i.participantPasscode).trim() : null;
  if (passcode && !/^[0-9]{1,32}$/.test(passcode)) throw new AppError('INVALID_ARGUMENT', 'ParticipantPasscode must be digits.', { field: 'ParticipantPasscode' });
  const url = i.url ? String(i.url).trim() : null;
  if (url && !/^https?:\/\/[^\s]+$/i.test(url)) throw new AppError('INVALID_ARGUMENT', 'Url must be an http:// or https:// address.', { field: 'Url' });
  return {
    name,
    domain,
    toll_number: i.tollNumber ? toE164(i.tollNumber, 'TollNumber') : null,
    toll_free_numbers: JSON.stringify((i.tollFreeNumbers ?? []).filter((n) => n.trim() !== '').map((n) => toE164(n, 'TollFreeNumbers'))),
    participant_passcode: passcode,
    url,
  };
}

/**
 * Set-CsUserAcp: puts the user on a third-party provider. A user who was on Microsoft (dialin)
 * loses their dial-in information and gets the "turned off" mail, as when the provider changes.
 */
export async function setUserAcp(trx: Trx, s: TenantScope, user: UsersTable, input: AcpInput): Promise<AcpInfo> {
  const acp = checkAcp(input);
  if (user.provider === 'Microsoft' && user.dialin_enabled === 1) {
    const provider = { name: acp.name, tollNumber: acp.toll_number, tollFreeNumbers: JSON.parse(acp.toll_free_numbers) as string[], passcode: acp.participant_passcode, url: acp.url };
    await turnOffDialIn(trx, s, user, { provider: 'ThirdParty', sendEmail: false, sendTo: null, action: 'user.provider-change', acp: provider });
  } else {
    await trx.updateTable('users').set({ provider: 'ThirdParty', updated_at: s.now() }).where('id', '=', user.id).execute();
  }
  const row: UserAcpTable = { tenant_id: s.tenant.id, user_id: user.id, ...acp };
  await trx.insertInto('user_acp').values(row).onConflict((oc) => oc.column('user_id').doUpdateSet(acp)).execute();
  await audit(trx, s, 'acp.set', { userId: user.id, label: user.sip }, { name: acp.name, domain: acp.domain });
  return acpInfo(row);
}

export async function getUserAcp(trx: Trx, s: TenantScope, user?: UsersTable): Promise<{ Identity: string; AcpInfo: AcpInfo[] }[]> {
  let q = trx.selectFrom('user_acp').innerJoin('users', 'users.id', 'user_acp.user_id').selectAll('user_acp').select('users.sip').where('user_acp.tenant_id', '=', s.tenant.id);
  if (user) q = q.where('user_acp.user_id', '=', user.id);
  const rows = await q.orderBy('users.sip').execute();
  if (user && rows.length === 0) return [{ Identity: user.sip, AcpInfo: [] }];
  return rows.map((r) => ({ Identity: r.sip, AcpInfo: [acpInfo(r)] }));
}

/** Remove-CsUserAcp: the user no longer has a third-party provider (provider None). */
export async function removeUserAcp(trx: Trx, s: TenantScope, user: UsersTable, name: string | null): Promise<'done' | 'unchanged'> {
  const row = await trx.selectFrom('user_acp').selectAll().where('user_id', '=', user.id).executeTakeFirst();
  if (!row) {
    if (name) throw new AppError('ACP_NOT_FOUND', `${user.sip} has no third-party provider named "${name}".`, { field: 'Name' });
    return 'unchanged';
  }
  if (name && row.name.toLowerCase() !== name.toLowerCase()) throw new AppError('ACP_NOT_FOUND', `${user.sip} has no third-party provider named "${name}".`, { field: 'Name' });
  await trx.deleteFrom('user_acp').where('user_id', '=', user.id).execute();
  if (user.provider === 'ThirdParty') await trx.updateTable('users').set({ provider: 'None', updated_at: s.now() }).where('id', '=', user.id).execute();
  await audit(trx, s, 'acp.remove', { userId: user.id, label: user.sip }, { name: row.name });
  return 'done';
}
