import { AppError } from '../core/errors.ts';
import { checkDkimDomain, checkDkimSelector, dkimRecordName, dkimRecordText, type DkimAlgorithm } from '../core/deliverability.ts';
import type { DkimKeysTable } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import { newDkimKey, zoneFileLine } from '../adapters/dkim/dkim-keys.ts';
import type { DkimSigningKey } from '../adapters/dkim/dkim-sign.ts';
import { audit } from './audit.ts';
import type { TenantScope, Trx } from './context.ts';

/**
 * DKIM keys: made here (the private key sealed under the master key at once), listed with the
 * exact TXT record to publish, rotated (a second key per domain and algorithm waits on standby
 * until activated), removed. A key without a tenant is the deployment's and signs any mail from
 * its domain; a tenant's signs only that tenant's mail, and its domain is then the tenant's alone.
 */

/** Keys of one domain and algorithm: one signing, one published ahead for a rotation. */
const MAX_PER_ALGORITHM = 2;

export interface DkimKeyView {
  Domain: string;
  Selector: string;
  Algorithm: string;
  /** The tenant whose mail it signs, or "(deployment)". */
  Tenant: string;
  /** Signing now, or waiting for `dialin dkim activate` (rotation). */
  State: 'active' | 'standby';
  CreatedAt: string;
  RecordName: string;
  RecordValue: string;
  /** The record as a zone-file line (long values split into strings of at most 255 bytes). */
  ZoneFile: string;
}

type Row = DkimKeysTable & { tenant_name?: string | null };

export function dkimKeyView(r: Row): DkimKeyView {
  const name = dkimRecordName(r.selector, r.domain);
  const value = dkimRecordText(r.algorithm as DkimAlgorithm, r.public_key);
  return {
    Domain: r.domain,
    Selector: r.selector,
    Algorithm: r.algorithm === 'rsa' ? 'rsa-sha256 (2048)' : 'ed25519-sha256',
    Tenant: r.tenant_id ? (r.tenant_name ?? r.tenant_id) : '(deployment)',
    State: r.active ? 'active' : 'standby',
    CreatedAt: new Date(r.created_at).toISOString(),
    RecordName: name,
    RecordValue: value,
    ZoneFile: zoneFileLine(name, value),
  };
}

function keysOf(trx: Trx) {
  return trx.selectFrom('dkim_keys').leftJoin('tenants', 'tenants.id', 'dkim_keys.tenant_id').selectAll('dkim_keys').select('tenants.name as tenant_name');
}

/** A month-stamped selector (dialin-202612), made unique among the domain's. */
function defaultSelector(now: number, taken: Set<string>, suffix: string): string {
  const stamp = new Date(now).toISOString().slice(0, 7).replace('-', '');
  for (let i = 0; ; i++) {
    const s = `dialin-${stamp}${i ? `-${i + 1}` : ''}${suffix}`;
    if (!taken.has(s)) return s;
  }
}

export interface GenerateDkimOptions {
  domain: string;
  selector?: string | null;
  /** Also an Ed25519 key (selector + "-ed"), signed with as a second signature. */
  ed25519?: boolean;
  /** The key signs this tenant's mail only; otherwise the deployment's (any mail from the domain). */
  forTenant: boolean;
}

