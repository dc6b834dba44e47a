import fs from 'node:fs';
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { ItemResult } from '../../app/bulk.ts';
import { csvLine } from '../files/csv-cell.ts';

/**
 * Progress of a run over many users: a bar with rate and ETA on a terminal, a plain line every
 * few seconds otherwise (logs, CI). With the total known (`expect`) the bar and the lines show
 * how far along the run is and an ETA; without it, the count and rate. `--report FILE.csv` gets
 * one line per user as results arrive.
 */
// Loaded when a bar is first drawn (a terminal and more than one user): not at every CLI start.
const require = createRequire(import.meta.url);

/**
 * A `--report FILE.csv`: a header, then one line per user outcome. A script shares one per file
 * name among its calls (one header, every call's lines), so `ForEach-Object { Set-… --report r.csv }`
 * and `dialin run FILE.ps1 --report r.csv` give one line per user, not the last call's.
 */
export class ReportFile {
  readonly #out: fs.WriteStream;
  constructor(readonly path: string) {
    this.#out = fs.createWriteStream(path, { flags: 'w' });
    this.#out.write(`${csvLine(['Identity', 'User', 'Outcome', 'Code', 'Reason'])}\n`);
  }

  add(r: ItemResult): void {
    this.#out.write(`${csvLine([r.input, r.user ?? '', r.status ?? r.outcome, r.code ?? '', r.reason ?? ''])}\n`);
  }

  close(): Promise<void> {
    return new Promise<void>((res) => this.#out.end(res));
  }
}

export class RunProgress {
  #bar: cliProgress.SingleBar | null = null;
  #count = 0;
  #total: number | null = null;
  /** Set at the first result: the rate and ETA leave out the set-up before it (counting, relay check). */
  #started = 0;
  #lastLine = 0;
  #report: ReportFile | null = null;
  /** True when the report is this run's own (closed at finish); false for a script's shared one. */
  #ownsReport = false;
  readonly #stream: NodeJS.WriteStream;

  constructor(opts: { label: string; reportFile: string | null; stream?: NodeJS.WriteStream; sharedReport?: (path: string) => ReportFile }) {
    this.#stream = opts.stream ?? process.stderr;
    if (opts.reportFile) {
      this.#ownsReport = !opts.sharedReport;
      this.#report = opts.sharedReport ? opts.sharedReport(opts.reportFile) : new ReportFile(opts.reportFile);
    }
    this.label = opts.label;
  }

  readonly label: string;

  /** The number of results the run will have. */
  expect(total: number): void {
    this.#total = total;
  }

  add(r: ItemResult): void {
    if (this.#count++ === 0) this.#started = this.#lastLine = Date.now();
    this.#report?.add(r);
    if (this.#count < 2) return; // one user needs no progress
    if (this.#stream.isTTY) {
      if (!this.#bar) {
        const format = this.#total ? `${this.label} [{bar}] {value}/{total} users | {rate}/s | ETA {eta_formatted}` : `${this.label} {value} users | {rate}/s | {duration_formatted}`;
        const bars = require('cli-progress') as typeof cliProgress;
        this.#bar = new bars.SingleBar({ format, stream: this.#stream, hideCursor: true, clearOnComplete: false, etaBuffer: 200 }, bars.Presets.shades_classic);
        this.#bar.start(this.#total ?? 0, 0, { rate: '0' });
      }
      if (this.#count % 50 === 0) this.#bar.update(this.#count, { rate: this.rate().toFixed(0) });
    } else if (Date.now() - this.#lastLine > 5000) {
      this.#lastLine = Date.now();
      this.#stream.write(`${this.label}: ${this.#line()}\n`);
    }
  }

  /** "1200 of 2000 users, 310/s, about 3 s left" (or the count and rate without a total). */
  #line(): string {
    const rate = this.rate();
    if (!this.#total) return `${this.#count} users, ${rate.toFixed(0)}/s`;
    const left = Math.max(0, this.#total - this.#count) / Math.max(rate, 0.001);
    return `${this.#count} of ${this.#total} users, ${rate.toFixed(0)}/s, about ${formatSeconds(left)} left`;
  }

  rate(): number {
    return this.#count / Math.max(0.001, (Date.now() - this.#started) / 1000);
  }

  async finish(): Promise<void> {
    if (this.#bar) {
      this.#bar.update(this.#count, { rate: this.rate().toFixed(0) });
      this.#bar.stop();
    }
    if (this.#report && this.#ownsReport) await this.#report.close();
  }
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
