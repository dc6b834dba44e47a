import { AppError, isAppError } from '../core/errors.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { refreshStatistics } from '../adapters/db/database.ts';
import { auditRow, insertAuditRows } from './audit.ts';
import { newUserRow } from './users.ts';
import type { TenantScope, Trx } from './context.ts';
import type { BatchHandler } from './bulk.ts';

export interface ImportRecord {
  line: number;
  fields: Record<string, string>;
}

export interface ImportProblem {
  line: number;
  code: string;
  message: string;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  problems: ImportProblem[];
  /** True when the file had problems and nothing was committed. */
  rolledBack: boolean;
}

const BATCH = 500;
const MAX_PROBLEMS_KEPT = 100;

/**
 * Imports users from a stream of CSV records in ONE transaction: a bad line (bad field,
 * duplicate in the file or in the directory) is reported with its line number, and unless
 * `skipInvalid` nothing of the file is committed. Inserts go in batches of 500; duplicates are
 * detected by the unique index (ON CONFLICT DO NOTHING), so no set of the whole file is kept in memory.
 */
export async function importUsers(
  s: TenantScope,
  records: AsyncIterable<ImportRecord>,
  opts: {
    skipInvalid: boolean;
    /** Check the whole file the same way, then roll everything back (the admin center's preview); `imported` says how many would be. */
    dryRun?: boolean;
    onProgress?: (lines: number) => void;
    /** Runs on each batch of newly inserted users in the import's transaction (`--enable`). */
    afterInsert?: BatchHandler;
  },
): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, skipped: 0, problems: [], rolledBack: false };
  const note = (p: ImportProblem) => {
    result.skipped++;
    if (result.problems.length < MAX_PROBLEMS_KEPT) result.problems.push(p);
  };
  const abort = Symbol('abort');
  try {
    await s.db.kysely.transaction().execute(async (trx) => {
      let batch: { line: number; row: UsersTable }[] = [];
      let seen = 0;
      const flush = async () => {
        if (!batch.length) return;
        const inserted = await insertBatch(trx, s, batch, note, result);
        if (opts.afterInsert && inserted.length) await opts.afterInsert(trx, inserted.map((u) => ({ input: u.sip, user: u })));
        batch = [];
      };
      for await (const rec of records) {
        seen++;
        try {
          batch.push({ line: rec.line, row: newUserRow(s, rec.fields as never, s.now()) });
        } catch (e) {
          if (!isAppError(e)) throw e;
          note({ line: rec.line, code: e.code, message: e.message });
        }
        if (batch.length >= BATCH) await flush();
        if (seen % 10_000 === 0) opts.onProgress?.(seen);
      }
      await flush();
      opts.onProgress?.(seen);
      if (opts.dryRun || (result.skipped > 0 && !opts.skipInvalid)) throw abort;
    });
  } catch (e) {
    if (e !== abort) throw e;
    result.rolledBack = true;
    if (!opts.dryRun) result.imported = 0;
  }
  if (result.imported > 1000 && !result.rolledBack) await refreshStatistics(s.db, ['users']);
  return result;
}

async function insertBatch(trx: Trx, s: TenantScope, batch: { line: number; row: UsersTable }[], note: (p: ImportProblem) => void, result: ImportResult): Promise<UsersTable[]> {
  // Within a batch, a repeated SIP address is reported against its later line.
  const first = new Map<string, number>();
  const unique: typeof batch = [];
  for (const b of batch) {
    const earlier = first.get(b.row.sip);
    if (earlier !== undefined) note({ line: b.line, code: 'CSV_INVALID', message: `duplicate row: ${b.row.sip} is already on line ${earlier}` });
    else {
      first.set(b.row.sip, b.line);
      unique.push(b);
    }
  }
  if (!unique.length) return [];
  const inserted = new Set(
    (await trx.insertInto('users').values(unique.map((b) => b.row)).onConflict((oc) => oc.columns(['tenant_id', 'sip']).doNothing()).returning('sip').execute()).map((r) => r.sip),
  );
  const audits = [];
  const rows: UsersTable[] = [];
  for (const b of unique) {
    if (inserted.has(b.row.sip)) {
      result.imported++;
      rows.push(b.row);
      audits.push(auditRow(s, 'user.import', { userId: b.row.id, label: b.row.sip }, { line: b.line }));
    } else {
      note({ line: b.line, code: 'USER_EXISTS', message: `${b.row.sip} already exists (in the directory or earlier in this file)` });
    }
  }
  await insertAuditRows(trx, audits);
  return rows;
}

export function importError(r: ImportResult): AppError {
  const shown = r.problems.slice(0, 20).map((p) => `  line ${p.line}: ${p.message}`).join('\n');
  const more = r.skipped > 20 ? `\n  … and ${r.skipped - 20} more` : '';
  return new AppError('CSV_INVALID', `${r.skipped} line(s) of the file are invalid; nothing was imported.\n${shown}${more}\nFix them, or add --skip-invalid to import the valid lines only.`);
}
