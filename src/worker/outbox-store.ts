import { sql, type Kysely } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { Database, OutboxTable } from '../adapters/db/schema.ts';
import { payloadWithoutRelayPassword } from '../adapters/db/outbox-payload.ts';
import { gaveUpNote } from './retry-policy.ts';

/** How one delivery attempt ended, as recorded on its row (only while the worker still holds the lease). */
export type Outcome =
  | { kind: 'sent'; id: string; owner: string; tenantId: string; reply: string; note: string | null; at: number }
  /** `notAttempted`: the relay never saw it (the worker was stopping): the attempt does not count. */
  | { kind: 'retry'; id: string; owner: string; runAt: number; error: string; reply: string | null; notAttempted?: boolean }
  | { kind: 'failed'; id: string; owner: string; error: string; reply: string | null }
  | { kind: 'expired'; id: string; owner: string; error: string; reply: string | null }
  | { kind: 'paused'; id: string; owner: string; tenantId: string; reason: string; retryAt: number; at: number }
  /** Not sent: the PIN it carries is no longer the user's (changed, locked, dial-in off). The attempt does not count. */
  | { kind: 'superseded'; id: string; owner: string; reason: string };

const CHUNK = 400;

type Sent = Extract<Outcome, { kind: 'sent' }>;

/**
 * The delivery worker's SQL. Claims take a lease (owner + deadline) and bump the attempt count;
 * every outcome is written only where the row is still `sending` under the same owner, so a
 * worker that lost its lease (paused, partitioned) cannot overwrite a newer claim.
 */
export class OutboxStore {
  constructor(private readonly db: Db) {}

