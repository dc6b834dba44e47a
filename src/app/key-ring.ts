import { sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import type { Db } from '../adapters/db/database.ts';
import type { Database, UsersTable } from '../adapters/db/schema.ts';
import type { Kysely } from 'kysely';
import type { AppContext, TenantScope } from './context.ts';
import { audit } from './audit.ts';
import { ensureDefaultTenant, scopeOf } from './tenants.ts';
import { nextPin, storePin } from './pins.ts';
import { readSettings } from './tenant-settings.ts';
import { bridgeNameOf, mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';

/**
 * The key ring as the database sees it (issue 17): which key versions it was written with
 * (`key_versions`, each with its key's public fingerprint), how many PIN hashes and sealed
 * secrets use each, re-sealing secrets under the current version in batches, retiring a version,
 * and the processes that hold a ring (`key_holders`, renewed as a heartbeat). No key and no secret
 * is ever returned or logged: only versions, fingerprints and counts.
 */

/** A holder not seen for this long is taken for gone. */
export const HOLDER_STALE_MS = 60_000;
/** How often serve and worker renew their holder row and look at the key file again. */
export const HOLDER_HEARTBEAT_MS = 15_000;

/**
 * Checked when a process starts: every version the database uses (not retired) must be in this
 * process's ring with the same key, and the ring's current version must not be retired. A version
 * of the ring the database does not know yet is recorded (the first start, or a ring made before
 * the database). Refuses with KEY_VERSION_MISSING and why.
 */
export async function checkRing(db: Db, keys: Keys, now: number): Promise<void> {
  const known = await db.kysely.selectFrom('key_versions').selectAll().execute();
  const byVersion = new Map(known.map((k) => [k.version, k]));
  const fresh = keys.versions().filter((v) => !byVersion.has(v)).map((v) => ({ version: v, fingerprint: keys.fingerprint(v), created_at: now, retired_at: null }));
  if (fresh.length) {
    await db.kysely.insertInto('key_versions').values(fresh).onConflict((oc) => oc.column('version').doNothing()).execute();
    for (const k of await db.kysely.selectFrom('key_versions').selectAll().where('version', 'in', fresh.map((f) => f.version)).execute()) byVersion.set(k.version, k);
  }
  const held = new Set(keys.versions());
  for (const k of [...byVersion.values()].sort((a, b) => a.version - b.version)) {
    if (k.retired_at !== null) {
      if (k.version === keys.current) throw new AppError('KEY_VERSION_MISSING', `The current key version ${k.version} of ${keys.source} was retired in this database: this process has an old key ring. Give it the ring the other processes have.`);
      continue;
    }
    if (!held.has(k.version)) {
      throw new AppError('KEY_VERSION_MISSING', `The key ring of ${keys.source} has no version ${k.version}, which this database uses (its versions: ${keys.versions().join(', ')}): PINs and secrets made with it could not be checked or opened. Give this process the ring the other processes have (the key file, or DIALIN_PIN_KEY and DIALIN_PIN_KEYS_FILE).`);
    }
    if (keys.fingerprint(k.version) !== k.fingerprint) {
      throw new AppError('KEY_VERSION_MISSING', `Key version ${k.version} of ${keys.source} is not the key this database was written with (fingerprints differ): restore the key ring of this deployment.`);
    }
  }
}

export interface KeyVersionStatus {
  Version: number;
  Current: boolean;
  /** Retired (no longer needed) or in use. */
  State: 'current' | 'active' | 'retired';
  Fingerprint: string;
  CreatedAt: string;
  /** PIN hashes of users made with this version. */
  PinHashes: number;
  /** PIN history entries (kept to refuse a reused PIN). */
  PinHistory: number;
  /** Sealed secrets: outbox PINs and relay passwords, LDAP bind passwords, DKIM private keys, OIDC client secrets. */
  SealedSecrets: number;
}

interface Counts {
  pins: Map<number, number>;
  history: Map<number, number>;
  secrets: Map<number, number>;
}

const hasRelayPassword = sql<boolean>`payload like '%"passwordSealed"%'`;

async function counts(db: Kysely<Database>): Promise<Counts> {
  const group = async (q: Promise<{ v: number; n: unknown }[]>, into: Map<number, number>) => {
    for (const r of await q) into.set(Number(r.v), (into.get(Number(r.v)) ?? 0) + Number(r.n));
  };
  const c: Counts = { pins: new Map(), history: new Map(), secrets: new Map() };
  await group(db.selectFrom('users').select((eb) => ['pin_key_version as v', eb.fn.countAll().as('n')]).where('pin_hash', 'is not', null).groupBy('pin_key_version').execute(), c.pins);
  await group(db.selectFrom('pin_history').select((eb) => ['pin_key_version as v', eb.fn.countAll().as('n')]).groupBy('pin_key_version').execute(), c.history);
  await group(db.selectFrom('outbox').select((eb) => ['key_version as v', eb.fn.countAll().as('n')]).where((eb) => eb.or([eb('pin_enc', 'is not', null), eb(hasRelayPassword, '=', sql<boolean>`true`)])).groupBy('key_version').execute(), c.secrets);
  await group(db.selectFrom('directory_connections').select((eb) => ['key_version as v', eb.fn.countAll().as('n')]).where('bind_password_sealed', 'is not', null).groupBy('key_version').execute(), c.secrets);
  await group(db.selectFrom('dkim_keys').select((eb) => ['key_version as v', eb.fn.countAll().as('n')]).groupBy('key_version').execute(), c.secrets);
  await group(db.selectFrom('sso_providers').select((eb) => ['key_version as v', eb.fn.countAll().as('n')]).groupBy('key_version').execute(), c.secrets);
  return c;
}

/** `dialin key status`: per version, how many PIN hashes and sealed secrets still use it. */
export async function keyStatus(db: Db, keys: Keys): Promise<KeyVersionStatus[]> {
  const c = await counts(db.kysely);
  const rows = await db.kysely.selectFrom('key_versions').selectAll().orderBy('version').execute();
  return rows.map((r) => ({
    Version: r.version,
    Current: r.version === keys.current,
    State: r.version === keys.current ? 'current' : r.retired_at !== null ? 'retired' : 'active',
    Fingerprint: r.fingerprint,
    CreatedAt: new Date(Number(r.created_at)).toISOString(),
    PinHashes: c.pins.get(r.version) ?? 0,
    PinHistory: c.history.get(r.version) ?? 0,
    SealedSecrets: c.secrets.get(r.version) ?? 0,
  }));
}

/** Records a new version (made by `dialin key rotate`) with its fingerprint, and audits it. */
export async function recordRotation(ctx: AppContext, keys: Keys): Promise<void> {
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await ctx.db.kysely.transaction().execute(async (trx) => {
    for (const v of keys.versions()) {
      await trx.insertInto('key_versions').values({ version: v, fingerprint: keys.fingerprint(v), created_at: ctx.now(), retired_at: null }).onConflict((oc) => oc.column('version').doNothing()).execute();
    }
    await audit(trx, s, 'key.rotate', {}, { current: keys.current, fingerprint: keys.fingerprint(keys.current) });
  });
}

/** The live processes that do not hold `version` (the re-seal waits for them: they could not open it). */
export async function holdersLacking(db: Db, version: number, now: number): Promise<{ role: string; host: string; pid: number }[]> {
  const rows = await db.kysely.selectFrom('key_holders').selectAll().where('seen_at', '>', now - HOLDER_STALE_MS).execute();
  return rows.filter((r) => !r.versions.split(',').map(Number).includes(version)).map((r) => ({ role: r.role, host: r.host, pid: r.pid }));
}

export interface ResealProgress {
  resealed: number;
  /** True when nothing sealed under another version was left when the batch ran. */
  done: boolean;
}

/** A table with sealed values: its id, the columns read, how a row is re-sealed, and the update's guard. */
interface SealedTable {
  table: 'outbox' | 'directory_connections' | 'dkim_keys' | 'sso_providers';
  /** Text columns read and written; the update applies only when they are still what was read. */
  columns: string[];
  /** Only rows with something sealed. */
  filter: ReturnType<typeof sql>;
  reseal(keys: Keys, row: Record<string, string | null>): Record<string, string | null>;
}

const resealValue = (keys: Keys, v: string | null) => (v === null ? null : keys.seal(keys.open(v)));

const HAS_RELAY_PASSWORD = sql`payload like '%"passwordSealed"%'`;

const TABLES: SealedTable[] = [
  // Nearly every outbox row holds only a sealed PIN: re-sealed without reading or sending its
  // payload back (kilobytes a row, twice over in the guarded update).
  { table: 'outbox', columns: ['pin_enc'], filter: sql`pin_enc is not null and not ${HAS_RELAY_PASSWORD}`, reseal: (keys, r) => ({ pin_enc: resealValue(keys, r.pin_enc ?? null) }) },
  {
    table: 'outbox',
    columns: ['pin_enc', 'payload'],
    filter: HAS_RELAY_PASSWORD,
    reseal(keys, r) {
      let payload = r.payload ?? null;
      const p = JSON.parse(payload!) as { options?: { relay?: { passwordSealed?: string } } };
      if (p.options?.relay?.passwordSealed) {
        p.options.relay.passwordSealed = resealValue(keys, p.options.relay.passwordSealed)!;
        payload = JSON.stringify(p);
      }
      return { pin_enc: resealValue(keys, r.pin_enc ?? null), payload };
    },
  },
  { table: 'directory_connections', columns: ['bind_password_sealed'], filter: sql`bind_password_sealed is not null`, reseal: (keys, r) => ({ bind_password_sealed: resealValue(keys, r.bind_password_sealed ?? null) }) },
  { table: 'dkim_keys', columns: ['private_key_sealed'], filter: sql`1 = 1`, reseal: (keys, r) => ({ private_key_sealed: resealValue(keys, r.private_key_sealed ?? null) }) },
  { table: 'sso_providers', columns: ['client_secret_sealed'], filter: sql`1 = 1`, reseal: (keys, r) => ({ client_secret_sealed: resealValue(keys, r.client_secret_sealed ?? null) }) },
];

/** Where a re-seal run is: the table and the last id done (resumable; a new run starts from the top). */
export interface ResealCursor {
  table: number;
  after: string;
}

/**
 * One batch of re-sealing: up to `batch` rows whose secrets were sealed under another version
 * than the current one are opened and sealed again under it, in one statement, each row only if
 * it is still as it was read (a worker that wiped a sent PIN meanwhile keeps it wiped). Walks each
 * table by id from `cursor`, so a run over a million rows reads each once.
 */
export async function resealBatch(db: Db, keys: Keys, cursor: ResealCursor, batch = 2000): Promise<ResealProgress & { cursor: ResealCursor }> {
  const current = keys.current;
  let { table, after } = cursor;
  while (table < TABLES.length) {
    const t = TABLES[table]!;
    const rows = (await sql<Record<string, string | null>>`select id, ${sql.join(t.columns.map((c) => sql.ref(c)))} from ${sql.table(t.table)} where key_version <> ${current} and id > ${after} and ${t.filter} order by id limit ${batch}`.execute(db.kysely)).rows;
    if (!rows.length) {
      table++;
      after = '';
      continue;
    }
    const values = rows.map((r) => {
      const next = t.reseal(keys, r);
      return sql`(${sql.join([r.id, ...t.columns.flatMap((c) => [r[c] ?? '', next[c] ?? ''])])})`;
    });
    const names = ['id', ...t.columns.flatMap((c) => [`old_${c}`, `new_${c}`])];
    const sets = sql.join([...t.columns.map((c) => sql`${sql.ref(c)} = nullif(v.${sql.ref(`new_${c}`)}, '')`), sql`key_version = ${current}`]);
    const guard = sql.join(t.columns.map((c) => sql`coalesce(${sql.ref(`${t.table}.${c}`)}, '') = v.${sql.ref(`old_${c}`)}`), sql` and `);
    const r = await sql`with v(${sql.join(names.map((n) => sql.ref(n)))}) as (values ${sql.join(values)}) update ${sql.table(t.table)} set ${sets} from v where ${sql.ref(`${t.table}.id`)} = v.id and ${guard}`.execute(db.kysely);
    return { resealed: Number(r.numAffectedRows ?? 0), done: false, cursor: { table, after: rows[rows.length - 1]!.id! } };
  }
  return { resealed: 0, done: true, cursor: { table, after } };
}

/** Re-seals everything under the current version, batch after batch (until `stop` says so); resumable by running it again. */
export async function resealAll(db: Db, keys: Keys, opts: { batch?: number; onBatch?: (total: number) => void | Promise<void>; stop?: () => boolean } = {}): Promise<number> {
  let cursor: ResealCursor = { table: 0, after: '' };
  let total = 0;
  while (!opts.stop?.()) {
    const r = await resealBatch(db, keys, cursor, opts.batch);
    if (r.done) return total;
    total += r.resealed;
    cursor = r.cursor;
    await opts.onBatch?.(total);
  }
  return total;
}

export interface RetireResult {
  Version: number;
  PinsReset: number;
  HistoryDropped: number;
}

/** What still needs a version: PIN hashes and sealed secrets (PIN history does not hold a retirement up). */
export async function usesOf(db: Db, version: number): Promise<{ pins: number; secrets: number; history: number }> {
  const c = await counts(db.kysely);
  return { pins: c.pins.get(version) ?? 0, secrets: c.secrets.get(version) ?? 0, history: c.history.get(version) ?? 0 };
}

/**
 * Retires a version: refused while a sealed secret needs it (re-seal first) or a PIN hash does,
 * unless `forcePinReset`, which gives each of those users a new PIN through pin-writes and mails
 * it as an administrator's reset does (Set-CsDialInConferencingUser -ResetLeaderPin). PIN history
 * entries of the version are dropped (they could not be compared any more). The caller removes
 * the version from the key file afterwards.
 */
export async function retireVersion(ctx: AppContext, keys: Keys, version: number, opts: { forcePinReset: boolean }): Promise<RetireResult> {
  const row = await ctx.db.kysely.selectFrom('key_versions').selectAll().where('version', '=', version).executeTakeFirst();
  if (!row || row.retired_at !== null) throw new AppError('KEY_VERSION_UNKNOWN', `There is no key version ${version} in use in this database (see \`dialin key status\`).`, { field: 'version' });
  if (version === keys.current) throw new AppError('KEY_VERSION_UNKNOWN', `Version ${version} is the current key version: rotate first (\`dialin key rotate\`), then retire it.`, { field: 'version' });
  const use = await usesOf(ctx.db, version);
  if (use.secrets) throw new AppError('KEY_VERSION_IN_USE', `Key version ${version} still seals ${use.secrets} secret(s): run \`dialin key reseal\` (or let serve or worker finish re-sealing), then retire it.`, { field: 'version' });
  if (use.pins && !opts.forcePinReset) throw new AppError('KEY_VERSION_IN_USE', `Key version ${version} still hashes ${use.pins} PIN(s), which move to the current version only when they are used at the bridge or changed. Wait, or pass --force-pin-reset to give those users new PINs (mailed to them).`, { field: 'version' });
  let reset = 0;
  if (use.pins) reset = await resetPinsOf(ctx, version);
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  let dropped = 0;
  await ctx.db.kysely.transaction().execute(async (trx) => {
    // A PIN of the version written meanwhile would stop working: check again inside the transaction.
    const left = await trx.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('pin_hash', 'is not', null).where('pin_key_version', '=', version).executeTakeFirstOrThrow();
    if (Number(left.n)) throw new AppError('KEY_VERSION_IN_USE', `Key version ${version} still hashes ${Number(left.n)} PIN(s) (written while retiring); run the command again.`, { field: 'version' });
    dropped = Number((await trx.deleteFrom('pin_history').where('pin_key_version', '=', version).executeTakeFirst()).numDeletedRows ?? 0);
    await trx.updateTable('key_versions').set({ retired_at: ctx.now() }).where('version', '=', version).execute();
    await audit(trx, s, 'key.retire', {}, { version, pinsReset: reset, historyDropped: dropped });
  });
  return { Version: version, PinsReset: reset, HistoryDropped: dropped };
}

/** New PINs for every user whose PIN hash uses `version`, each mailed as an administrator's reset (one transaction per user). */
async function resetPinsOf(ctx: AppContext, version: number): Promise<number> {
  let n = 0;
  let after = '';
  for (;;) {
    const users = await ctx.db.kysely.selectFrom('users').selectAll().where('pin_hash', 'is not', null).where('pin_key_version', '=', version).where('id', '>', after).orderBy('id').limit(500).execute();
    if (!users.length) break;
    after = users[users.length - 1]!.id;
    const tenants = new Map<string, TenantScope>();
    for (const u of users) {
      let s = tenants.get(u.tenant_id);
      if (!s) {
        const t = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', u.tenant_id).executeTakeFirstOrThrow();
        s = scopeOf({ ...ctx, actor: ctx.actor }, t);
        tenants.set(u.tenant_id, s);
      }
      if (await resetOnePin(s, u.id, version)) n++;
    }
  }
  if (n) ctx.onMailQueued?.();
  return n;
}

async function resetOnePin(s: TenantScope, userId: string, version: number): Promise<boolean> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const user = (await trx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst()) as UsersTable | undefined;
    if (!user || user.pin_hash === null || user.pin_key_version !== version) return false;
    const settings = await readSettings(trx, s.tenant.id);
    const p = await nextPin(trx, s, user, null, { checkHistory: false, pinLength: settings.PinLength });
    await storePin(trx, s, user, p.hash, `the PIN was reset when key version ${version} was retired before this mail went out`);
    if (user.dialin_enabled === 1) {
      const data = mailData(user, await bridgeNameOf(trx, user.bridge_id), await numberCities(trx, s.tenant.id));
      const row = mailRow(s, settings, { kind: 'pin_changed', user, data, pin: p.pin });
      if (row) await insertMailRows(trx, [row]);
    }
    await audit(trx, s, 'user.set', { userId: user.id, label: user.sip }, { LeaderPin: 'reset', reason: `key version ${version} retired` });
    return true;
  });
}

