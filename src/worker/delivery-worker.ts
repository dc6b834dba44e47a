import os from 'node:os';
import path from 'node:path';
import { parseMailbox } from '../core/sender.ts';
import type { Config } from '../config/config.ts';
import type { AppContext } from '../app/context.ts';
import type { MailPayload } from '../app/mail-queue.ts';
import { loadTemplateOverrides } from '../app/templates.ts';
import { readSettings } from '../app/tenant-settings.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import { createMailDrop } from '../adapters/smtp/mail-drop.ts';
import { parseRelayUrl, type RelaySpec } from '../adapters/smtp/relay-url.ts';
import { createSmtpRelay } from '../adapters/smtp/smtp-relay.ts';
import { readCaFile } from '../adapters/smtp/ca-file.ts';
import { heloName } from '../adapters/smtp/helo-name.ts';
import type { Relay } from '../adapters/smtp/relay.ts';
import { attemptDelivery, type AttemptDeps } from './attempt.ts';
import { createComposer } from './compose-pool.ts';
import { gateRelay, type GatedRelay } from './send-gate.ts';
import { RelayBreaker } from './relay-breaker.ts';
import type { TenantMail } from './mail-job.ts';
import { loadSigningKeys, type BrokenKey, type SigningKeyOf } from '../app/dkim.ts';
import { loadLocalNumberTokens } from '../app/local-numbers.ts';
import { OutboxStore, type Outcome } from './outbox-store.ts';
import { listenForOutbox } from './outbox-listener.ts';
import { createPinCheck } from './pin-check.ts';
import { OutcomeWriter, Signal } from './outcome-writer.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { deliveryConnection, releaseDeliveryConnection } from './delivery-connection.ts';

/** pino-compatible logging: an object of facts (never a PIN, password or body) and a message. */
export interface WorkerLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Counts since the worker started. */
export interface DeliveryStats {
  sent: number;
  retried: number;
  failed: number;
  expired: number;
  paused: number;
  /** Failures after which the relay may have had the message (a retry may duplicate it). */
  uncertain: number;
  /** Outcomes ignored because another worker had taken the message over. */
  stale: number;
  /** Not sent: the PIN they carried was no longer the user's. */
  superseded: number;
  inFlight: number;
}

export interface DeliveryWorker {
  /** Look for mail now (called after this process commits outbox rows). */
  wake(): void;
  /** Stops claiming, finishes what is in flight, records it, closes connections. */
  stop(): Promise<void>;
  stats(): DeliveryStats;
}

/**
 * How many messages a worker holds at once (claimed, not yet recorded): 16 per SMTP connection.
 * Enough to keep the connections and the compose thread busy while earlier messages wait for
 * their outcome's commit (8 left them idle a quarter of the time: 1,450 against 1,800 mails/s
 * here), and to amortise claims and commits; also the most a crash can deliver twice.
 */
export function inFlightLimit(connections: number): number {
  return connections * 16;
}

/**
 * The CPU time a render may use before its thread is stopped (a render takes about a millisecond;
 * the template engine's own limit is 100 ms). A render that waits three times as long on the wall
 * clock without getting it (a saturated machine) goes back to the queue, not counted as an attempt.
 */
const COMPOSE_CPU_BUDGET_MS = 5_000;
/** The longest `stop` waits for messages in flight. */
const STOP_GRACE_MS = 30_000;

/** The relay of DIALIN_SMTP_URL, or the local mail drop when there is none. */
function deploymentRelay(config: Readonly<Config>, ca: string | null): Relay {
  const tuning = { connections: config.delivery.concurrency, replyTimeoutMs: config.delivery.replyTimeoutMs, heloName: heloName(config.smtpHeloName) };
  return config.smtpUrl ? createSmtpRelay(parseRelayUrl(config.smtpUrl, ca), tuning) : createMailDrop(path.join(config.dataDir, 'maildrop'));
}


/**
 * The delivery worker (`dialin worker`, and inside `dialin serve`): claims due outbox rows with a
 * lease, composes them (in threads), sends them through the pooled relay and records each outcome.
 * It wakes on `wake()`, on PostgreSQL NOTIFY, and polls every DIALIN_MAIL_POLL_MS for mail
 * written by other processes, retries that come due and leases that run out.
 */
