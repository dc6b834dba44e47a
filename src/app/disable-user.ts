import type { MailProvider } from '../core/mail-kinds.ts';
import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email-address.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { releaseConferenceIds } from './conference-ids.ts';
import { bridgeNameOf, mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow, supersedePinMails } from './mail-queue.ts';
import { readSettings } from './tenant-settings.ts';
import { perUser, type BatchHandler } from './bulk.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * Takes dial-in away from a user on Microsoft (dialin): provider None, no bridge, numbers, PIN or
 * conference ID (released, and quarantined for 30 days). Used by Disable- and by switching a user
 * to a third-party provider. PIN mails still waiting in the outbox are cancelled: their PIN is void.
 */
export async function turnOffDialIn(trx: Trx, s: TenantScope, user: UsersTable, next: { provider: 'None' | 'ThirdParty'; sendEmail: boolean; sendTo: string | null; action: string; acp?: MailProvider }): Promise<boolean> {
  const settings = await readSettings(trx, s.tenant.id);
  const data = { ...mailData(user, await bridgeNameOf(trx, user.bridge_id), await numberCities(trx, s.tenant.id)), provider: next.acp ?? null };
  if (user.conference_id) await releaseConferenceIds(trx, s, [user.conference_id]);
  await trx
    .updateTable('users')
    .set({
      provider: next.provider,
      dialin_enabled: 0,
      bridge_id: null,
      conference_id: null,
      service_number: null,
      toll_free_number: null,
      allow_pstn_only: 0,
      pin_hash: null,
      pin_set_at: null,
      pin_fail_local: 0,
      pin_window_start: null,
      pin_locked_until: null,
      updated_at: s.now(),
    })
    .where('id', '=', user.id)
    .execute();
  await supersedePinMails(trx, [user.id], 'dial-in was turned off');
  // The turned-off notice is automatic; -SendEmail asks for it whatever the tenant's switch says.
  const row = mailRow(s, next.sendEmail ? { ...settings, AutomaticallySendEmailsToUsers: true } : settings, { kind: 'turned_off', user, data, recipient: next.sendTo });
  if (row) await insertMailRows(trx, [row]);
  await audit(trx, s, next.action, { userId: user.id, label: user.sip }, { releasedConferenceId: user.conference_id, provider: next.provider, turnedOffMail: !!row });
  return !!row;
}

export function disableUsers(s: TenantScope, opts: { sendEmail?: boolean; sendEmailToAddress?: string | null }): BatchHandler {
  const sendTo = opts.sendEmailToAddress ? normalizeEmail(opts.sendEmailToAddress, 'SendEmailToAddress') : null;
  return perUser(async (trx, user) => {
    if (user.provider === 'ThirdParty') {
      throw new AppError('USER_HAS_THIRD_PARTY_PROVIDER', `${user.sip} uses a third-party provider; remove it with Remove-CsUserAcp.`, { field: 'Identity' });
    }
    if (user.provider !== 'Microsoft' || user.dialin_enabled !== 1) return { outcome: 'unchanged', reason: 'not enabled for dial-in conferencing' };
    await turnOffDialIn(trx, s, user, { provider: 'None', sendEmail: !!opts.sendEmail, sendTo, action: 'user.disable' });
    return { outcome: 'done', output: { Identity: user.sip, Provider: 'None', ConferenceId: null } };
  });
}
