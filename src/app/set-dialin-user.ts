import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email-address.ts';
import type { OutboxTable, UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { findBridge, numberOnBridge, type BridgeRef } from './bridges.ts';
import { allocateConferenceIds, claimChosenConferenceId, releaseConferenceIds } from './conference-ids.ts';
import { bridgeNameOf, dialInUserView, mailData, numberCities } from './dialin-user-view.ts';
import { changesBetween } from '../core/mail-changes.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { nextPin, storePin } from './pins.ts';
import { readSettings } from './tenant-settings.ts';
import { perUser, type BatchHandler } from './bulk.ts';
import type { TenantScope } from './context.ts';

export interface SetDialInUserOptions {
  resetLeaderPin?: boolean;
  resetConferenceId?: boolean;
  conferenceId?: string | null;
  serviceNumber?: string | null;
  tollFreeServiceNumber?: string | null;
  bridge?: BridgeRef;
  allowPstnOnlyMeetings?: boolean | null;
  sendEmail?: boolean;
  sendEmailToAddress?: string | null;
}

/**
 * Set-CsOnlineDialInConferencingUser: PIN reset (shown once, mailed as "PIN changed"), conference
 * ID reset or choice, default numbers, bridge move ("information changed" mail), and -SendEmail
 * (the conference info, never the PIN, whatever the tenant's switch).
 */
export function setDialInUsers(s: TenantScope, o: SetDialInUserOptions): BatchHandler {
  if (o.resetConferenceId && o.conferenceId) throw new AppError('CONFLICTING_PARAMETERS', '-ResetConferenceId and -ConferenceId cannot be used together.', { field: 'ConferenceId' });
  if (o.sendEmailToAddress && !o.sendEmail) throw new AppError('CONFLICTING_PARAMETERS', '-SendEmailToAddress must be used with -SendEmail.', { field: 'SendEmailToAddress' });
  const sendTo = o.sendEmailToAddress ? normalizeEmail(o.sendEmailToAddress, 'SendEmailToAddress') : null;
  return perUser(async (trx, user) => {
    if (user.provider !== 'Microsoft' || user.dialin_enabled !== 1) {
      throw new AppError('USER_NOT_ENABLED', `${user.sip} is not enabled for dial-in conferencing; enable them with Enable-CsOnlineDialInConferencingUser.`, { field: 'Identity' });
    }
    const settings = await readSettings(trx, s.tenant.id);
    const next: UsersTable = { ...user };
    const changed: Record<string, unknown> = {};
    const bridge = o.bridge && (o.bridge.id || o.bridge.name) ? await findBridge(trx, s.tenant.id, o.bridge) : await findBridge(trx, s.tenant.id, { id: user.bridge_id });
    if (bridge.id !== user.bridge_id) {
      next.bridge_id = bridge.id;
      changed.BridgeName = bridge.name;
    }
    const onBridge = async (n: string | null, type: 'Toll' | 'TollFree') =>
      n ? (await trx.selectFrom('service_numbers').select('bridge_id').where('tenant_id', '=', s.tenant.id).where('number', '=', n).where('type', '=', type).executeTakeFirst())?.bridge_id === bridge.id : true;
    if (o.serviceNumber) next.service_number = (await numberOnBridge(trx, s.tenant.id, bridge, o.serviceNumber, 'Toll', 'ServiceNumber')).number;
    else if (!(await onBridge(next.service_number, 'Toll'))) next.service_number = bridge.default_service_number;
    if (o.tollFreeServiceNumber) next.toll_free_number = (await numberOnBridge(trx, s.tenant.id, bridge, o.tollFreeServiceNumber, 'TollFree', 'TollFreeServiceNumber')).number;
    else if (!(await onBridge(next.toll_free_number, 'TollFree'))) next.toll_free_number = null;
    if (next.service_number !== user.service_number) changed.ServiceNumber = next.service_number;
    if (next.toll_free_number !== user.toll_free_number) changed.TollFreeServiceNumber = next.toll_free_number;
    if (o.conferenceId && o.conferenceId !== user.conference_id) next.conference_id = await claimChosenConferenceId(trx, s, o.conferenceId, settings.ConferenceIdLength, user.id);
    if (o.resetConferenceId) next.conference_id = (await allocateConferenceIds(trx, s, 1, settings.ConferenceIdLength))[0]!;
    if (next.conference_id !== user.conference_id) {
      changed.ConferenceId = next.conference_id;
      if (user.conference_id) await releaseConferenceIds(trx, s, [user.conference_id]);
    }
    if (o.allowPstnOnlyMeetings !== undefined && o.allowPstnOnlyMeetings !== null && (o.allowPstnOnlyMeetings ? 1 : 0) !== user.allow_pstn_only) {
      next.allow_pstn_only = o.allowPstnOnlyMeetings ? 1 : 0;
      changed.AllowPstnOnlyMeetings = o.allowPstnOnlyMeetings;
    }
    let newPin: string | undefined;
    if (o.resetLeaderPin) {
      if (user.pin_locked === 1) throw new AppError('PIN_LOCKED', `The PIN of ${user.sip} is locked; unlock it first with Unlock-CsClientPin.`, { field: 'Identity' });
      const p = await nextPin(trx, s, user, null, { checkHistory: false, pinLength: settings.PinLength });
      await storePin(trx, s, user, p.hash, 'the PIN was reset (-ResetLeaderPin) before this mail went out');
      next.pin_hash = p.hash;
      newPin = p.pin;
      changed.LeaderPin = 'reset';
    }
    const infoChanged = 'BridgeName' in changed || 'ServiceNumber' in changed || 'TollFreeServiceNumber' in changed || 'ConferenceId' in changed;
    if (Object.keys(changed).length === 0 && !o.sendEmail) return { outcome: 'unchanged', reason: 'nothing to change', output: { ...dialInUserView(s, user, bridge.name) } };
    await trx
      .updateTable('users')
      .set({ bridge_id: next.bridge_id, service_number: next.service_number, toll_free_number: next.toll_free_number, conference_id: next.conference_id, allow_pstn_only: next.allow_pstn_only, updated_at: s.now() })
      .where('id', '=', user.id)
      .execute();
    const data = mailData(next, bridge.name, await numberCities(trx, s.tenant.id));
    const mails: (OutboxTable | null)[] = [];
    if (newPin) mails.push(mailRow(s, settings, { kind: 'pin_changed', user, data, pin: newPin }));
    if (infoChanged) {
      const oldBridge = next.bridge_id === user.bridge_id ? bridge.name : await bridgeNameOf(trx, user.bridge_id);
      const changes = changesBetween(
        { conferenceId: user.conference_id, tollNumber: user.service_number, tollFreeNumber: user.toll_free_number, bridge: oldBridge },
        { conferenceId: next.conference_id, tollNumber: next.service_number, tollFreeNumber: next.toll_free_number, bridge: bridge.name },
      );
      mails.push(mailRow(s, settings, { kind: 'info_changed', user, data: { ...data, changes } }));
    }
    if (o.sendEmail) mails.push(mailRow(s, settings, { kind: 'conference_info', user, data, recipient: sendTo }));
    const written = mails.filter((m): m is OutboxTable => m !== null);
    await insertMailRows(trx, written);
    await audit(trx, s, 'user.set', { userId: user.id, label: user.sip }, { ...changed, mails: written.map((m) => m.kind) });
    return { outcome: 'done', output: { ...dialInUserView(s, next, bridge.name, newPin) } };
  });
}
