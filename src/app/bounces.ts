import { sql } from 'kysely';
import { classifyReturn, REPORT_RANK, type BounceReport } from '../core/bounce-report.ts';
import type { Db } from '../adapters/db/database.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import { parseReturn } from '../adapters/bounces/parse-return.ts';
import { outboxIdOfReturnPath } from './return-path.ts';

/**
 * What comes back after the relay accepted a mail: delivery status notifications, feedback
 * reports, auto-replies. Each is read (parse-return.ts), classified (core/bounce-report.ts),
 * matched to its message — by the VERP return path it was sent to, else by the Message-ID it
 * quotes and only when the recipient it names is that message's — and recorded on the outbox
 * row. A return that matches nothing is counted and dropped, never put on another mail.
 */

/** How a return ended, as counted in metrics. */
export type ReturnOutcome = 'bounced' | 'delayed' | 'complained' | 'ignored' | 'unrecognized' | 'unmatched';

export type ReturnCounts = Record<ReturnOutcome, number>;
export const emptyReturnCounts = (): ReturnCounts => ({ bounced: 0, delayed: 0, complained: 0, ignored: 0, unrecognized: 0, unmatched: 0 });

/** Statuses a report may change: the relay had accepted the mail. */
const REPORTABLE = ['sent', 'delayed', 'bounced', 'complained'];
/** The most a commit waits for other returns to share it. */
const COMMIT_DELAY_MS = 3;

type Pending = { id: string; report: BounceReport; at: number; done: (applied: boolean) => void; failed: (e: unknown) => void };

export interface ReturnProcessor {
  /** Reads one return, records it, and resolves with what it was once it is committed. Throws MalformedMessage. */
  process(raw: Buffer, envelopeRecipients: string[]): Promise<{ outcome: ReturnOutcome; report: BounceReport; outboxId: string | null }>;
  counts(): ReturnCounts;
  /** Waits for what is being written. */
  flush(): Promise<void>;
}

/**
 * Matches and records returns. Records are written with group commit: a burst of returns shares
 * a transaction, and each caller (the SMTP listener answering 250, the mailbox poller marking a
 * message seen) waits for the commit that holds its own.
 */
export function returnProcessor(o: { db: Db; keys: Keys; bounceDomain: string | null; now: () => number }): ReturnProcessor {
  const counts = emptyReturnCounts();
  let queue: Pending[] = [];
  let running: Promise<void> | null = null;

  async function commit(batch: Pending[]): Promise<void> {
    const applied = await o.db.kysely.transaction().execute(async (trx) => {
      const out: boolean[] = [];
      for (const p of batch) {
        const r = p.report;
        const rank = REPORT_RANK[r.kind]!;
        // Only forward: a late delay never hides a bounce, a bounce never hides a complaint.
        const allowed = REPORTABLE.filter((s) => REPORT_RANK[s]! <= rank);
        const u = await trx
          .updateTable('outbox')
          .set({ status: r.kind, report_status: r.status, report_diagnostic: r.diagnostic, report_mta: r.reportingMta, reported_at: p.at })
          .where('id', '=', p.id)
          .where('status', 'in', allowed)
          .executeTakeFirst();
        out.push(Number(u.numUpdatedRows) > 0);
      }
      return out;
    });
    batch.forEach((p, i) => p.done(applied[i]!));
  }

  async function drain(): Promise<void> {
    while (queue.length) {
      await new Promise((r) => setTimeout(r, COMMIT_DELAY_MS));
      const batch = queue;
      queue = [];
      try {
        await commit(batch);
      } catch (e) {
        for (const p of batch) p.failed(e);
      }
    }
  }

  function record(id: string, report: BounceReport): Promise<boolean> {
    return new Promise((done, failed) => {
      queue.push({ id, report, at: o.now(), done, failed });
      running ??= drain().finally(() => (running = null));
    });
  }

  async function match(report: BounceReport, candidates: string[]): Promise<string | null> {
    if (o.bounceDomain) {
      for (const a of candidates) {
        const id = outboxIdOfReturnPath(o.keys, a, o.bounceDomain);
        if (id) return (await o.db.kysely.selectFrom('outbox').select('id').where('id', '=', id).executeTakeFirst())?.id ?? null;
      }
    }
    if (!report.originalMessageId) return null;
    const rows = await o.db.kysely.selectFrom('outbox').select(['id', 'recipient', 'payload']).where('message_id', '=', report.originalMessageId).execute();
    if (rows.length !== 1) return null;
    // A Message-ID alone is known to whoever got the mail: the report must be about its recipient.
    const to = report.recipient;
    const row = rows[0]!;
    if (to && row.recipient.toLowerCase() !== to && !row.payload.toLowerCase().includes(`"${to}"`)) return null;
    return to ? row.id : null;
  }

  return {
    async process(raw, envelopeRecipients) {
      const { message, deliveredTo } = await parseReturn(raw);
      const report = classifyReturn(message);
      if (report.kind === 'ignored' || report.kind === 'unrecognized') {
        counts[report.kind]++;
        return { outcome: report.kind, report, outboxId: null };
      }
      const id = await match(report, [...envelopeRecipients, ...deliveredTo]);
      if (!id) {
        counts.unmatched++;
        return { outcome: 'unmatched', report, outboxId: null };
      }
      await record(id, report);
      counts[report.kind]++;
      return { outcome: report.kind, report, outboxId: id };
    },
    counts: () => ({ ...counts }),
    async flush() {
      while (running) await running;
    },
  };
}

/** Reports recorded per status (for metrics read from the database). */
export async function reportCounts(db: Db): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }>`select status, count(*) as n from outbox where reported_at is not null group by status`.execute(db.kysely);
  return Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)]));
}
