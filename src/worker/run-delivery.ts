import { loadSigningKeys } from '../app/dkim.ts';
import { loadLocalNumberTokens } from '../app/local-numbers.ts';
import os from 'node:os';
import { parseMailbox } from '../core/sender.ts';
import type { Config } from '../config/config.ts';
import type { AppContext } from '../app/context.ts';
import { loadTemplateOverrides } from '../app/templates.ts';
import { readSettings } from '../app/tenant-settings.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import type { Relay } from '../adapters/smtp/relay.ts';
import { attemptDelivery, type AttemptDeps } from './attempt.ts';
import { inFlightLimit } from './delivery-worker.ts';
import { createComposer } from './compose-pool.ts';
import type { TenantMail } from './mail-job.ts';
import { OutboxStore, type Outcome } from './outbox-store.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { createPinCheck } from './pin-check.ts';
import { deliveryConnection, releaseDeliveryConnection } from './delivery-connection.ts';

/** How one of the command's messages ended, as far as this process knows. */
export type RunMailOutcome =
  | { id: string; status: 'sent'; reply: string }
  | { id: string; status: 'failed'; reply: string | null; error: string }
  /** A transient failure: the row is queued again, `dialin worker` retries it. */
  | { id: string; status: 'retrying'; error: string }
  /** Another process holds or finished it (the row was no longer queued). */
  | { id: string; status: 'elsewhere' }
  /** Never tried: the run was stopped first. The row stays queued. */
  | { id: string; status: 'left' };

export interface RunDelivery {
  /** Hands over rows the command just committed; each gets exactly one `onOutcome`. */
  send(ids: string[]): void;
  /**
   * Resolves when the command may write more (back-pressure): fewer than `backlog` rows wait to be
   * claimed, and the relay has answered for at least one message, so a relay that refuses to send
   * stops the run after the first batch.
   */
  ready(): Promise<void>;
  /** Stops claiming: rows not yet started are reported `left`; those in flight finish. */
  stop(): void;
  /** Resolves once every row handed over has its outcome recorded (in-flight ones within `graceMs` after a stop). */
  finish(graceMs: number): Promise<void>;
}

/**
 * The CPU time a render may use before its thread is stopped (a render takes about a millisecond;
 * the template engine's own limit is 100 ms). A render that waits three times as long on the wall
 * clock without getting it (a saturated machine) goes back to the queue, not counted as an attempt.
 */
const COMPOSE_CPU_BUDGET_MS = 5_000;

/**
 * Delivers the rows a command wrote, in the command's own process, through the relay it checked
 * (Set-CsPinSendCAWelcomeMail): so it can report each outcome, and so the password it was given
 * is used where it was typed. Rows are claimed by id with a lease, exactly as the worker claims
 * them, and every outcome is recorded with the worker's own fencing; a transient failure leaves
 * the row queued for `dialin worker`. As many messages are in flight as in the worker.
 */
