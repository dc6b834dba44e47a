import { AppError } from '../../../core/errors.ts';
import { runInBatches, throwIfSkipped, type BatchHandler, type ItemResult } from '../../../app/bulk.ts';
import type { CmdletIO, CmdletOutput, Identities } from '../cmdlet.ts';

const KEPT = 200;

/**
 * Runs a change over one identity or a group. One identity: its refusal is the command's error
 * and its object is printed. A group: batched transactions, progress per result, and a summary.
 */
export async function runGroup(io: CmdletIO, who: Identities, verb: string, handler: BatchHandler, opts: { batchSize?: number; keepOutputs?: boolean } = {}): Promise<CmdletOutput> {
  const kept: ItemResult[] = [];
  const objects: Record<string, unknown>[] = [];
  const summary = await runInBatches(io.scope, who.values, handler, {
    batchSize: opts.batchSize,
    onResult: (r) => {
      io.onResult(r);
      if (!who.group || (r.outcome !== 'done' && kept.length < KEPT)) kept.push(r);
      if (who.group && opts.keepOutputs && r.outcome === 'done' && r.output) objects.push(r.output);
    },
  });
  if (!who.group) {
    const r = kept[0];
    if (!r) throw new AppError('USER_NOT_FOUND', `No user matches the identity "${who.label}".`, { field: 'Identity' });
    throwIfSkipped(r);
    return {
      kind: 'objects',
      objects: r.output ? [r.output] : [],
      single: true,
      note: r.outcome === 'unchanged' ? `${r.user ?? r.input}: ${r.reason}; nothing changed.` : undefined,
    };
  }
  return { kind: 'group', verb, summary, results: kept, objects: opts.keepOutputs ? objects : undefined };
}
