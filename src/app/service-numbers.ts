import { AppError } from '../core/errors.ts';
import { toE164 } from '../core/phone-number.ts';
import { toBridgeLanguage } from '../core/languages.ts';
import type { ServiceNumbersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { findBridge, serviceNumberView, type BridgeRef, type ServiceNumberView } from './bridges.ts';
import type { TenantScope } from './context.ts';

export type NumberType = 'Toll' | 'TollFree';

export function toNumberType(v: string | null | undefined, field = 'Type'): NumberType {
  const found = (['Toll', 'TollFree'] as const).find((t) => t.toLowerCase() === String(v ?? '').toLowerCase());
  if (!found) throw new AppError('INVALID_ARGUMENT', `${field} must be Toll or TollFree.`, { field });
  return found;
}

export function checkSecondaryLanguages(list: string[] | null | undefined): string[] {
  const langs = (list ?? []).filter((l) => l.trim() !== '').map((l) => toBridgeLanguage(l, 'SecondaryLanguages'));
  if (langs.length > 4) throw new AppError('INVALID_ARGUMENT', 'SecondaryLanguages can list at most 4 languages.', { field: 'SecondaryLanguages' });
  if (new Set(langs).size !== langs.length) throw new AppError('INVALID_ARGUMENT', 'SecondaryLanguages lists a language twice.', { field: 'SecondaryLanguages' });
  return langs;
}

export interface RegisterNumber {
  number: string;
  bridge: BridgeRef;
  type?: string | null;
  city?: string | null;
  primaryLanguage?: string | null;
  secondaryLanguages?: string[] | null;
}

/** Attaches a service number to a bridge (toll by default). */
export async function registerServiceNumber(s: TenantScope, r: RegisterNumber): Promise<ServiceNumberView> {
  const number = toE164(r.number, 'Identity');
  const type = r.type ? toNumberType(r.type) : 'Toll';
  const primary = r.primaryLanguage ? toBridgeLanguage(r.primaryLanguage) : 'en-US';
  const secondary = checkSecondaryLanguages(r.secondaryLanguages);
  const city = r.city ? String(r.city).trim().slice(0, 128) : null;
  return s.db.kysely.transaction().execute(async (trx) => {
    const bridge = await findBridge(trx, s.tenant.id, r.bridge);
    const exists = await trx.selectFrom('service_numbers').select('bridge_id').where('tenant_id', '=', s.tenant.id).where('number', '=', number).executeTakeFirst();
    if (exists) throw new AppError('NUMBER_EXISTS', `${number} is already registered${exists.bridge_id === bridge.id ? ' on this bridge' : ' on another bridge'}.`, { field: 'Identity' });
    const row: ServiceNumbersTable = { tenant_id: s.tenant.id, number, bridge_id: bridge.id, type, city, primary_language: primary, secondary_languages: JSON.stringify(secondary) };
    await trx.insertInto('service_numbers').values(row).execute();
    await audit(trx, s, 'number.register', { label: number }, { bridge: bridge.name, type, city });
    return serviceNumberView(row, bridge.name);
  });
}

/**
 * Detaches a number. A bridge default is refused unless -RemoveDefaultServiceNumber says so, and
 * never while users still have it as their default (move them first with
 * Set-CsOnlineDialInConferencingUserDefaultNumber, or their invitations would carry a dead number).
 */
export async function unregisterServiceNumber(s: TenantScope, r: { number: string; bridge: BridgeRef; removeDefault?: boolean }): Promise<ServiceNumberView> {
  const number = toE164(r.number, 'Identity');
  return s.db.kysely.transaction().execute(async (trx) => {
    const n = await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', s.tenant.id).where('number', '=', number).executeTakeFirst();
    if (!n) throw new AppError('NUMBER_NOT_FOUND', `${number} is not a registered service number.`, { field: 'Identity' });
    const bridge = r.bridge.id || r.bridge.name ? await findBridge(trx, s.tenant.id, r.bridge) : await trx.selectFrom('bridges').selectAll().where('id', '=', n.bridge_id).executeTakeFirstOrThrow();
    if (n.bridge_id !== bridge.id) throw new AppError('NUMBER_NOT_ON_BRIDGE', `${number} is not on bridge "${bridge.name}".`, { field: 'Identity' });
    if ((bridge.default_service_number === number || bridge.default_toll_free_number === number) && !r.removeDefault) {
      throw new AppError('NUMBER_IS_BRIDGE_DEFAULT', `${number} is the default number of bridge "${bridge.name}"; set another default first, or add -RemoveDefaultServiceNumber.`, { field: 'Identity' });
    }
    const users = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', s.tenant.id)
      .where((eb) => eb.or([eb('service_number', '=', number), eb('toll_free_number', '=', number)]))
      .executeTakeFirstOrThrow();
    if (Number(users.n) > 0) {
      throw new AppError('NUMBER_IN_USE', `${users.n} user(s) have ${number} as their default number; move them first with Set-CsOnlineDialInConferencingUserDefaultNumber -FromNumber ${number} -ToNumber <other> -NumberType ${n.type}.`, { field: 'Identity' });
    }
    if (bridge.default_service_number === number) await trx.updateTable('bridges').set({ default_service_number: null }).where('id', '=', bridge.id).execute();
    if (bridge.default_toll_free_number === number) await trx.updateTable('bridges').set({ default_toll_free_number: null }).where('id', '=', bridge.id).execute();
    await trx.deleteFrom('service_numbers').where('tenant_id', '=', s.tenant.id).where('number', '=', number).execute();
    await audit(trx, s, 'number.unregister', { label: number }, { bridge: bridge.name });
    return serviceNumberView(n, bridge.name);
  });
}

export async function getServiceNumbers(s: TenantScope, f: { number?: string | null; bridge?: BridgeRef; city?: string | null; resultSize?: number | null }): Promise<ServiceNumberView[]> {
  const trx = s.db.kysely;
  let q = trx.selectFrom('service_numbers').innerJoin('bridges', 'bridges.id', 'service_numbers.bridge_id').selectAll('service_numbers').select('bridges.name as bridge_name').where('service_numbers.tenant_id', '=', s.tenant.id);
  if (f.number) {
    const e164 = toE164(f.number, 'Identity');
    q = q.where('service_numbers.number', '=', e164);
  }
  if (f.bridge && (f.bridge.id || f.bridge.name)) q = q.where('service_numbers.bridge_id', '=', (await findBridge(trx, s.tenant.id, f.bridge)).id);
  if (f.city) q = q.where((eb) => eb(eb.fn('lower', ['service_numbers.city']), '=', f.city!.toLowerCase()));
  if (f.resultSize !== undefined && f.resultSize !== null) q = q.limit(f.resultSize);
  const rows = await q.orderBy('service_numbers.number').execute();
  if (f.number && rows.length === 0) throw new AppError('NUMBER_NOT_FOUND', `${toE164(f.number)} is not a registered service number.`, { field: 'Identity' });
  return rows.map((r) => serviceNumberView(r, r.bridge_name));
}

export async function setServiceNumber(s: TenantScope, r: { number: string; primaryLanguage?: string | null; secondaryLanguages?: string[] | null; restoreDefaultLanguages?: boolean; city?: string | null }): Promise<ServiceNumberView> {
  const number = toE164(r.number, 'Identity');
  return s.db.kysely.transaction().execute(async (trx) => {
    const n = await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', s.tenant.id).where('number', '=', number).executeTakeFirst();
    if (!n) throw new AppError('NUMBER_NOT_FOUND', `${number} is not a registered service number.`, { field: 'Identity' });
    const next = { ...n };
    if (r.restoreDefaultLanguages) {
      next.primary_language = 'en-US';
      next.secondary_languages = '[]';
    }
    if (r.primaryLanguage) next.primary_language = toBridgeLanguage(r.primaryLanguage);
    if (r.secondaryLanguages) next.secondary_languages = JSON.stringify(checkSecondaryLanguages(r.secondaryLanguages));
    if (r.city !== undefined && r.city !== null) next.city = String(r.city).trim().slice(0, 128) || null;
    if (JSON.parse(next.secondary_languages).includes(next.primary_language)) {
      throw new AppError('INVALID_ARGUMENT', 'SecondaryLanguages must not repeat the PrimaryLanguage.', { field: 'SecondaryLanguages' });
    }
    await trx.updateTable('service_numbers').set({ primary_language: next.primary_language, secondary_languages: next.secondary_languages, city: next.city }).where('tenant_id', '=', s.tenant.id).where('number', '=', number).execute();
    const bridge = await trx.selectFrom('bridges').select('name').where('id', '=', n.bridge_id).executeTakeFirstOrThrow();
    await audit(trx, s, 'number.set', { label: number }, { primaryLanguage: next.primary_language, secondaryLanguages: JSON.parse(next.secondary_languages), city: next.city });
    return serviceNumberView(next, bridge.name);
  });
}