export async function startRunDelivery(o: {
  ctx: AppContext;
  config: Readonly<Config>;
  tenantId: string;
  relay: Relay;
  /** Threads composing mail (DIALIN_COMPOSE_THREADS unless given; 0 for a single message spares starting one). */
  composeThreads?: number;
  /** Rows that may wait for a connection; a command writing in batches keeps about one batch waiting, so sending never starves. */
  backlog: number;
  onOutcome: (r: RunMailOutcome) => void;
  /** The relay refused the login or TLS while sending: the run stops, later messages would fare no better. */
  onRefused: (reason: string) => void;
}): Promise<RunDelivery> {
  const { ctx, config, relay } = o;
  const d = config.delivery;
  const db = await deliveryConnection(ctx.db, config);
  const store = new OutboxStore(db);
  const owner = `${os.hostname()}/${process.pid}/run-${ctx.newId().slice(-8)}`;
  const overrides = (await loadTemplateOverrides(ctx.db.kysely, [o.tenantId])).get(o.tenantId)!;
  const dkim = await loadSigningKeys(ctx.db.kysely, ctx.keys, [o.tenantId], new Map());
  const localNumbers = (await loadLocalNumberTokens(ctx.db.kysely, [o.tenantId])).get(o.tenantId)!;
  const tenant: TenantMail = { settings: await readSettings(ctx.db.kysely, o.tenantId), overrides, dkim: dkim.byTenant.get(o.tenantId) ?? [], localNumbers };
  const deps: AttemptDeps = {
    env: { defaultFrom: parseMailbox(config.mailFrom), settingsUrl: ctx.settingsUrl, keys: ctx.keys, bounceDomain: config.bounces.domain },
    composer: createComposer(o.composeThreads ?? d.composeThreads, COMPOSE_CPU_BUDGET_MS),
    pinCheck: createPinCheck(db.kysely, ctx.keys),
    retry: { baseMs: d.retryBaseMs, maxMs: d.retryMaxMs },
    now: ctx.now,
    random: Math.random,
  };
  const maxInFlight = inFlightLimit(d.concurrency);
  const deadlineMs = d.sendTimeoutMs;
  const leases = new LeaseKeeper(store, d.leaseMs, ctx.now, () => {});
  // The writer keeps outcomes it could not record and tries again: nothing to do on an error.
  const writer = new OutcomeWriter(store, (batch) => batch.forEach((b) => o.onOutcome(reportOf(b))), () => {});
  const waiting: string[] = [];
  const running = new Set<Promise<void>>();
  let pumping: Promise<void> | null = null;
  let stopped = false;
  let answered = 0;
  let waiters: (() => void)[] = [];
  const changed = () => waiters.splice(0).forEach((w) => w());
  const nextChange = () => new Promise<void>((r) => waiters.push(r));

  /**
   * Claims waiting rows by id (only those still queued) and starts them, while there is room. A
   * claim waits for half the slots to be free (or for the last rows): each claim is a commit, and
   * one per message would cost more than the sending.
   */
  const room = () => maxInFlight - running.size >= Math.min(waiting.length, Math.max(1, maxInFlight / 2));
  async function pump(): Promise<void> {
    while (!stopped && waiting.length && room()) {
      const ids = waiting.splice(0, maxInFlight - running.size);
      const now = ctx.now();
      let claimed: OutboxTable[];
      try {
        claimed = await db.kysely
          .updateTable('outbox')
          .set((eb) => ({ status: 'sending', lease_owner: owner, lease_until: now + d.leaseMs, attempts: eb('attempts', '+', 1) }))
          .where('id', 'in', ids)
          .where('status', '=', 'queued')
          .returningAll()
          .execute();
      } catch {
        // The database did not answer: the rows are still queued; try again shortly.
        waiting.unshift(...ids);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const got = new Set(claimed.map((r) => r.id));
      for (const id of ids) if (!got.has(id)) o.onOutcome({ id, status: 'elsewhere' });
      for (const row of claimed) start(row);
      changed();
    }
  }
  const kick = () => {
    if (stopped || !waiting.length || !room()) return;
    pumping ??= pump().finally(() => {
      pumping = null;
      changed();
      kick();
    });
  };

  function start(row: OutboxTable): void {
    const p: Promise<void> = (async () => {
      const { outcome, refused } = await attemptDelivery(row, owner, tenant, relay, false, deadlineMs, deps);
      if (refused && outcome.kind === 'failed') o.onRefused(outcome.error);
      await writer.record(outcome);
    })()
      // attemptDelivery never throws; recording retries until the database answers.
      .finally(() => {
        leases.release(row.id, owner);
        answered++;
        running.delete(p);
        changed();
        kick();
      });
    running.add(p);
    leases.hold(row.id, owner);
  }

  return {
    send(ids) {
      if (stopped) ids.forEach((id) => o.onOutcome({ id, status: 'left' }));
      else {
        waiting.push(...ids);
        kick();
      }
    },
    async ready() {
      while (!stopped && (waiting.length >= o.backlog || (answered === 0 && waiting.length + running.size > 0))) await nextChange();
    },
    stop() {
      stopped = true;
      for (const id of waiting.splice(0)) o.onOutcome({ id, status: 'left' });
      changed();
    },
    async finish(graceMs) {
      const end = Date.now() + graceMs;
      while (pumping || waiting.length || running.size) {
        if (!stopped) {
          await nextChange();
          continue;
        }
        // Stopped: what is in flight gets the grace, no more (its lease runs out, the worker retries it).
        const left = end - Date.now();
        if (left <= 0) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([nextChange(), new Promise((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
      await writer.flush(10_000);
      await leases.close();
      await deps.composer.close();
      await releaseDeliveryConnection(db, ctx.db);
    },
  };
}

function reportOf(o: Outcome): RunMailOutcome {
  switch (o.kind) {
    case 'sent':
      return { id: o.id, status: 'sent', reply: o.note ? `${o.reply} (${o.note})` : o.reply };
    case 'retry':
      return { id: o.id, status: 'retrying', error: o.error };
    case 'failed':
    case 'expired':
      return { id: o.id, status: 'failed', reply: o.reply, error: o.error };
    case 'superseded':
      // Someone changed, locked or removed the user's PIN while the command was sending.
      return { id: o.id, status: 'failed', reply: null, error: `not sent: ${o.reason}` };
    case 'paused':
      // Not reached: a command's own relay fails its messages instead of pausing the tenant.
      return { id: o.id, status: 'retrying', error: o.reason };
  }
}