/** Generates the domain's key (and its Ed25519 companion), sealed; returns what to publish. */
export async function generateDkimKeys(s: TenantScope, o: GenerateDkimOptions): Promise<DkimKeyView[]> {
  const domain = checkDkimDomain(o.domain);
  const given = o.selector ? checkDkimSelector(o.selector) : null;
  const owner = o.forTenant ? s.tenant.id : null;
  return s.db.kysely.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('dkim_keys').selectAll().where('domain', '=', domain).execute();
    if (existing.some((k) => k.tenant_id !== owner)) {
      throw new AppError('DKIM_DOMAIN_TAKEN', `The DKIM keys of ${domain} belong to ${existing[0]!.tenant_id ? 'another tenant' : 'the deployment'}; a domain's keys have one owner.`, { field: 'Domain' });
    }
    const taken = new Set(existing.map((k) => k.selector));
    const wanted: [DkimAlgorithm, string][] = [['rsa', given ?? defaultSelector(s.now(), taken, '')]];
    if (o.ed25519) wanted.push(['ed25519', checkDkimSelector(`${wanted[0]![1]}-ed`, 'Selector')]);
    const rows: DkimKeysTable[] = [];
    for (const [algorithm, selector] of wanted) {
      if (taken.has(selector)) throw new AppError('DKIM_KEY_EXISTS', `${domain} already has a key with the selector ${selector}.`, { field: 'Selector' });
      const same = existing.filter((k) => k.algorithm === algorithm);
      if (same.length >= MAX_PER_ALGORITHM) {
        throw new AppError('DKIM_TOO_MANY_KEYS', `${domain} already has ${same.length} ${algorithm} keys (${same.map((k) => k.selector).join(', ')}): remove the one no longer published first (\`dialin dkim remove --domain ${domain} --selector …\`).`, { field: 'Domain' });
      }
      const key = newDkimKey(algorithm);
      rows.push({
        id: s.newId(),
        tenant_id: owner,
        domain,
        selector,
        algorithm,
        private_key_sealed: s.keys.seal(key.privateKeyPem),
        key_version: s.keys.current,
        public_key: key.publicKey,
        // The first key of its algorithm signs at once; a second waits until its record is published.
        active: same.some((k) => k.active) ? 0 : 1,
        created_at: s.now(),
        created_by: s.actor,
      });
    }
    await trx.insertInto('dkim_keys').values(rows).execute();
    for (const r of rows) await audit(trx, s, 'dkim.generate', { label: `${r.selector}._domainkey.${domain}` }, { algorithm: r.algorithm, state: r.active ? 'active' : 'standby', owner: owner ? 'tenant' : 'deployment' });
    return rows.map((r) => dkimKeyView({ ...r, tenant_name: owner ? s.tenant.name : null }));
  });
}

/** The keys this tenant may see: its own and the deployment's. */
export async function listDkimKeys(s: TenantScope, o: { domain?: string | null } = {}): Promise<DkimKeyView[]> {
  let q = keysOf(s.db.kysely).where((eb) => eb.or([eb('dkim_keys.tenant_id', 'is', null), eb('dkim_keys.tenant_id', '=', s.tenant.id)]));
  if (o.domain) q = q.where('dkim_keys.domain', '=', checkDkimDomain(o.domain));
  return (await q.orderBy('dkim_keys.domain').orderBy('dkim_keys.created_at').execute()).map(dkimKeyView);
}

async function findKey(trx: Trx, s: TenantScope, domain: string, selector: string): Promise<Row> {
  const d = checkDkimDomain(domain);
  const sel = checkDkimSelector(selector);
  const r = await keysOf(trx).where('dkim_keys.domain', '=', d).where('dkim_keys.selector', '=', sel).executeTakeFirst();
  if (!r || (r.tenant_id !== null && r.tenant_id !== s.tenant.id)) throw new AppError('DKIM_KEY_NOT_FOUND', `No DKIM key ${sel}._domainkey.${d}${r ? ' for this tenant' : ''}; \`dialin dkim list\` shows them.`, { field: 'Selector' });
  return r;
}

export async function showDkimKey(s: TenantScope, domain: string, selector: string): Promise<DkimKeyView> {
  return dkimKeyView(await findKey(s.db.kysely, s, domain, selector));
}

/** Makes a standby key the one that signs (after its record is published); the other becomes standby. */
export async function activateDkimKey(s: TenantScope, domain: string, selector: string): Promise<DkimKeyView> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const k = await findKey(trx, s, domain, selector);
    await trx.updateTable('dkim_keys').set({ active: 0 }).where('domain', '=', k.domain).where('algorithm', '=', k.algorithm).execute();
    await trx.updateTable('dkim_keys').set({ active: 1 }).where('id', '=', k.id).execute();
    await audit(trx, s, 'dkim.activate', { label: `${k.selector}._domainkey.${k.domain}` }, { algorithm: k.algorithm });
    return dkimKeyView({ ...k, active: 1 });
  });
}

