import fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';
import { AppError } from '../../core/errors.ts';
import { textError, textProblem } from '../../core/text.ts';

export interface CsvRecord {
  /** 1-based line number in the file where the record starts. */
  line: number;
  fields: Record<string, string>;
}

/** Decodes UTF-8 strictly, so a Latin-1 file is refused with a clear error instead of mojibake. */
class StrictUtf8 extends Transform {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  #offset = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.push(this.#decoder.decode(chunk, { stream: true }));
      this.#offset += chunk.length;
      cb();
    } catch {
      cb(new AppError('CSV_INVALID', `The file is not valid UTF-8 (near byte ${this.#offset}); save it as UTF-8 and try again.`));
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.push(this.#decoder.decode());
      cb();
    } catch {
      cb(new AppError('CSV_INVALID', 'The file is not valid UTF-8 (it ends in the middle of a character); save it as UTF-8.'));
    }
  }
}

/**
 * Streams the records of a CSV file with a header line, never holding the file in memory.
 * Header names are matched case-insensitively to `columns` (canonical spelling), and the required
 * ones must all be present.
 */
export async function* readCsv(file: string, columns: { required: string[]; optional: string[] }): AsyncGenerator<CsvRecord> {
  let input: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    input = fs.createReadStream(file);
  } catch {
    throw new AppError('FILE_NOT_FOUND', `Cannot read the file ${file}.`, { field: 'Path' });
  }
  yield* readCsvStream(input, columns);
}

/** The records of a CSV sent in a request body (the REST API's import), checked like a file. */
export function readCsvText(body: Buffer, columns: { required: string[]; optional: string[] }): AsyncGenerator<CsvRecord> {
  return readCsvStream(Readable.from([body]), columns);
}

async function* readCsvStream(input: Readable, columns: { required: string[]; optional: string[] }): AsyncGenerator<CsvRecord> {
  const decoder = new StrictUtf8();
  const parser = input.pipe(decoder).pipe(
    parse({ bom: true, skip_empty_lines: true, relax_column_count: false, trim: true, info: true, columns: false }),
  );
  // pipe() does not forward errors: without these, a read error or bad UTF-8 would be an
  // unhandled 'error' event (a crash) and the import's transaction would never end.
  input.on('error', (e) => parser.destroy(e));
  decoder.on('error', (e) => parser.destroy(e));
  let header: (string | null)[] | null = null;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // Every cell is text people will read (names, addresses): the same check as the API and the CLI.
      rec.record.forEach((cell, i) => {
        const p = textProblem(cell);
        if (p) throw textError(header ? (header[i] ?? `column ${i + 1}`) : `the header's column ${i + 1}`, p, `line ${rec.info.lines}: `);
      });
      if (!header) {
        const known = [...columns.required, ...columns.optional];
        header = rec.record.map((h) => known.find((k) => k.toLowerCase() === h.trim().toLowerCase()) ?? null);
        const missing = columns.required.filter((c) => !header!.includes(c));
        if (missing.length) {
          throw new AppError('CSV_INVALID', `line 1: the header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (expected ${columns.required.join(',')}${columns.optional.length ? ` and optionally ${columns.optional.join(',')}` : ''}).`);
        }
        continue;
      }
      const fields: Record<string, string> = {};
      header.forEach((h, i) => {
        if (h) fields[h] = rec.record[i] ?? '';
      });
      yield { line: rec.info.lines, fields };
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    const err = e as { code?: string; lines?: number; message?: string };
    if (err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || err.code?.startsWith('CSV_')) {
      throw new AppError('CSV_INVALID', `line ${err.lines ?? '?'}: ${err.message ?? 'malformed CSV'}`, { cause: e });
    }
    throw e;
  }
  if (!header) throw new AppError('CSV_INVALID', 'The file is empty: it needs a header line and one line per user.');
}
