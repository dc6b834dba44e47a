import { sql } from 'kysely';
import { AppError, isAppError, type ErrorCode } from '../core/errors.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { findUsers, type Resolved } from './users.ts';
import type { TenantScope, Trx } from './context.ts';

/** What happened to one user of a command that acts on a group. */
export interface ItemResult {
  input: string;
  user?: string;
  outcome: 'done' | 'unchanged' | 'skipped';
  /** A finer outcome for reports and summaries (e.g. sent, failed, retrying), when `outcome` says too little. */
  status?: string;
  code?: ErrorCode;
  reason?: string;
  output?: Record<string, unknown>;
  /** The refusal itself, for single-user commands to rethrow (not kept in reports). */
  error?: AppError;
}

export interface BulkSummary {
  done: number;
  unchanged: number;
  skipped: number;
}

export type BatchHandler = (trx: Trx, resolved: Resolved[]) => Promise<ItemResult[]>;

export const skippedFor = (input: string, e: AppError, user?: string): ItemResult => ({ input, user, outcome: 'skipped', code: e.code, reason: e.message, error: e });

/**
 * Runs a command over identities in batched transactions: each batch is resolved with one query
 * and committed as a whole, so an interrupted run leaves whole batches done and can be re-run.
 * Each result is handed to `onResult` as it is known (progress, report files).
 */
export async function runInBatches(
  s: TenantScope,
  inputs: AsyncIterable<string> | Iterable<string>,
  handler: BatchHandler,
  opts: { batchSize?: number; onResult?: (r: ItemResult) => void } = {},
): Promise<BulkSummary> {
  const size = opts.batchSize ?? 500;
  const summary: BulkSummary = { done: 0, unchanged: 0, skipped: 0 };
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    const results = await s.db.kysely.transaction().execute(async (trx) => handler(trx, await findUsers(trx, s.tenant.id, current)));
    if (results.some((r) => r.outcome === 'done')) s.onMailQueued?.();
    for (const r of results) {
      summary[r.outcome]++;
      opts.onResult?.(r);
    }
  };
  for await (const input of inputs) {
    batch.push(input);
    if (batch.length >= size) await flush();
  }
  await flush();
  return summary;
}

/**
 * Adapts a one-user change to a batch: each user runs inside a savepoint, so a user refused
 * half-way leaves nothing behind while the rest of the batch goes on.
 */
export function perUser(fn: (trx: Trx, user: UsersTable) => Promise<Omit<ItemResult, 'input' | 'user'>>): BatchHandler {
  return async (trx, resolved) => {
    const out: ItemResult[] = [];
    for (const r of resolved) {
      if ('error' in r) {
        out.push(skippedFor(r.input, r.error));
        continue;
      }
      await sql`savepoint dialin_item`.execute(trx);
      try {
        const res = await fn(trx, r.user);
        await sql`release savepoint dialin_item`.execute(trx);
        out.push({ input: r.input, user: r.user.sip, ...res });
      } catch (e) {
        await sql`rollback to savepoint dialin_item`.execute(trx);
        await sql`release savepoint dialin_item`.execute(trx);
        if (!isAppError(e)) throw e;
        out.push(skippedFor(r.input, e, r.user.sip));
      }
    }
    return out;
  };
}

/** Throws the error of a single-user command, so that one bad identity is an error, not a summary line. */
export function throwIfSkipped(r: ItemResult): void {
  if (r.outcome === 'skipped') throw r.error ?? new AppError(r.code ?? 'INTERNAL_ERROR', r.reason ?? 'skipped');
}
