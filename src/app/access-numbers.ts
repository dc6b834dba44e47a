import { AppError } from '../core/errors.ts';
import { isTollFreeNumber, toE164 } from '../core/phone-number.ts';
import { toBridgeLanguage } from '../core/languages.ts';
import { printable } from '../core/email-address.ts';
import { checkText } from '../core/text.ts';
import type { BridgesTable, ServiceNumbersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { findBridge } from './bridges.ts';
import type { TenantScope, Trx } from './context.ts';
import { checkSecondaryLanguages, unregisterServiceNumber } from './service-numbers.ts';

/**
 * Lync Server's access numbers (New/Get/Set/Remove-CsDialInConferencingAccessNumber) are dialin's
 * service numbers seen the on-premises way: PrimaryUri is the number's sip: identity, LineUri its
 * tel:+E.164 number, DisplayName its city, Pool (or Regions, by the bridge's Region) its bridge,
 * Priority its place in the bridge's list. The same rows as the online cmdlets, the same audit actions.
 */
export interface AccessNumberView {
  Identity: string;
  PrimaryUri: string | null;
  DisplayName: string | null;
  DisplayNumber: string;
  LineUri: string;
  PrimaryLanguage: string | null;
  SecondaryLanguages: string[];
  Pool: string;
  Regions: string[];
  Priority: number;
}

export interface AccessNumberInput {
  displayNumber?: string | null;
  lineUri?: string | null;
  displayName?: string | null;
  primaryLanguage?: string | null;
  secondaryLanguages?: string[] | null;
  pool?: string | null;
  regions?: string[] | null;
}

function view(n: ServiceNumbersTable, b: BridgesTable): AccessNumberView {
  return {
    Identity: n.primary_uri ?? `tel:${n.number}`,
    PrimaryUri: n.primary_uri ?? null,
    DisplayName: n.city,
    DisplayNumber: n.display_number ?? n.number,
    LineUri: `tel:${n.number}`,
    PrimaryLanguage: n.primary_language,
    SecondaryLanguages: JSON.parse(n.secondary_languages) as string[],
    Pool: b.name,
    Regions: b.region ? [b.region] : [],
    Priority: n.priority ?? 0,
  };
}

/** Lync's rule: a PrimaryUri starts with a lowercase `sip:` and names an address. */
export function toPrimaryUri(input: string, field = 'PrimaryUri'): string {
  const s = String(input ?? '').trim();
  const m = /^sip:([^@\s]+)@([^@\s]+\.[^@\s]+)$/.exec(s);
  if (!m || s.length > 256) throw new AppError('ACCESS_NUMBER_URI_INVALID', `${field} "${printable(s)}" must be a SIP address starting with a lowercase sip:, e.g. sip:RedmondDialIn@litwareinc.com.`, { field });
  checkText(s, field);
  return `sip:${m[1]!.toLowerCase()}@${m[2]!.toLowerCase()}`;
}

/** Lync's rule: a LineUri is `tel:` and an E.164 number. */
export function lineUriNumber(input: string, field = 'LineUri'): string {
  const s = String(input ?? '').trim();
  if (!/^tel:\+/i.test(s)) throw new AppError('ACCESS_NUMBER_URI_INVALID', `${field} "${printable(s)}" must be tel: and a number in E.164 form, e.g. tel:+14255551234.`, { field });
  return toE164(s, field);
}

function checkDisplayNumber(input: string): string {
  const s = checkText(String(input ?? '').trim(), 'DisplayNumber');
  if (s === '' || s.length > 64) throw new AppError('INVALID_ARGUMENT', 'DisplayNumber must be 1 to 64 characters, e.g. "1-800-555-1234".', { field: 'DisplayNumber' });
  return s;
}

function checkCity(input: string): string | null {
  const s = checkText(String(input ?? '').trim(), 'DisplayName');
  if (s.length > 128) throw new AppError('INVALID_ARGUMENT', 'DisplayName must be at most 128 characters.', { field: 'DisplayName' });
  return s || null;
}

/** The bridge an access number goes on: -Pool names it; else the bridge whose Region is -Regions; else the default bridge. */
async function bridgeOf(trx: Trx, tenantId: string, pool: string | null | undefined, regions: string[] | null | undefined): Promise<BridgesTable> {
  const region = (regions ?? []).filter((r) => r.trim() !== '');
  if (region.length > 1) throw new AppError('INVALID_ARGUMENT', 'Regions can name one region: a dialin number belongs to one bridge, and the region is the bridge\'s Region.', { field: 'Regions' });
  if (pool) {
    const b = await findBridge(trx, tenantId, { name: pool });
    if (region[0] && (b.region ?? '').toLowerCase() !== region[0].trim().toLowerCase()) {
      throw new AppError('INVALID_ARGUMENT', `Regions "${printable(region[0])}" is not the Region of bridge "${b.name}" (${b.region ?? 'none'}); set the bridge's region or leave -Regions out.`, { field: 'Regions' });
    }
    return b;
  }
  if (region[0]) {
    const b = await trx.selectFrom('bridges').selectAll().where('tenant_id', '=', tenantId).where((eb) => eb(eb.fn('lower', ['region']), '=', region[0]!.trim().toLowerCase())).orderBy('created_at').executeTakeFirst();
    if (!b) throw new AppError('BRIDGE_NOT_FOUND', `No bridge has the Region "${printable(region[0])}"; give -Pool with the bridge's name.`, { field: 'Regions' });
    return b;
  }
  return findBridge(trx, tenantId, {});
}

/** Finds an access number by its PrimaryUri, or by tel:+E.164 for a number registered the online way. */
async function findAccessNumber(trx: Trx, tenantId: string, identity: string): Promise<ServiceNumbersTable> {
  const s = String(identity ?? '').trim();
  let q = trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', tenantId);
  q = /^tel:/i.test(s) ? q.where('number', '=', lineUriNumber(s, 'Identity')) : q.where('primary_uri', '=', toPrimaryUri(s, 'Identity'));
  const n = await q.executeTakeFirst();
  if (!n) throw new AppError('ACCESS_NUMBER_NOT_FOUND', `No access number has the identity ${printable(s)}.`, { field: 'Identity' });
  return n;
}

async function bridgeById(trx: Trx, id: string): Promise<BridgesTable> {
  return trx.selectFrom('bridges').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function nextPriority(trx: Trx, tenantId: string, bridgeId: string): Promise<number> {
  const r = await trx.selectFrom('service_numbers').select((eb) => eb.fn.max('priority').as('p')).where('tenant_id', '=', tenantId).where('bridge_id', '=', bridgeId).executeTakeFirst();
  return r?.p === null || r?.p === undefined ? 0 : Number(r.p) + 1;
}

/** The numbers are shared with the online cmdlets: a LineUri or PrimaryUri already used is refused. */
async function checkFree(trx: Trx, tenantId: string, number: string | null, primaryUri: string | null): Promise<void> {
  if (number) {
    const n = await trx.selectFrom('service_numbers').select('primary_uri').where('tenant_id', '=', tenantId).where('number', '=', number).executeTakeFirst();
    if (n) throw new AppError('ACCESS_NUMBER_EXISTS', `LineUri tel:${number} is already an access number${n.primary_uri ? ` (${n.primary_uri})` : ''}.`, { field: 'LineUri' });
  }
  if (primaryUri) {
    const n = await trx.selectFrom('service_numbers').select('number').where('tenant_id', '=', tenantId).where('primary_uri', '=', primaryUri).executeTakeFirst();
    if (n) throw new AppError('ACCESS_NUMBER_EXISTS', `PrimaryUri ${primaryUri} is already the access number tel:${n.number}.`, { field: 'PrimaryUri' });
  }
}

export async function newAccessNumber(s: TenantScope, primaryUri: string, r: AccessNumberInput): Promise<AccessNumberView> {
  const uri = toPrimaryUri(primaryUri);
  if (!r.lineUri) throw new AppError('MISSING_ARGUMENT', 'LineUri is required, e.g. -LineUri tel:+14255551234.', { field: 'LineUri' });
  const number = lineUriNumber(r.lineUri);
  const displayNumber = checkDisplayNumber(r.displayNumber ?? '');
  const city = r.displayName ? checkCity(r.displayName) : null;
  const primary = r.primaryLanguage ? toBridgeLanguage(r.primaryLanguage) : 'en-US';
  const secondary = checkSecondaryLanguages(r.secondaryLanguages);
  if (secondary.includes(primary)) throw new AppError('INVALID_ARGUMENT', 'SecondaryLanguages must not repeat the PrimaryLanguage.', { field: 'SecondaryLanguages' });
  return s.db.kysely.transaction().execute(async (trx) => {
    const bridge = await bridgeOf(trx, s.tenant.id, r.pool, r.regions);
    await checkFree(trx, s.tenant.id, number, uri);
    const row: ServiceNumbersTable = {
      tenant_id: s.tenant.id, number, bridge_id: bridge.id, type: isTollFreeNumber(number) ? 'TollFree' : 'Toll', city,
      primary_language: primary, secondary_languages: JSON.stringify(secondary), primary_uri: uri, display_number: displayNumber,
      priority: await nextPriority(trx, s.tenant.id, bridge.id),
    };
    await trx.insertInto('service_numbers').values(row).execute();
    await audit(trx, s, 'number.register', { label: number }, { bridge: bridge.name, type: row.type, city, primaryUri: uri });
    return view(row, bridge);
  });
}

export async function getAccessNumbers(s: TenantScope, f: { identity?: string | null; region?: string | null }): Promise<AccessNumberView[]> {
  const trx = s.db.kysely;
  if (f.identity) {
    const n = await findAccessNumber(trx, s.tenant.id, f.identity);
    return [view(n, await bridgeById(trx, n.bridge_id))];
  }
  let q = trx.selectFrom('bridges').selectAll().where('tenant_id', '=', s.tenant.id);
  if (f.region) q = q.where((eb) => eb(eb.fn('lower', ['region']), '=', f.region!.trim().toLowerCase()));
  const bridges = await q.orderBy('created_at').execute();
  const out: AccessNumberView[] = [];
  for (const b of bridges) {
    const rows = await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', s.tenant.id).where('bridge_id', '=', b.id).orderBy('priority').orderBy('number').execute();
    for (const n of rows) out.push(view(n, b));
  }
  return out;
}

/** Puts a number at `priority` (0 first) in its bridge's list, the others keeping their order. */
async function reorder(trx: Trx, tenantId: string, n: ServiceNumbersTable, priority: number): Promise<number> {
  const rows = await trx.selectFrom('service_numbers').select('number').where('tenant_id', '=', tenantId).where('bridge_id', '=', n.bridge_id).orderBy('priority').orderBy('number').execute();
  const order = rows.map((r) => r.number).filter((x) => x !== n.number);
  const at = Math.min(priority, order.length);
  order.splice(at, 0, n.number);
  for (const [i, number] of order.entries()) await trx.updateTable('service_numbers').set({ priority: i }).where('tenant_id', '=', tenantId).where('number', '=', number).execute();
  return at;
}

/** What users and bridges lean on a number for; a number they do cannot change its LineUri or bridge. */
async function checkNotDefault(trx: Trx, tenantId: string, n: ServiceNumbersTable, field: string): Promise<void> {
  const b = await bridgeById(trx, n.bridge_id);
  if (b.default_service_number === n.number || b.default_toll_free_number === n.number) {
    throw new AppError('NUMBER_IS_BRIDGE_DEFAULT', `tel:${n.number} is the default number of bridge "${b.name}"; set another default with Set-CsOnlineDialInConferencingBridge before changing its ${field}.`, { field });
  }
  const users = await trx.selectFrom('users').select((eb) => eb.fn.countAll().as('c')).where('tenant_id', '=', tenantId).where((eb) => eb.or([eb('service_number', '=', n.number), eb('toll_free_number', '=', n.number)])).executeTakeFirstOrThrow();
  if (Number(users.c) > 0) {
    throw new AppError('NUMBER_IN_USE', `${users.c} user(s) have tel:${n.number} as their default number; move them first with Set-CsOnlineDialInConferencingUserDefaultNumber before changing its ${field}.`, { field });
  }
}

export async function setAccessNumber(s: TenantScope, identity: string, r: AccessNumberInput & { priority?: number | null; reorderedRegion?: string | null }): Promise<AccessNumberView> {
  if (r.priority !== undefined && r.priority !== null && (!Number.isInteger(r.priority) || r.priority < 0)) {
    throw new AppError('INVALID_ARGUMENT', 'Priority must be a whole number, 0 for the first place.', { field: 'Priority' });
  }
  return s.db.kysely.transaction().execute(async (trx) => {
    const n = await findAccessNumber(trx, s.tenant.id, identity);
    const next: ServiceNumbersTable = { ...n };
    const changes: Record<string, unknown> = {};
    if (r.displayNumber !== undefined && r.displayNumber !== null) next.display_number = changes.DisplayNumber = checkDisplayNumber(r.displayNumber);
    if (r.displayName !== undefined && r.displayName !== null) next.city = changes.DisplayName = checkCity(r.displayName);
    if (r.primaryLanguage) next.primary_language = changes.PrimaryLanguage = toBridgeLanguage(r.primaryLanguage);
    if (r.secondaryLanguages) {
      const langs = checkSecondaryLanguages(r.secondaryLanguages);
      next.secondary_languages = JSON.stringify(langs);
      changes.SecondaryLanguages = langs;
    }
    if ((JSON.parse(next.secondary_languages) as string[]).includes(next.primary_language ?? '')) {
      throw new AppError('INVALID_ARGUMENT', 'SecondaryLanguages must not repeat the PrimaryLanguage.', { field: 'SecondaryLanguages' });
    }
    if (r.lineUri) {
      const number = lineUriNumber(r.lineUri);
      if (number !== n.number) {
        await checkNotDefault(trx, s.tenant.id, n, 'LineUri');
        await checkFree(trx, s.tenant.id, number, null);
        next.number = changes.LineUri = number;
        next.type = isTollFreeNumber(number) ? 'TollFree' : 'Toll';
      }
    }
    let bridge = await bridgeById(trx, n.bridge_id);
    if (r.pool || (r.regions && r.regions.length > 0)) {
      const to = await bridgeOf(trx, s.tenant.id, r.pool, r.regions);
      if (to.id !== bridge.id) {
        await checkNotDefault(trx, s.tenant.id, n, 'Pool');
        next.bridge_id = to.id;
        next.priority = await nextPriority(trx, s.tenant.id, to.id);
        changes.Pool = to.name;
        bridge = to;
      }
    }
    await trx
      .updateTable('service_numbers')
      .set({ number: next.number, type: next.type, bridge_id: next.bridge_id, city: next.city, display_number: next.display_number, primary_language: next.primary_language, secondary_languages: next.secondary_languages, priority: next.priority ?? 0 })
      .where('tenant_id', '=', s.tenant.id)
      .where('number', '=', n.number)
      .execute();
    if (r.priority !== undefined && r.priority !== null) {
      if (r.reorderedRegion && ![bridge.region ?? '', bridge.name].some((x) => x.toLowerCase() === r.reorderedRegion!.trim().toLowerCase())) {
        throw new AppError('INVALID_ARGUMENT', `ReorderedRegion "${printable(r.reorderedRegion)}" is not the region of this number (bridge "${bridge.name}", Region ${bridge.region ?? 'none'}).`, { field: 'ReorderedRegion' });
      }
      next.priority = changes.Priority = await reorder(trx, s.tenant.id, next, r.priority);
    }
    if (Object.keys(changes).length === 0) throw new AppError('MISSING_ARGUMENT', 'Give at least one property to change; see `dialin help Set-CsDialInConferencingAccessNumber`.');
    await audit(trx, s, 'number.set', { label: next.number }, { primaryUri: n.primary_uri, ...changes });
    return view(next, bridge);
  });
}

/** Removes an access number, with the refusals of Unregister-CsOnlineDialInConferencingServiceNumber (a bridge or user default stays). */
export async function removeAccessNumber(s: TenantScope, identity: string): Promise<AccessNumberView> {
  const n = await findAccessNumber(s.db.kysely, s.tenant.id, identity);
  const b = await bridgeById(s.db.kysely, n.bridge_id);
  await unregisterServiceNumber(s, { number: n.number, bridge: { id: n.bridge_id } });
  return view(n, b);
}
