import { AppError } from '../core/errors.ts';
import { toE164 } from '../core/phone-number.ts';
import { printable } from '../core/email-address.ts';
import type { BridgesTable, ServiceNumbersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';
import { localNumbersUrl, newLocalNumbersToken } from './local-numbers.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BridgeRef {
  name?: string | null;
  id?: string | null;
}

export interface BridgeView {
  Identity: string;
  Name: string;
  Region: string | null;
  DefaultServiceNumber: string | null;
  DefaultTollFreeServiceNumber: string | null;
  IsDefault: boolean;
  /** The bridge's public "Find a local number" page (every number, no user); regenerable. */
  LocalNumbersUrl: string;
  ServiceNumbers: ServiceNumberView[];
}

export interface ServiceNumberView {
  Number: string;
  Type: string;
  City: string | null;
  PrimaryLanguage: string | null;
  SecondaryLanguages: string[];
  BridgeName: string;
  BridgeId: string;
  IsShared: boolean;
}

export function serviceNumberView(n: ServiceNumbersTable, bridgeName: string): ServiceNumberView {
  return {
    Number: n.number,
    Type: n.type,
    City: n.city,
    PrimaryLanguage: n.primary_language,
    SecondaryLanguages: JSON.parse(n.secondary_languages) as string[],
    BridgeName: bridgeName,
    BridgeId: n.bridge_id,
    IsShared: false,
  };
}

function checkBridgeName(name: string): string {
  const n = String(name ?? '').trim();
  if (n === '' || n.length > 128 || /[\u0000-\u001f\u007f]/.test(n)) {
    throw new AppError('INVALID_ARGUMENT', 'Name must be 1 to 128 characters with no control characters.', { field: 'Name' });
  }
  return n;
}

/** Finds a bridge by name (case-insensitive) or GUID; with neither, the tenant's default bridge. */
export async function findBridge(trx: Trx, tenantId: string, ref: BridgeRef): Promise<BridgesTable> {
  let q = trx.selectFrom('bridges').selectAll().where('tenant_id', '=', tenantId);
  if (ref.id) {
    if (!GUID.test(ref.id)) throw new AppError('INVALID_ARGUMENT', `BridgeId "${printable(ref.id)}" is not a GUID.`, { field: 'BridgeId' });
    q = q.where('id', '=', ref.id.toLowerCase());
  } else if (ref.name) {
    q = q.where((eb) => eb(eb.fn('lower', ['name']), '=', ref.name!.trim().toLowerCase()));
  } else {
    q = q.orderBy('is_default', 'desc').orderBy('created_at');
  }
  const row = await q.executeTakeFirst();
  if (!row) {
    if (!ref.id && !ref.name) throw new AppError('NO_BRIDGE', 'The tenant has no bridge yet; create one with New-CsOnlineDialInConferencingBridge -Name "Conference Bridge".');
    throw new AppError('BRIDGE_NOT_FOUND', `No bridge ${ref.id ? `has the id ${ref.id}` : `is named "${printable(ref.name!)}"`}.`, { field: ref.id ? 'BridgeId' : 'BridgeName' });
  }
  return row;
}

export async function bridgeView(trx: Trx, b: BridgesTable, settingsUrl: string): Promise<BridgeView> {
  const numbers = await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', b.tenant_id).where('bridge_id', '=', b.id).orderBy('number').execute();
  return {
    Identity: b.id,
    Name: b.name,
    Region: b.region,
    DefaultServiceNumber: b.default_service_number,
    DefaultTollFreeServiceNumber: b.default_toll_free_number,
    IsDefault: b.is_default === 1,
    LocalNumbersUrl: localNumbersUrl(settingsUrl, b.local_numbers_token),
    ServiceNumbers: numbers.map((n) => serviceNumberView(n, b.name)),
  };
}

/** A service number of the bridge, of the expected type. */
export async function numberOnBridge(trx: Trx, tenantId: string, bridge: BridgesTable, number: string, type: 'Toll' | 'TollFree', field: string): Promise<ServiceNumbersTable> {
  const e164 = toE164(number, field);
  const n = await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', tenantId).where('number', '=', e164).executeTakeFirst();
  if (!n || n.bridge_id !== bridge.id) {
    throw new AppError('NUMBER_NOT_ON_BRIDGE', `${field} ${e164} is not a service number of bridge "${bridge.name}"; register it with Register-CsOnlineDialInConferencingServiceNumber.`, { field });
  }
  if (n.type !== type) {
    throw new AppError('NUMBER_TYPE_MISMATCH', `${field} ${e164} is a ${n.type === 'TollFree' ? 'toll-free' : 'toll'} number; a ${type === 'TollFree' ? 'toll-free' : 'toll'} number is needed here.`, { field });
  }
  return n;
}