/** Removes a key; when it was the signing one, the standby key of its algorithm signs from now on. */
export async function removeDkimKey(s: TenantScope, domain: string, selector: string): Promise<{ removed: DkimKeyView; nowSigning: DkimKeyView | null }> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const k = await findKey(trx, s, domain, selector);
    await trx.deleteFrom('dkim_keys').where('id', '=', k.id).execute();
    let next: Row | undefined;
    if (k.active) {
      next = await keysOf(trx).where('dkim_keys.domain', '=', k.domain).where('dkim_keys.algorithm', '=', k.algorithm).orderBy('dkim_keys.created_at', 'desc').executeTakeFirst();
      if (next) await trx.updateTable('dkim_keys').set({ active: 1 }).where('id', '=', next.id).execute();
    }
    await audit(trx, s, 'dkim.remove', { label: `${k.selector}._domainkey.${k.domain}` }, { algorithm: k.algorithm, ...(next ? { nowSigning: next.selector } : {}) });
    return { removed: dkimKeyView(k), nowSigning: next ? dkimKeyView({ ...next, active: 1 }) : null };
  });
}

/** A signing key as the worker holds it, with whose mail it may sign. */
export interface SigningKeyOf extends DkimSigningKey {
  id: string;
  tenantId: string | null;
}

/** A key whose seal does not open with this deployment's master key (the doctor reports it). */
export interface BrokenKey {
  domain: string;
  selector: string;
  error: string;
}

/**
 * The active keys that may sign mail of these tenants, opened. Opened keys are remembered by id in
 * `cache` (a key never changes once made); a key that does not open is reported and skipped, so
 * the mail goes out unsigned instead of failing.
 */
export async function loadSigningKeys(trx: Trx, keys: Keys, tenantIds: string[], cache: Map<string, SigningKeyOf | BrokenKey>): Promise<{ byTenant: Map<string, SigningKeyOf[]>; broken: BrokenKey[] }> {
  const rows = await trx
    .selectFrom('dkim_keys')
    .selectAll()
    .where('active', '=', 1)
    .where((eb) => eb.or([eb('tenant_id', 'is', null), ...(tenantIds.length ? [eb('tenant_id', 'in', tenantIds)] : [])]))
    .execute();
  const opened: SigningKeyOf[] = [];
  const broken: BrokenKey[] = [];
  for (const r of rows) {
    let k = cache.get(r.id);
    if (!k) {
      try {
        k = { id: r.id, tenantId: r.tenant_id, domain: r.domain, selector: r.selector, algorithm: r.algorithm as DkimAlgorithm, privateKeyPem: keys.open(r.private_key_sealed) };
      } catch (e) {
        k = { domain: r.domain, selector: r.selector, error: `its private key does not open with this deployment's key (${(e as Error).message})` };
        broken.push(k);
      }
      cache.set(r.id, k);
    }
    if ('privateKeyPem' in k) opened.push(k);
  }
  const byTenant = new Map(tenantIds.map((t) => [t, opened.filter((k) => k.tenantId === null || k.tenantId === t)]));
  return { byTenant, broken };
}

/** The keys that sign a mail of this tenant from this domain: the tenant's own, else the deployment's. */
export function keysForDomain(keys: SigningKeyOf[], tenantId: string, domain: string): DkimSigningKey[] {
  const own = keys.filter((k) => k.domain === domain && k.tenantId === tenantId);
  const chosen = own.length ? own : keys.filter((k) => k.domain === domain && k.tenantId === null);
  return chosen.map(({ domain: d, selector, algorithm, privateKeyPem }) => ({ domain: d, selector, algorithm, privateKeyPem }));
}