/** This process's row in `key_holders`: written at start, renewed by `beat`, removed by `stop`. */
export function keyHolder(db: Db, keys: Keys, o: { id: string; role: string; host: string; pid: number; now: () => number }) {
  const row = () => ({ ring_fingerprint: keys.ringFingerprint(), current_version: keys.current, versions: keys.versions().join(','), seen_at: o.now() });
  return {
    async beat(): Promise<void> {
      keys.reload();
      await db.kysely
        .insertInto('key_holders')
        .values({ id: o.id, role: o.role, host: o.host, pid: o.pid, ...row() })
        .onConflict((oc) => oc.column('id').doUpdateSet(row()))
        .execute();
    },
    async stop(): Promise<void> {
      await db.kysely.deleteFrom('key_holders').where('id', '=', o.id).execute();
    },
  };
}

/** What `dialin doctor` says about the processes' rings: live holders whose ring differs from this one's (or lacks a version in use). */
export async function holderDisagreements(db: Db, keys: Keys | null, now: number): Promise<string[]> {
  const live = await db.kysely.selectFrom('key_holders').selectAll().where('seen_at', '>', now - HOLDER_STALE_MS).orderBy('role').execute();
  const inUse = (await db.kysely.selectFrom('key_versions').select('version').where('retired_at', 'is', null).execute()).map((r) => r.version);
  const out: string[] = [];
  const prints = new Set(live.map((h) => h.ring_fingerprint));
  if (keys) prints.add(keys.ringFingerprint());
  for (const h of live) {
    const versions = h.versions.split(',').map(Number);
    const lacking = inUse.filter((v) => !versions.includes(v));
    const who = `${h.role} (pid ${h.pid} on ${h.host})`;
    if (lacking.length) out.push(`${who} lacks key version(s) ${lacking.join(', ')}`);
    else if (prints.size > 1 && keys && h.ring_fingerprint !== keys.ringFingerprint()) out.push(`${who} has another key ring (current version ${h.current_version}, versions ${h.versions}; this one: current ${keys.current}, versions ${keys.versions().join(',')})`);
  }
  if (!keys && prints.size > 1) out.push(`the running processes hold ${prints.size} different key rings`);
  return out;
}
