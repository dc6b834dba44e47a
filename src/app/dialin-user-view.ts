import type { MailData } from '../core/mail-kinds.ts';
import { maskPin } from '../core/pin.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import type { TenantScope, Trx } from './context.ts';
import { lastMailStatus } from './outbox.ts';

/** A user's dial-in properties with the names Get-CsOnlineDialInConferencingUser prints. */
export interface DialInUserView {
  Identity: string;
  DisplayName: string;
  SipAddress: string;
  Tenant: string;
  Provider: string;
  BridgeId: string | null;
  BridgeName: string | null;
  ConferenceId: string | null;
  ServiceNumber: string | null;
  TollFreeServiceNumber: string | null;
  AllowPstnOnlyMeetings: boolean;
  AllowTollFreeDialIn: boolean;
  /** Masked, except in the one answer to whoever just set it. */
  LeaderPin: string;
  IsPinSet: boolean;
  /** The status of the user's newest mail (queued, sent, bounced, …), or null when none was sent (dialin extension). */
  LastMailStatus?: string | null;
}

export function dialInUserView(s: TenantScope, u: UsersTable, bridgeName: string | null, clearPin?: string): DialInUserView {
  return {
    Identity: u.sip,
    DisplayName: u.display_name,
    SipAddress: u.sip,
    Tenant: s.tenant.id,
    Provider: u.provider,
    BridgeId: u.bridge_id,
    BridgeName: bridgeName,
    ConferenceId: u.conference_id,
    ServiceNumber: u.service_number,
    TollFreeServiceNumber: u.toll_free_number,
    AllowPstnOnlyMeetings: u.allow_pstn_only === 1,
    AllowTollFreeDialIn: true,
    LeaderPin: clearPin ?? maskPin(u.pin_hash !== null),
    IsPinSet: u.pin_hash !== null,
  };
}

/** What a mail shows of a user, with the cities of the default numbers when known (`numberCities`). */
export function mailData(
  u: Pick<UsersTable, 'display_name' | 'sip' | 'conference_id' | 'service_number' | 'toll_free_number' | 'bridge_id'>,
  bridgeName: string | null,
  cities?: ReadonlyMap<string, string | null>,
): MailData {
  return {
    displayName: u.display_name,
    sipAddress: u.sip,
    conferenceId: u.conference_id,
    tollNumber: u.service_number,
    tollFreeNumber: u.toll_free_number,
    bridgeName,
    bridgeId: u.bridge_id,
    tollCity: (u.service_number && cities?.get(u.service_number)) || null,
    tollFreeCity: (u.toll_free_number && cities?.get(u.toll_free_number)) || null,
  };
}

/** The city of each of the tenant's service numbers (a tenant has tens of them, not thousands). */
export async function numberCities(trx: Trx, tenantId: string): Promise<Map<string, string | null>> {
  const rows = await trx.selectFrom('service_numbers').select(['number', 'city']).where('tenant_id', '=', tenantId).execute();
  return new Map(rows.map((r) => [r.number, r.city]));
}

export async function bridgeNameOf(trx: Trx, bridgeId: string | null): Promise<string | null> {
  if (!bridgeId) return null;
  return (await trx.selectFrom('bridges').select('name').where('id', '=', bridgeId).executeTakeFirst())?.name ?? null;
}

/** Users enabled with Microsoft (dialin) as provider, with their bridge names. */
export async function listDialInUsers(s: TenantScope, opts: { resultSize?: number | null; bridgeId?: string | null }): Promise<DialInUserView[]> {
  let q = s.db.kysely
    .selectFrom('users')
    .leftJoin('bridges', 'bridges.id', 'users.bridge_id')
    .selectAll('users')
    .select('bridges.name as bridge_name')
    .where('users.tenant_id', '=', s.tenant.id)
    .where('users.provider', '=', 'Microsoft')
    .where('users.dialin_enabled', '=', 1);
  if (opts.bridgeId) q = q.where('users.bridge_id', '=', opts.bridgeId);
  if (opts.resultSize !== undefined && opts.resultSize !== null) q = q.limit(opts.resultSize);
  const rows = await q.orderBy('users.sip').execute();
  const last = await lastMailStatus(s.db.kysely, rows.map((r) => r.id));
  return rows.map((r) => ({ ...dialInUserView(s, r, r.bridge_name), LastMailStatus: last.get(r.id) ?? null }));
}

/** listDialInUsers read in keyset pages by SIP address as the consumer asks (a pipeline's source). */
export async function* dialInUserPages(s: TenantScope, opts: { resultSize?: number | null; bridgeId?: string | null }, pageSize = 1000): AsyncGenerator<DialInUserView & { LastMailStatus: string | null }> {
  let after: string | null = null;
  let left = opts.resultSize ?? Infinity;
  while (left > 0) {
    let q = s.db.kysely
      .selectFrom('users')
      .leftJoin('bridges', 'bridges.id', 'users.bridge_id')
      .selectAll('users')
      .select('bridges.name as bridge_name')
      .where('users.tenant_id', '=', s.tenant.id)
      .where('users.provider', '=', 'Microsoft')
      .where('users.dialin_enabled', '=', 1);
    if (opts.bridgeId) q = q.where('users.bridge_id', '=', opts.bridgeId);
    if (after !== null) q = q.where('users.sip', '>', after);
    const limit = Math.min(pageSize, left);
    const rows = await q.orderBy('users.sip').limit(limit).execute();
    if (rows.length === 0) return;
    const last = await lastMailStatus(s.db.kysely, rows.map((r) => r.id));
    for (const r of rows) yield { ...dialInUserView(s, r, r.bridge_name), LastMailStatus: last.get(r.id) ?? null };
    left -= rows.length;
    if (rows.length < limit) return;
    after = rows[rows.length - 1]!.sip;
  }
}