export async function startDeliveryWorker({ ctx, config, log }: { ctx: AppContext; config: Readonly<Config>; log: WorkerLog }): Promise<DeliveryWorker> {
  const d = config.delivery;
  const ca = readCaFile(config.smtpCaFile);
  const relay = gateRelay(deploymentRelay(config, ca), d.concurrency);
  const defaultFrom = parseMailbox(config.mailFrom);
  // Its own connection on SQLite also keeps `dialin serve`'s API off the worker's queue.
  const db = await deliveryConnection(ctx.db, config);
  const store = new OutboxStore(db);
  const workerId = `${os.hostname()}/${process.pid}/${ctx.newId().slice(-8)}`;
  const lifted = await store.liftPauses();
  log.info({ relay: relay.description, worker: workerId }, config.smtpUrl ? `Delivering mail through ${relay.description}.` : `DIALIN_SMTP_URL is not set: mail goes to ${relay.description}.`);
  if (lifted) log.info({ tenants: lifted }, 'Paused deliveries resume: the worker started with the current relay settings.');

  const deps: AttemptDeps = {
    env: { defaultFrom, settingsUrl: ctx.settingsUrl, keys: ctx.keys, bounceDomain: config.bounces.domain },
    composer: createComposer(d.composeThreads, COMPOSE_CPU_BUDGET_MS),
    pinCheck: createPinCheck(db.kysely, ctx.keys),
    retry: { baseMs: d.retryBaseMs, maxMs: d.retryMaxMs },
    now: ctx.now,
    random: Math.random,
  };
  const stats: DeliveryStats = { sent: 0, retried: 0, failed: 0, expired: 0, paused: 0, uncertain: 0, stale: 0, superseded: 0, inFlight: 0 };
  const pausedTenants = new Set<string>();
  const ownRelays = new Map<string, GatedRelay>();
  const signal = new Signal();
  const maxInFlight = inFlightLimit(d.concurrency);
  // Leases are renewed while a message is held, so a send may take longer than one lease.
  const deadlineMs = d.sendTimeoutMs;
  const inFlight = new Map<string, { owner: string; done: Promise<void> }>();
  // Checks of an unreachable relay: every few seconds at first, at most every minute.
  const breaker = new RelayBreaker({ threshold: 3, baseMs: Math.min(d.retryBaseMs, 5_000), maxMs: Math.min(d.retryMaxMs, 60_000) });
  let stopping = false;
  let whenStopping: () => void = () => {};
  const stopRequested = new Promise<void>((r) => (whenStopping = r));
  let claimSeq = 0;
  const leases = new LeaseKeeper(store, d.leaseMs, ctx.now, (e) => log.warn({ err: (e as Error).message }, 'Renewing the leases of messages being sent failed (is the database reachable?); trying again.'));

  const writer = new OutcomeWriter(
    store,
    (batch, stale) => {
      stats.stale += stale;
      for (const o of batch) countOutcome(o);
    },
    (e) => log.error({ err: (e as Error).message }, 'Recording delivery outcomes failed; trying again.'),
    maxInFlight / 2,
  );

  function countOutcome(o: Outcome): void {
    if (o.kind === 'sent') {
      stats.sent++;
      if (pausedTenants.delete(o.tenantId)) log.info({ tenant: o.tenantId }, 'Deliveries resume: the relay accepted a message.');
    } else if (o.kind === 'retry') stats.retried++;
    else if (o.kind === 'failed') stats.failed++;
    else if (o.kind === 'expired') stats.expired++;
    else if (o.kind === 'superseded') stats.superseded++;
    else {
      stats.paused++;
      if (!pausedTenants.has(o.tenantId)) {
        pausedTenants.add(o.tenantId);
        log.warn({ tenant: o.tenantId, reason: o.reason }, `Deliveries paused for the tenant: ${o.reason}. Nothing is failed; fix the relay settings and restart the worker, or wait for the next try.`);
      }
    }
    log.debug({ id: o.id, outcome: o.kind }, 'delivery outcome');
  }

  /** The relay for a row: the deployment's, or the one a command gave (Set-CsPinSendCAWelcomeMail). */
  function relayFor(row: OutboxTable): { relay: Relay; own: boolean } {
    const r = (JSON.parse(row.payload) as MailPayload).options?.relay;
    if (!r) return { relay, own: false };
    const key = JSON.stringify(r);
    let own = ownRelays.get(key);
    if (!own) {
      const spec: RelaySpec = { host: r.host, port: r.port, secure: r.secure, requireTLS: r.requireTLS, auth: r.user ? { user: r.user, pass: r.passwordSealed ? ctx.keys.open(r.passwordSealed) : '' } : null, ca };
      const connections = Math.min(4, d.concurrency);
      own = gateRelay(createSmtpRelay(spec, { connections, replyTimeoutMs: d.replyTimeoutMs, heloName: heloName(config.smtpHeloName) }), connections);
      ownRelays.set(key, own);
    }
    return { relay: own, own: true };
  }

  const dkimCache = new Map<string, SigningKeyOf | BrokenKey>();
  async function tenantsOf(rows: OutboxTable[]): Promise<Map<string, TenantMail>> {
    const ids = [...new Set(rows.map((r) => r.tenant_id))];
    const overrides = await loadTemplateOverrides(db.kysely, ids);
    const dkim = await loadSigningKeys(db.kysely, ctx.keys, ids, dkimCache);
    for (const b of dkim.broken) log.error({ domain: b.domain, selector: b.selector }, `The DKIM key ${b.selector}._domainkey.${b.domain} cannot be used: ${b.error}. Mail from ${b.domain} goes out unsigned until it is fixed (\`dialin doctor\`).`);
    const local = await loadLocalNumberTokens(db.kysely, ids);
    const out = new Map<string, TenantMail>();
    for (const id of ids) out.set(id, { settings: await readSettings(db.kysely, id), overrides: overrides.get(id)!, dkim: dkim.byTenant.get(id) ?? [], localNumbers: local.get(id)! });
    return out;
  }

  function start(row: OutboxTable, owner: string, tenant: TenantMail): void {
    const done = (async () => {
      const { relay: via, own } = relayFor(row);
      // The whole send timeout for the SMTP transaction itself (see send-gate.ts), however long it waited.
      const { outcome, uncertain, unreachable } = await attemptDelivery(row, owner, tenant, via, !own, deadlineMs, deps);
      if (!own) watchRelay(outcome, unreachable && 'error' in outcome ? outcome.error : null);
      if (uncertain) {
        stats.uncertain++;
        log.info({ id: row.id, messageId: row.message_id, err: 'error' in outcome ? outcome.error : null }, 'The attempt failed after the relay may have received the message; it will be sent again and may arrive twice.');
      }
      // The message stays in flight until its outcome is committed: a crash before that may
      // duplicate it, and at most `maxInFlight` messages are ever in that state.
      if (!stopping || inFlight.has(row.id)) await writer.record(outcome);
    })()
      .catch((e) => log.error({ id: row.id, err: (e as Error).message }, 'Delivery attempt crashed; the lease will run out and the message will be tried again.'))
      .finally(() => {
        leases.release(row.id, owner);
        inFlight.delete(row.id);
        stats.inFlight = inFlight.size;
        signal.notify();
      });
    inFlight.set(row.id, { owner, done });
    leases.hold(row.id, owner);
    stats.inFlight = inFlight.size;
  }

  /** Feeds the breaker: a message the relay accepted, or one it could not even be reached for. */
  function watchRelay(outcome: Outcome, unreachable: string | null): void {
    if (unreachable !== null) {
      if (!breaker.unreachable(Date.now())) return;
      log.warn({ relay: relay.description, err: unreachable }, `The relay cannot be reached (${unreachable}). No more mail is taken until it answers; it is checked every few seconds without sending anything.`);
      relay.turnAwayWaiting('the relay cannot be reached; the message waits in the queue until it answers');
    } else if (outcome.kind === 'sent') relayAnswered();
  }

  /** The relay took a message or passed a check: if the breaker was open, deliveries resume. */
  function relayAnswered(): void {
    const failedChecks = breaker.checks;
    if (breaker.reached()) log.info({ relay: relay.description, failedChecks }, 'The relay answers again; deliveries resume.');
  }

  /** While the breaker is open: wait for the next check, then connect to the relay (no message). */
  async function checkRelay(): Promise<void> {
    const wait = breaker.checkAt! - Date.now();
    if (wait > 0) return signal.wait(wait);
    try {
      const expired = await store.expireOverdue(ctx.now(), 'the relay could not be reached');
      if (expired) log.warn({ messages: expired }, 'Messages expired while the relay could not be reached (their lifetime is over).');
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'Expiring old messages failed (is the database reachable?); trying again at the next check.');
    }
    try {
      const checked = relay.check();
      checked.catch(() => {});
      await Promise.race([checked, stopRequested]);
      if (stopping) return;
      relayAnswered();
    } catch (e) {
      breaker.checkFailed(Date.now());
      log.debug({ err: (e as Error).message, next: new Date(breaker.checkAt!).toISOString() }, 'The relay still cannot be reached.');
    }
  }

  let nextReap = 0;
  const reapEveryMs = Math.min(1000, Math.max(100, Math.floor(d.leaseMs / 4)));

  async function loop(): Promise<void> {
    while (!stopping) {
      if (breaker.isOpen) {
        await checkRelay();
        continue;
      }
      const free = maxInFlight - inFlight.size;
      // Claim in batches (a claim is a commit, like an outcome): when half the window is free.
      if (free < Math.max(1, maxInFlight / 2)) {
        await signal.wait(d.pollMs);
        continue;
      }
      try {
        const now = ctx.now();
        if (Date.now() >= nextReap) {
          nextReap = Date.now() + reapEveryMs;
          const n = await store.reapExpiredLeases(now);
          if (n) log.warn({ messages: n }, 'Messages whose lease ran out are queued again (a worker stopped or hung while sending them).');
        }
        const owner = `${workerId}#${++claimSeq}`;
        const rows = await store.claim(owner, free, now, d.leaseMs);
        if (rows.length) {
          const tenants = await tenantsOf(rows);
          for (const r of rows) start(r, owner, tenants.get(r.tenant_id)!);
          continue;
        }
        const next = await store.nextEventAt(now);
        await signal.wait(Math.min(d.pollMs, next === null ? Infinity : next - now));
      } catch (e) {
        log.error({ err: (e as Error).message }, 'Claiming mail failed (is the database reachable?); trying again.');
        await signal.wait(1000);
      }
    }
  }

  const listener = ctx.db.dialect === 'postgres' && config.databaseUrl ? listenForOutbox(config.databaseUrl, () => signal.notify(), (e) => log.warn({ err: e.message }, 'Lost the PostgreSQL LISTEN connection; polling until it is back.')) : null;
  const summary = setInterval(() => {
    if (stats.sent + stats.failed + stats.retried + stats.expired + stats.paused) log.info({ ...stats }, 'delivery totals');
  }, 60_000);
  summary.unref();
  const running = loop();

  let stopped: Promise<void> | null = null;
  return {
    wake: () => signal.notify(),
    stats: () => ({ ...stats }),
    stop: () => (stopped ??= stop()),
  };

  async function stop(): Promise<void> {
    stopping = true;
    whenStopping();
    signal.notify();
    await running;
    // Messages not yet handed to the relay go back to the queue unsent; those being sent finish.
    for (const r of [relay, ...ownRelays.values()]) r.closeGate();
    const pending = [...inFlight.values()];
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending.map((p) => p.done)), new Promise((r) => (grace = setTimeout(r, Math.min(deadlineMs, STOP_GRACE_MS))))]);
    clearTimeout(grace);
    // Whatever is still out after the grace goes back to the queue (the relay may have it).
    const now = ctx.now();
    for (const [id, f] of inFlight) void writer.record({ id, owner: f.owner, kind: 'retry', runAt: now, error: 'the worker stopped during the attempt; the relay may have received it', reply: null });
    inFlight.clear();
    await writer.flush(10_000);
    await leases.close();
    clearInterval(summary);
    await listener?.close();
    await Promise.all([relay.close(), ...[...ownRelays.values()].map((r) => r.close()), deps.composer.close()]);
    await releaseDeliveryConnection(db, ctx.db);
    log.info({ ...stats }, 'Delivery worker stopped.');
  }
}
