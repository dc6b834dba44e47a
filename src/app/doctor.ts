import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import type { DeliverabilityCheck, DeliverabilityFinding } from './deliverability.ts';
import { holderDisagreements } from './key-ring.ts';

/** One finding of `dialin doctor`: what was checked, what was found and, for a problem, what to do. */
export interface Finding {
  check: 'database' | 'schema' | 'keys' | 'relay' | 'outbox' | 'directory' | DeliverabilityCheck;
  ok: boolean;
  /** Reported, not counted as a problem (could not be checked; or nothing goes to a real relay yet). */
  warning?: boolean;
  detail: string;
  /** What to do about it (problems only). */
  fix?: string;
}

/** The deployment's key as the doctor found it, without ever creating one. */
export type KeyState =
  | { state: 'loaded'; keys: Keys; source: string; looseMode?: string }
  | { state: 'missing'; source: string }
  | { state: 'invalid'; source: string; message: string };

/** How talking to the relay went: connect, STARTTLS, login (or writing to the local mail drop). */
export type RelayState = { ok: true; detail: string; tls?: boolean } | { ok: false; why: 'unreachable' | 'login' | 'tls' | 'settings' | 'maildrop'; reply: string };

export interface DoctorDeps {
  /** The database, opened but not migrated (the doctor changes nothing); null when its SQLite file does not exist. */
  db: Db | null;
  /** Where the database is (for messages). */
  location: string;
  /** The migrations this version of dialin knows, by name. */
  migrations: readonly string[];
  keys: KeyState;
  relay: { description: string; check(): Promise<RelayState> };
  /** DIALIN_LEASE_MS: a worker re-queues a message this long after its sender stopped. */
  leaseMs: number;
  now: number;
  /** The deliverability checks (deliverability.ts), given the data (when readable), the key and how the relay answered. */
  deliverability?: (o: { db: Db | null; keys: Keys | null; relay: RelayState }) => Promise<DeliverabilityFinding[]>;
  /** Only the deployment's own checks (database, schema, keys, relay): the dashboard's, which shows no other tenant's outbox or directories and must not read the whole outbox for them. */
  deploymentOnly?: boolean;
}

/** A queued message due for longer than this means no worker is delivering. */
export const OVERDUE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
/** How many sealed PINs the key is tried on. */
const SEALED_SAMPLE = 20;

const problem = (check: Finding['check'], detail: string, fix: string): Finding => ({ check, ok: false, detail, fix });
const fine = (check: Finding['check'], detail: string): Finding => ({ check, ok: true, detail });
const when = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * `dialin doctor`: checks the database, its schema, the key, the relay and the outbox, and says
 * what to fix. Reads only: it migrates nothing, creates no key, sends no mail.
 */
export async function runDoctor(d: DoctorDeps): Promise<Finding[]> {
  const findings: Finding[] = [];
  const tables = d.db ? await reachable(d.db) : new Error('the file does not exist');
  if (tables instanceof Error) {
    const fix = !d.db ? 'check DIALIN_DATA_DIR; `dialin migrate` creates the database' : d.db.dialect === 'postgres' ? 'check DATABASE_URL and that PostgreSQL runs and accepts connections from here' : 'check DIALIN_DATA_DIR and the permissions of its files';
    findings.push(problem('database', `cannot open ${d.location}: ${tables.message}`, fix));
  } else {
    findings.push(fine('database', `${d.db!.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} at ${d.location} answers`));
  }
  const schema = tables instanceof Error ? null : await checkSchema(d.db!, d.migrations, tables);
  if (schema) findings.push(schema.finding);
  // The checks that read data need the whole schema.
  const db = schema?.current ? d.db : null;
  findings.push(await checkKeys(d.keys, db, d.now));
  const relayState = await d.relay.check();
  findings.push(relayFinding(d.relay.description, relayState));
  if (db && !d.deploymentOnly) findings.push(await checkOutbox(db, d));
  if (db && !d.deploymentOnly) findings.push(...(await checkDirectories(db)));
  if (d.deliverability) findings.push(...(await d.deliverability({ db, keys: d.keys.state === 'loaded' ? d.keys.keys : null, relay: relayState })));
  return findings;
}

