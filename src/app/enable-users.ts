import { AppError } from '../core/errors.ts';
import { generatePin } from '../core/pin.ts';
import { normalizeEmail } from '../core/email-address.ts';
import type { TenantSettings } from '../core/tenant-settings.ts';
import type { PinPolicy } from '../core/pin-policy.ts';
import type { AuditTable, BridgesTable, OutboxTable, UsersTable } from '../adapters/db/schema.ts';
import { bulkUpdate } from '../adapters/db/bulk-update.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { findBridge, numberOnBridge, type BridgeRef } from './bridges.ts';
import { allocateConferenceIds, claimChosenConferenceId } from './conference-ids.ts';
import { dialInUserView, mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { policyForUser } from './pin-policies.ts';
import { writePinHistory, writePins, type PinWrite } from './pin-writes.ts';
import { readSettings } from './tenant-settings.ts';
import { skippedFor, type BatchHandler, type ItemResult } from './bulk.ts';
import type { TenantScope } from './context.ts';

export interface EnableOptions {
  bridge: BridgeRef;
  serviceNumber?: string | null;
  tollFreeServiceNumber?: string | null;
  /** Only with a single user. */
  conferenceId?: string | null;
  replaceProvider?: boolean;
  allowPstnOnlyMeetings?: boolean | null;
  sendEmail?: boolean;
  sendEmailToAddress?: string | null;
  /** Put the new PIN in the result (single-user commands show it once). */
  returnPin?: boolean;
  /**
   * The users are new rows not yet in the database (a directory sync creating them): they are
   * inserted already enabled, instead of inserted and then updated twice — the same PIN, mail and
   * audit as for any other user.
   */
  insertNewRows?: boolean;
}

const ENABLE_COLUMNS = {
  provider: 'text',
  dialin_enabled: 'integer',
  bridge_id: 'text',
  conference_id: 'text',
  service_number: 'text',
  toll_free_number: 'text',
  allow_pstn_only: 'integer',
  updated_at: 'bigint',
} as const;

/**
 * Enable-CsOnlineDialInConferencingUser as a batch: gives each user Microsoft (dialin) as
 * provider, a bridge, default numbers, a conference ID and a generated PIN, and queues the
 * welcome mail, all in the batch's transaction. Users already enabled are left unchanged; users on
 * a third-party provider are refused unless -ReplaceProvider. Written set-wise (one statement per
 * few hundred users) because whole directories are enabled at once.
 */
export function enableUsers(s: TenantScope, opts: EnableOptions): BatchHandler {
  if (opts.sendEmailToAddress && !opts.sendEmail) throw new AppError('CONFLICTING_PARAMETERS', '-SendEmailToAddress must be used with -SendEmail.', { field: 'SendEmailToAddress' });
  const sendTo = opts.sendEmailToAddress ? normalizeEmail(opts.sendEmailToAddress, 'SendEmailToAddress') : null;
  let prepared: { settings: TenantSettings; bridge: BridgesTable; toll: string | null; tollFree: string | null } | null = null;

  return async (trx, resolved) => {
    if (!prepared) {
      const settings = await readSettings(trx, s.tenant.id);
      const bridge = await findBridge(trx, s.tenant.id, opts.bridge);
      const toll = opts.serviceNumber ? (await numberOnBridge(trx, s.tenant.id, bridge, opts.serviceNumber, 'Toll', 'ServiceNumber')).number : bridge.default_service_number;
      const tollFree = opts.tollFreeServiceNumber ? (await numberOnBridge(trx, s.tenant.id, bridge, opts.tollFreeServiceNumber, 'TollFree', 'TollFreeServiceNumber')).number : bridge.default_toll_free_number;
      prepared = { settings, bridge, toll, tollFree };
    }
    const { settings, bridge, toll, tollFree } = prepared;
    const results: ItemResult[] = [];
    const todo: UsersTable[] = [];
    const doneResult = new Map<string, ItemResult>();
    for (const r of resolved) {
      if ('error' in r) results.push(skippedFor(r.input, r.error));
      else if (r.user.provider === 'Microsoft' && r.user.dialin_enabled === 1) {
        results.push({ input: r.input, user: r.user.sip, outcome: 'unchanged', reason: 'already enabled for dial-in conferencing', output: { ...dialInUserView(s, r.user, bridge.id === r.user.bridge_id ? bridge.name : null) } });
      } else if (r.user.provider === 'ThirdParty' && !opts.replaceProvider) {
        results.push(skippedFor(r.input, new AppError('USER_HAS_THIRD_PARTY_PROVIDER', `${r.user.sip} uses a third-party audio conferencing provider; add -ReplaceProvider to switch them to dialin.`, { field: 'Identity' }), r.user.sip));
      } else if (doneResult.has(r.user.id)) {
        results.push({ input: r.input, user: r.user.sip, outcome: 'unchanged', reason: 'listed twice' });
      } else {
        todo.push(r.user);
        const res: ItemResult = { input: r.input, user: r.user.sip, outcome: 'done' };
        doneResult.set(r.user.id, res);
        results.push(res);
      }
    }
    if (todo.length === 0) return results;

    let ids: string[];
    if (opts.conferenceId) {
      if (todo.length > 1) throw new AppError('CONFLICTING_PARAMETERS', '-ConferenceId can be given for one user only.', { field: 'ConferenceId' });
      ids = [await claimChosenConferenceId(trx, s, opts.conferenceId, settings.ConferenceIdLength)];
    } else {
      ids = await allocateConferenceIds(trx, s, todo.length, settings.ConferenceIdLength);
    }

    const policies = new Map<string, PinPolicy>();
    const now = s.now();
    const updates: Record<string, unknown>[] = [];
    const mails: OutboxTable[] = [];
    const audits: AuditTable[] = [];
    const pins: PinWrite[] = [];
    const cities = await numberCities(trx, s.tenant.id);
    for (const [i, u] of todo.entries()) {
      const key = u.pin_policy ?? 'Global';
      if (!policies.has(key)) policies.set(key, await policyForUser(trx, s.tenant.id, u));
      const policy = policies.get(key)!;
      const pin = generatePin(Math.max(settings.PinLength, Math.min(policy.MinPasswordLength, 24)), { phone: u.phone, extension: u.extension }, s.randomInt);
      const next: UsersTable = {
        ...u,
        provider: 'Microsoft',
        dialin_enabled: 1,
        bridge_id: bridge.id,
        conference_id: ids[i]!,
        service_number: toll,
        toll_free_number: tollFree,
        allow_pstn_only: (opts.allowPstnOnlyMeetings ?? settings.AllowPSTNOnlyMeetingsByDefault) ? 1 : 0,
        pin_hash: s.keys.hashPin(u.id, pin),
        pin_set_at: now,
        pin_fail_local: 0,
        pin_window_start: null,
        updated_at: now,
      };
      updates.push(next as unknown as Record<string, unknown>);
      const data = mailData(next, bridge.name, cities);
      const welcome = mailRow(s, settings, { kind: 'welcome', user: u, data, pin });
      if (welcome) mails.push(welcome);
      if (opts.sendEmail) mails.push(mailRow(s, settings, { kind: 'conference_info', user: u, data, recipient: sendTo })!);
      audits.push(auditRow(s, 'user.enable', { userId: u.id, label: u.sip }, { bridge: bridge.name, conferenceId: next.conference_id, serviceNumber: toll, tollFreeServiceNumber: tollFree, previousProvider: u.provider, welcomeMail: !!welcome }));
      pins.push({ userId: u.id, hash: next.pin_hash!, keepInHistory: policy.PINHistoryCount > 0 });
      doneResult.get(u.id)!.output = { ...dialInUserView(s, next, bridge.name, opts.returnPin ? pin : undefined) };
    }
    if (opts.insertNewRows) {
      // New users have no PIN history to check and no mail queued before: the row is written once, as enabled.
      const fresh = updates as unknown as UsersTable[];
      for (const u of fresh) u.pin_key_version = s.keys.versionOf(u.pin_hash!);
      for (let i = 0; i < fresh.length; i += 200) await trx.insertInto('users').values(fresh.slice(i, i + 200)).execute();
      await writePinHistory(trx, s, pins);
    } else {
      await bulkUpdate(trx, 'users', 'id', ENABLE_COLUMNS, updates);
      // The PIN through the one place PINs are written: a PIN mail still queued from before is void.
      await writePins(trx, s, pins, 'dial-in was enabled again with a new PIN before this mail went out');
    }
    await insertMailRows(trx, mails);
    await insertAuditRows(trx, audits);
    return results;
  };
}