  /** Rows whose lease ran out (a worker crashed or hung) go back to the queue; returns how many. */
  async reapExpiredLeases(now: number): Promise<number> {
    const r = await this.db.kysely
      .updateTable('outbox')
      .set({ status: 'queued', lease_owner: null, lease_until: null, last_error: 'the lease ran out (a worker stopped or hung); sent again, the earlier attempt may have been delivered' })
      .where('status', '=', 'sending')
      .where('lease_until', '<', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * Claims up to `limit` due rows of tenants that are not paused, oldest first, in one statement:
   * `FOR UPDATE SKIP LOCKED` lets PostgreSQL workers claim side by side; SQLite has one writer.
   */
  async claim(owner: string, limit: number, now: number, leaseMs: number): Promise<OutboxTable[]> {
    const due = sql`select id from outbox where status = 'queued' and run_at <= ${now} and tenant_id not in (select tenant_id from mail_pauses where retry_at > ${now}) order by run_at limit ${limit}`;
    const set = sql`status = 'sending', lease_owner = ${owner}, lease_until = ${now + leaseMs}, attempts = attempts + 1`;
    if (this.db.dialect === 'sqlite') return (await sql<OutboxTable>`update outbox set ${set} where id in (${due}) returning *`.execute(this.db.kysely)).rows;
    return this.db.kysely.transaction().execute(async (trx) => {
      // Read the (status, run_at) index in order. Just after a burst of inserts, stale estimates
      // would have PostgreSQL sort every due row to take a few (100 ms for 20,000).
      await sql`set local enable_sort = off`.execute(trx);
      return (await sql<OutboxTable>`with c as (${due} for update skip locked) update outbox set ${set} from c where outbox.id = c.id returning outbox.*`.execute(trx)).rows;
    });
  }

  /**
   * Extends the leases of `ids` to `until` where they are still `sending` under `owner` (a row
   * another worker took over, or one already finished, is left alone). Returns how many.
   */
  async renewLeases(owner: string, ids: string[], until: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const r = await this.db.kysely
        .updateTable('outbox')
        .set({ lease_until: until })
        .where('id', 'in', ids.slice(i, i + CHUNK))
        .where('lease_owner', '=', owner)
        .where('status', '=', 'sending')
        .executeTakeFirst();
      n += Number(r.numUpdatedRows);
    }
    return n;
  }

  /** When something next becomes due: a retry, a lease that runs out, a pause that ends. */
  async nextEventAt(now: number): Promise<number | null> {
    const k = this.db.kysely;
    const [retry, lease, pause] = await Promise.all([
      k.selectFrom('outbox').select((eb) => eb.fn.min('run_at').as('t')).where('status', '=', 'queued').where('run_at', '>', now).executeTakeFirst(),
      k.selectFrom('outbox').select((eb) => eb.fn.min('lease_until').as('t')).where('status', '=', 'sending').executeTakeFirst(),
      k.selectFrom('mail_pauses').select((eb) => eb.fn.min('retry_at').as('t')).where('retry_at', '>', now).executeTakeFirst(),
    ]);
    const times = [retry?.t, lease?.t, pause?.t].filter((t): t is number => t !== null && t !== undefined).map(Number);
    return times.length ? Math.min(...times) : null;
  }

  /**
   * Writes a group of outcomes in one transaction (group commit: whatever finished while the last
   * commit ran). Returns how many were ignored because the lease had moved on.
   */
  async record(outcomes: Outcome[]): Promise<number> {
    const sent = outcomes.filter((o): o is Sent => o.kind === 'sent');
    // PostgreSQL, the usual group (all sent): one statement committed on its own, one round trip.
    if (this.db.dialect === 'postgres' && sent.length === outcomes.length && sent.length <= CHUNK) return sent.length - (await this.#markSent(this.db.kysely, sent));
    return this.db.kysely.transaction().execute(async (trx) => {
      let applied = 0;
      const payload = payloadWithoutRelayPassword(this.db.dialect);
      for (let i = 0; i < sent.length; i += CHUNK) applied += await this.#markSent(trx, sent.slice(i, i + CHUNK));
      for (const o of outcomes) {
        if (o.kind === 'sent') continue;
        const fence = trx.updateTable('outbox').where('id', '=', o.id).where('lease_owner', '=', o.owner).where('status', '=', 'sending');
        const free = { lease_owner: null, lease_until: null };
        let r;
        if (o.kind === 'retry') r = await fence.set((eb) => ({ ...free, status: 'queued', run_at: o.runAt, last_error: o.error, last_reply: o.reply, ...(o.notAttempted ? { attempts: eb('attempts', '-', 1) } : {}) })).executeTakeFirst();
        // A PIN is never re-sent later (only reset), so a final failure wipes it too.
        else if (o.kind === 'failed') r = await fence.set({ ...free, status: 'failed', pin_enc: null, payload, last_error: o.error, last_reply: o.reply }).executeTakeFirst();
        else if (o.kind === 'expired') r = await fence.set({ ...free, status: 'expired', pin_enc: null, payload, last_error: o.error, last_reply: o.reply }).executeTakeFirst();
        else if (o.kind === 'superseded') r = await fence.set((eb) => ({ ...free, status: 'superseded', pin_enc: null, payload, attempts: eb('attempts', '-', 1), last_error: o.reason })).executeTakeFirst();
        else {
          // Paused: back in the queue as it was (the attempt does not count), the tenant waits.
          r = await fence.set((eb) => ({ ...free, status: 'queued', attempts: eb('attempts', '-', 1), last_error: `paused: ${o.reason}` })).executeTakeFirst();
          await trx
            .insertInto('mail_pauses')
            .values({ tenant_id: o.tenantId, reason: o.reason, paused_at: o.at, retry_at: o.retryAt })
            .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ reason: o.reason, retry_at: o.retryAt }))
            .execute();
        }
        applied += Number(r.numUpdatedRows);
      }
      return outcomes.length - applied;
    });
  }

  /**
   * Marks messages sent (PIN and relay password wiped) where the lease is still ours, and ends
   * their tenants' pauses: a message went through. Returns how many rows were updated.
   */
  async #markSent(db: Kysely<Database>, sent: Sent[]): Promise<number> {
    const payload = payloadWithoutRelayPassword(this.db.dialect);
    const values = sql.join(sent.map((o) => sql`(${o.id}, ${o.owner}, ${o.reply}, ${o.note}, ${o.at})`));
    const update = sql`update outbox set status = 'sent', pin_enc = null, payload = ${payload}, lease_owner = null, lease_until = null, last_reply = v.reply, last_error = v.note, sent_at = cast(v.at as bigint)
      from (select column1 as id, column2 as owner, column3 as reply, cast(column4 as text) as note, column5 as at from (values ${values}) as t) as v
      where outbox.id = v.id and outbox.lease_owner = v.owner and outbox.status = 'sending'`;
    const tenants = sql.join([...new Set(sent.map((o) => o.tenantId))]);
    if (this.db.dialect === 'postgres') {
      const r = await sql<{ n: number }>`with u as (${update} returning 1), d as (delete from mail_pauses where tenant_id in (${tenants})) select count(*)::int as n from u`.execute(db);
      return r.rows[0]!.n;
    }
    const r = await update.execute(db);
    await sql`delete from mail_pauses where tenant_id in (${tenants})`.execute(db);
    return Number(r.numAffectedRows ?? 0);
  }

  /**
   * Queued rows whose lifetime is over expire as their next attempt would have made them: used
   * while nothing is attempted (the relay cannot be reached), so a long outage still ends in
   * *expired*, not in old PINs mailed days later. Returns how many.
   */
  async expireOverdue(now: number, lastError: string): Promise<number> {
    const rows = await this.db.kysely.selectFrom('outbox').select(['id', 'attempts', 'created_at', 'last_error']).where('status', '=', 'queued').where('expires_at', '<=', now).limit(CHUNK).execute();
    if (!rows.length) return 0;
    const payload = payloadWithoutRelayPassword(this.db.dialect);
    return this.db.kysely.transaction().execute(async (trx) => {
      let n = 0;
      for (const r of rows) {
        const note = gaveUpNote(r.attempts, r.created_at, now, r.last_error ?? lastError);
        const u = await trx.updateTable('outbox').set({ status: 'expired', pin_enc: null, payload, last_error: note }).where('id', '=', r.id).where('status', '=', 'queued').executeTakeFirst();
        n += Number(u.numUpdatedRows);
      }
      return n;
    });
  }

  /** Ends every pause (a worker starting may have a new relay configuration); returns how many. */
  async liftPauses(): Promise<number> {
    const r = await this.db.kysely.deleteFrom('mail_pauses').executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
