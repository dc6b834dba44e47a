import fs from 'node:fs';
import cliProgress from 'cli-progress';
import type { ItemResult } from '../../app/bulk.ts';

/**
 * Progress of a run over many users: a bar with rate and ETA on a terminal, a plain line every
 * few seconds otherwise (logs, CI). The total is unknown while streaming a file, so the bar shows
 * the count and rate; `--report FILE.csv` gets one line per user as results arrive.
 */
export class RunProgress {
  #bar: cliProgress.SingleBar | null = null;
  #count = 0;
  #started = Date.now();
  #lastLine = 0;
  #report: fs.WriteStream | null = null;
  readonly #stream: NodeJS.WriteStream;

  constructor(opts: { label: string; reportFile: string | null; stream?: NodeJS.WriteStream }) {
    this.#stream = opts.stream ?? process.stderr;
    if (opts.reportFile) {
      this.#report = fs.createWriteStream(opts.reportFile, { flags: 'w' });
      this.#report.write('Identity,User,Outcome,Code,Reason\n');
    }
    this.label = opts.label;
  }

  readonly label: string;

  add(r: ItemResult): void {
    this.#count++;
    if (this.#report) this.#report.write(`${[r.input, r.user ?? '', r.outcome, r.code ?? '', r.reason ?? ''].map(csvCell).join(',')}\n`);
    if (this.#count < 2) return; // one user needs no progress
    if (this.#stream.isTTY) {
      if (!this.#bar) {
        this.#bar = new cliProgress.SingleBar(
          { format: `${this.label} {value} users | {rate}/s | {duration_formatted}`, stream: this.#stream, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        this.#bar.start(0, 0, { rate: '0' });
      }
      if (this.#count % 50 === 0) this.#bar.update(this.#count, { rate: this.rate().toFixed(0) });
    } else if (Date.now() - this.#lastLine > 5000) {
      this.#lastLine = Date.now();
      this.#stream.write(`${this.label}: ${this.#count} users, ${this.rate().toFixed(0)}/s\n`);
    }
  }

  rate(): number {
    return this.#count / Math.max(0.001, (Date.now() - this.#started) / 1000);
  }

  async finish(): Promise<void> {
    if (this.#bar) {
      this.#bar.update(this.#count, { rate: this.rate().toFixed(0) });
      this.#bar.stop();
    }
    if (this.#report) await new Promise<void>((res) => this.#report!.end(res));
  }
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
