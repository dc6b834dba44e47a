import { textError, textProblem } from '../../core/text.ts';
import type { Token } from './ps-tokenize.ts';

/** The parameter a value belongs to: `-DisplayName x` → DisplayName, `--name x` → name. */
function fieldOf(previous: string | undefined, position: number): string {
  return previous?.startsWith('-') && previous.length > 1 ? previous.replace(/^--?/, '').replace(/[:=].*$/, '') : `argument ${position}`;
}

/**
 * Command-line text goes through the same check as the API's (core/text.ts) before anything runs:
 * a control, C1, bidi or invisible character in an argument is TEXT_INVALID naming its parameter,
 * exit 1, nothing changed. Run on argv and again on the tokens of a cmdlet line (a script line of
 * `dialin run`, or a PowerShell escape such as "`0" that only becomes a NUL when tokenized).
 */
export function checkArgs(args: readonly string[]): void {
  args.forEach((a, i) => {
    const p = textProblem(a);
    if (p) throw textError(fieldOf(args[i - 1], i + 1), p);
  });
}

export function checkTokens(tokens: readonly Token[]): void {
  checkArgs(tokens.map((t) => (t.t === 'word' ? t.v : t.t === 'comma' ? ',' : '|')));
}