async function reachable(db: Db): Promise<Set<string> | Error> {
  try {
    const tables = await db.kysely.introspection.getTables({ withInternalKyselyTables: true });
    return new Set(tables.map((t) => t.name));
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

async function checkSchema(db: Db, migrations: readonly string[], tables: Set<string>): Promise<{ finding: Finding; current: boolean }> {
  if (!tables.has('dialin_migrations')) {
    return { finding: problem('schema', 'the database has no dialin schema yet', 'run `dialin migrate` (`dialin serve` and `dialin worker` also migrate when they start)'), current: false };
  }
  const applied = new Set((await sql<{ name: string }>`select name from dialin_migrations`.execute(db.kysely)).rows.map((r) => r.name));
  const pending = migrations.filter((m) => !applied.has(m));
  const unknown = [...applied].filter((m) => !migrations.includes(m));
  if (unknown.length) {
    return { finding: problem('schema', `the database was migrated by a newer dialin (${unknown.join(', ')} unknown to this one)`, 'run the same dialin version in every process of the deployment (upgrade this one)'), current: false };
  }
  if (pending.length) {
    return { finding: problem('schema', `${pending.length} migration(s) not applied: ${pending.join(', ')}`, 'run `dialin migrate` (the processes of a deployment may start together: the migration lock keeps them in order)'), current: false };
  }
  return { finding: fine('schema', `all ${migrations.length} migrations applied`), current: true };
}

/** Versions the database uses that this ring lacks or holds another key for, and running processes whose ring differs. */
async function ringFindings(db: Db, keys: Keys, now: number): Promise<string[]> {
  let versions: { version: number; fingerprint: string }[];
  try {
    versions = await db.kysely.selectFrom('key_versions').select(['version', 'fingerprint']).where('retired_at', 'is', null).execute();
  } catch {
    return []; // a schema before key rings (the schema check says so)
  }
  const out: string[] = [];
  const held = new Set(keys.versions());
  for (const v of versions) {
    if (!held.has(v.version)) out.push(`this ring (${keys.source}) lacks key version ${v.version}, which the database uses`);
    else if (keys.fingerprint(v.version) !== v.fingerprint) out.push(`key version ${v.version} of this ring (${keys.source}) is not the one the database was written with`);
  }
  return [...out, ...(await holderDisagreements(db, keys, now))];
}

/** The key loads and opens the PINs sealed in the outbox (when the data can be read: `db`). */
async function checkKeys(k: KeyState, db: Db | null, now: number): Promise<Finding> {
  const restore = 'restore the key of this deployment: the key file from its backup, or DIALIN_PIN_KEY as the other processes have it (every process needs the same key)';
  if (k.state === 'invalid') return problem('keys', k.message, restore);
  if (k.state === 'missing') {
    const hashes = db ? Number((await db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('pin_hash', 'is not', null).executeTakeFirstOrThrow()).n) : 0;
    if (hashes) return problem('keys', `no key (${k.source} does not exist and DIALIN_PIN_KEY is not set), but ${hashes} user(s) have a PIN made with one: none of them can be checked`, restore);
    return fine('keys', `no key yet: ${k.source} is created at the first start`);
  }
  if (k.looseMode) return problem('keys', `${k.source} can be read by other accounts (mode ${k.looseMode})`, `chmod 600 ${k.source}`);
  if (!db) return fine('keys', `key from ${k.source} loaded`);
  const sealed = await db.kysely.selectFrom('outbox').select('pin_enc').where('pin_enc', 'is not', null).orderBy('created_at', 'desc').limit(SEALED_SAMPLE).execute();
  const bad = sealed.filter((r) => {
    try {
      k.keys.openPin(r.pin_enc!);
      return false;
    } catch {
      return true;
    }
  }).length;
  if (bad) return problem('keys', `the key from ${k.source} cannot open ${bad} of the ${sealed.length} newest PINs waiting in the outbox: it is not the key they were sealed with`, restore);
  const ring = await ringFindings(db, k.keys, now);
  if (ring.length) return problem('keys', `the processes of this deployment do not agree on the key ring: ${ring.join('; ')}`, 'give every process the same key ring (the key file, or DIALIN_PIN_KEY and DIALIN_PIN_KEYS_FILE) and restart the ones named; `dialin key status` lists the versions in use');
  return fine('keys', `key from ${k.source}${sealed.length ? ` opens the PINs waiting in the outbox (${sealed.length} tried)` : ' loaded'}`);
}

const RELAY_FIX: Record<Exclude<RelayState, { ok: true }>['why'], string> = {
  unreachable: 'start the relay, or correct the host and port in DIALIN_SMTP_URL; check that this machine may connect to it',
  login: 'correct the user and password in DIALIN_SMTP_URL (percent-encode special characters)',
  tls: 'give the CA of a private relay in DIALIN_SMTP_CA_FILE, or use the relay name its certificate is issued for; a relay without STARTTLS cannot take a password',
  settings: 'correct DIALIN_SMTP_URL (smtp://[user:password@]host[:port][?requireTLS] or smtps://…) and DIALIN_SMTP_CA_FILE',
  maildrop: 'let the account dialin runs as write to DIALIN_DATA_DIR, or set DIALIN_SMTP_URL to a relay',
};

function relayFinding(description: string, r: RelayState): Finding {
  if (r.ok) return fine('relay', `${description}: ${r.detail}`);
  return problem('relay', `${description}: ${r.reply}`, RELAY_FIX[r.why]);
}

/** Mail that no worker sends (stuck past its lease, overdue) and tenants whose deliveries are paused. */
/** Each directory connection's last sync: a mass disable waiting for approval, or a failure, is a problem. */
async function checkDirectories(db: Db): Promise<Finding[]> {
  const conns = await db.kysely.selectFrom('directory_connections').innerJoin('tenants', 'tenants.id', 'directory_connections.tenant_id').select(['directory_connections.id', 'directory_connections.name', 'tenants.name as tenant']).orderBy('tenants.name').orderBy('directory_connections.name').execute();
  const out: Finding[] = [];
  for (const c of conns) {
    const label = `directory ${c.name} (tenant ${c.tenant})`;
    const last = await db.kysely.selectFrom('directory_sync_runs').selectAll().where('connection_id', '=', c.id).where('status', '!=', 'dry-run').orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    if (!last) out.push({ check: 'directory', ok: true, warning: true, detail: `${label}: never synced yet` });
    else if (last.status === 'held') {
      const k = JSON.parse(last.counts) as { disable?: number };
      out.push(problem('directory', `${label}: the sync of ${when(Number(last.started_at))} would disable ${k.disable ?? '?'} users, more than its limit; nothing was applied`, `check \`dialin directory sync ${c.name} --dry-run\`, then \`dialin directory sync ${c.name} --allow-mass-disable\``));
    } else if (last.status === 'failed') {
      out.push(problem('directory', `${label}: the sync of ${when(Number(last.started_at))} failed, nothing applied: ${last.error_code}: ${last.error}`, `fix the setting the error names (\`dialin directory test ${c.name}\` checks it without changing anything)`));
    } else out.push(fine('directory', `${label}: last synced ${when(Number(last.started_at))}`));
  }
  return out;
}

async function checkOutbox(db: Db, d: DoctorDeps): Promise<Finding> {
  const k = db.kysely;
  const counts = Object.fromEntries((await k.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute()).map((r) => [r.status, Number(r.n)]));
  const recentFailures = Number((await k.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['failed', 'expired']).where('created_at', '>=', d.now - DAY_MS).executeTakeFirstOrThrow()).n);
  const summary = `${counts.queued ?? 0} queued, ${counts.sending ?? 0} sending, ${counts.sent ?? 0} sent; ${recentFailures} failed or expired in the last 24 h${recentFailures ? ' (`dialin mail list --status failed`)' : ''}`;
  const pauses = await k.selectFrom('mail_pauses').innerJoin('tenants', 'tenants.id', 'mail_pauses.tenant_id').select(['tenants.name', 'mail_pauses.reason', 'mail_pauses.paused_at']).where('mail_pauses.retry_at', '>', d.now).execute();
  if (pauses.length) {
    const list = pauses.map((p) => `${p.name} since ${when(p.paused_at)}: ${p.reason}`).join('; ');
    return problem('outbox', `deliveries paused for ${pauses.length} tenant(s): ${list}. ${summary}`, 'fix the relay settings, then `dialin mail resume` (or restart the worker)');
  }
  const stuck = await k.selectFrom('outbox').select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('lease_until').as('since')]).where('status', '=', 'sending').where('lease_until', '<', d.now - d.leaseMs).executeTakeFirstOrThrow();
  if (Number(stuck.n)) {
    return problem('outbox', `${stuck.n} message(s) still marked sending although their lease ran out at ${when(Number(stuck.since))} or earlier: no worker is running to send them again. ${summary}`, 'start `dialin worker` (or `dialin serve` without --no-worker); it sends them again');
  }
  const overdue = await k
    .selectFrom('outbox')
    .select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('run_at').as('since')])
    .where('status', '=', 'queued')
    .where('run_at', '<', d.now - OVERDUE_MS)
    .executeTakeFirstOrThrow();
  if (Number(overdue.n)) {
    return problem('outbox', `${overdue.n} message(s) due for more than ${OVERDUE_MS / 60_000} minutes (the oldest since ${when(Number(overdue.since))}): no worker is delivering. ${summary}`, 'start `dialin worker` (or `dialin serve` without --no-worker); if one runs, read its log');
  }
  return fine('outbox', summary);
}
