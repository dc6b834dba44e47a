import { AppError } from '../core/errors.ts';
import { toE164 } from '../core/phone-number.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { findBridge, numberOnBridge, type BridgeRef } from './bridges.ts';
import { mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { readSettings } from './tenant-settings.ts';
import type { NumberType } from './service-numbers.ts';
import type { TenantScope } from './context.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';

export interface DefaultNumberSwap {
  bridge: BridgeRef;
  /** null: users who have no default number of that type. */
  fromNumber: string | null;
  toNumber: string;
  numberType: NumberType;
}

/**
 * Set-CsOnlineDialInConferencingUserDefaultNumber: moves every user of the bridge whose default
 * number of the type is `fromNumber` to `toNumber`, one "information changed" mail each. Works in
 * chunks of 1,000 users per transaction; a re-run after an interruption finishes the rest, since
 * moved users no longer match.
 */
export async function swapDefaultNumber(s: TenantScope, o: DefaultNumberSwap, onProgress?: (moved: number) => void): Promise<{ MovedUsers: number; FromNumber: string | null; ToNumber: string; NumberType: NumberType; BridgeName: string }> {
  const from = o.fromNumber ? toE164(o.fromNumber, 'FromNumber') : null;
  const column = o.numberType === 'Toll' ? 'service_number' : 'toll_free_number';
  let moved = 0;
  let bridgeName = '';
  let to = '';
  for (;;) {
    const n = await s.db.kysely.transaction().execute(async (trx) => {
      const bridge = await findBridge(trx, s.tenant.id, o.bridge);
      bridgeName = bridge.name;
      to = (await numberOnBridge(trx, s.tenant.id, bridge, o.toNumber, o.numberType, 'ToNumber')).number;
      if (from === to) throw new AppError('INVALID_ARGUMENT', 'FromNumber and ToNumber are the same number.', { field: 'ToNumber' });
      const settings = await readSettings(trx, s.tenant.id);
      let q = trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('bridge_id', '=', bridge.id).where('provider', '=', 'Microsoft').where('dialin_enabled', '=', 1);
      q = from === null ? q.where(column, 'is', null) : q.where(column, '=', from);
      const users = await q.limit(1000).execute();
      if (users.length === 0) return 0;
      const ids = users.map((u) => u.id);
      const cities = await numberCities(trx, s.tenant.id);
      await trx.updateTable('users').set({ [column]: to, updated_at: s.now() }).where('id', 'in', ids).execute();
      const mails = users.map((u) => mailRow(s, settings, { kind: 'info_changed', user: u, data: { ...mailData({ ...u, [column]: to }, bridge.name, cities), changes: [{ field: column === 'service_number' ? 'tollNumber' : 'tollFreeNumber', old: u[column], new: to }] } })).filter((m): m is OutboxTable => m !== null);
      await insertMailRows(trx, mails);
      await insertAuditRows(trx, users.map((u) => auditRow(s, 'user.default-number', { userId: u.id, label: u.sip }, { numberType: o.numberType, from, to })));
      return users.length;
    });
    if (n === 0) break;
    moved += n;
    s.onMailQueued?.();
    onProgress?.(moved);
  }
  return { MovedUsers: moved, FromNumber: from, ToNumber: to, NumberType: o.numberType, BridgeName: bridgeName };
}