export async function newBridge(s: TenantScope, opts: { name: string; region?: string | null; setDefault?: boolean }): Promise<BridgeView> {
  const name = checkBridgeName(opts.name);
  return s.db.kysely.transaction().execute(async (trx) => {
    const clash = await trx.selectFrom('bridges').select('id').where('tenant_id', '=', s.tenant.id).where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).executeTakeFirst();
    if (clash) throw new AppError('BRIDGE_EXISTS', `A bridge named "${name}" already exists.`, { field: 'Name' });
    const any = await trx.selectFrom('bridges').select('id').where('tenant_id', '=', s.tenant.id).executeTakeFirst();
    const isDefault = !any || !!opts.setDefault;
    if (isDefault) await trx.updateTable('bridges').set({ is_default: 0 }).where('tenant_id', '=', s.tenant.id).execute();
    const row: BridgesTable = { id: s.newId(), tenant_id: s.tenant.id, name, is_default: isDefault ? 1 : 0, default_service_number: null, default_toll_free_number: null, region: opts.region ?? null, created_at: s.now(), local_numbers_token: newLocalNumbersToken() };
    await trx.insertInto('bridges').values(row).execute();
    await audit(trx, s, 'bridge.new', { label: name }, { isDefault });
    return bridgeView(trx, row, s.settingsUrl);
  });
}

export async function getBridges(s: TenantScope, ref: BridgeRef): Promise<BridgeView[]> {
  const trx = s.db.kysely;
  if (ref.id || ref.name) return [await bridgeView(trx, await findBridge(trx, s.tenant.id, ref), s.settingsUrl)];
  const rows = await trx.selectFrom('bridges').selectAll().where('tenant_id', '=', s.tenant.id).orderBy('created_at').execute();
  return Promise.all(rows.map((b) => bridgeView(trx, b, s.settingsUrl)));
}

/**
 * Sets a bridge's default toll and toll-free numbers, makes it the tenant's default bridge, renames it,
 * or gives it a new "Find a local number" link (the old one stops working; the audit row never holds it).
 * Changing the default number changes no existing user: only users enabled afterwards get it.
 */
export async function setBridge(s: TenantScope, ref: BridgeRef, opts: { defaultServiceNumber?: string | null; defaultTollFreeServiceNumber?: string | null; setDefault?: boolean; newName?: string | null; newLocalNumbersLink?: boolean }): Promise<BridgeView> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const b = await findBridge(trx, s.tenant.id, ref);
    const changes: Record<string, unknown> = {};
    let next = { ...b };
    if (opts.defaultServiceNumber !== undefined && opts.defaultServiceNumber !== null) {
      const n = await numberOnBridge(trx, s.tenant.id, b, opts.defaultServiceNumber, 'Toll', 'DefaultServiceNumber');
      next.default_service_number = n.number;
      changes.DefaultServiceNumber = n.number;
    }
    if (opts.defaultTollFreeServiceNumber !== undefined && opts.defaultTollFreeServiceNumber !== null) {
      const n = await numberOnBridge(trx, s.tenant.id, b, opts.defaultTollFreeServiceNumber, 'TollFree', 'DefaultTollFreeServiceNumber');
      next.default_toll_free_number = n.number;
      changes.DefaultTollFreeServiceNumber = n.number;
    }
    if (opts.newName) {
      const name = checkBridgeName(opts.newName);
      const clash = await trx.selectFrom('bridges').select('id').where('tenant_id', '=', s.tenant.id).where('id', '!=', b.id).where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).executeTakeFirst();
      if (clash) throw new AppError('BRIDGE_EXISTS', `A bridge named "${name}" already exists.`, { field: 'NewName' });
      next.name = name;
      changes.Name = name;
    }
    if (opts.setDefault) {
      await trx.updateTable('bridges').set({ is_default: 0 }).where('tenant_id', '=', s.tenant.id).execute();
      next.is_default = 1;
      changes.IsDefault = true;
    }
    if (opts.newLocalNumbersLink) {
      next.local_numbers_token = newLocalNumbersToken();
      changes.LocalNumbersUrl = 'regenerated';
    }
    await trx.updateTable('bridges').set({ name: next.name, default_service_number: next.default_service_number, default_toll_free_number: next.default_toll_free_number, is_default: next.is_default, local_numbers_token: next.local_numbers_token }).where('id', '=', b.id).execute();
    await audit(trx, s, 'bridge.set', { label: b.name }, changes);
    return bridgeView(trx, next, s.settingsUrl);
  });
}
