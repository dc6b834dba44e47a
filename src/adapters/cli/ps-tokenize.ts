import { AppError } from '../../core/errors.ts';

/**
 * A token of a PowerShell command line, as much of PowerShell as admin scripts for these cmdlets
 * use: bare words, 'single' and "double" quoted strings (with `` ` `` escapes), commas between list
 * items, pipes, `# comments` and backtick line continuation.
 */
export type Token =
  | { t: 'word'; v: string; quoted: boolean }
  | { t: 'comma' }
  | { t: 'pipe' };

const DOUBLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', '`': '`', '"': '"', $: '$' };

/** Splits a script into logical lines: backtick at end of line continues it; `#` starts a comment outside quotes. */
export function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = stripComment(lines[i]!);
    if (buf === '') start = i + 1;
    if (/`\s*$/.test(raw)) {
      buf += raw.replace(/`\s*$/, ' ');
      continue;
    }
    buf += raw;
    if (buf.trim() !== '') out.push({ line: start, text: buf });
    buf = '';
  }
  if (buf.trim() !== '') out.push({ line: start, text: buf });
  return out;
}

function stripComment(line: string): string {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '`' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '`') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** Tokenises one logical line. */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === ',') {
      out.push({ t: 'comma' });
      i++;
      continue;
    }
    if (c === '|') {
      out.push({ t: 'pipe' });
      i++;
      continue;
    }
    if (c === ';') throw new AppError('PIPELINE_NOT_SUPPORTED', 'Several statements on one line (;) are not supported: put each cmdlet on its own line.');
    let v = '';
    let quoted = false;
    // A word runs until whitespace, comma or pipe outside quotes; quotes may appear inside (-Name:"x y").
    while (i < n) {
      const ch = line[i]!;
      if (/\s/.test(ch) || ch === ',' || ch === '|' || ch === ';') break;
      if (ch === "'") {
        // A word that starts quoted is a value; -Name:'x y' stays a parameter with an inline value.
        if (v === '') quoted = true;
        i++;
        for (;;) {
          if (i >= n) throw new AppError('INVALID_ARGUMENT', `Unterminated single-quoted string in: ${line.trim()}`);
          if (line[i] === "'") {
            if (line[i + 1] === "'") {
              v += "'";
              i += 2;
              continue;
            }
            i++;
            break;
          }
          v += line[i++];
        }
        continue;
      }
      if (ch === '"') {
        if (v === '') quoted = true;
        i++;
        for (;;) {
          if (i >= n) throw new AppError('INVALID_ARGUMENT', `Unterminated double-quoted string in: ${line.trim()}`);
          const d = line[i]!;
          if (d === '`' && i + 1 < n) {
            v += DOUBLE_ESCAPES[line[i + 1]!] ?? line[i + 1]!;
            i += 2;
            continue;
          }
          if (d === '"') {
            if (line[i + 1] === '"') {
              v += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (d === '$' && /[A-Za-z(]/.test(line[i + 1] ?? '') && !/^\$(true|false|null)\b/i.test(line.slice(i))) {
            throw new AppError('PIPELINE_NOT_SUPPORTED', `Variables and subexpressions inside strings ("${line.slice(i, i + 12)}…") are not supported: write the value itself.`);
          }
          v += d;
          i++;
        }
        continue;
      }
      if (ch === '`' && i + 1 < n) {
        v += line[i + 1];
        i += 2;
        continue;
      }
      v += ch;
      i++;
    }
    out.push({ t: 'word', v, quoted });
  }
  return out;
}

/**
 * Turns the argv a shell gave us back into one line for the tokenizer: arguments the shell
 * unquoted are quoted again, so `-Name "Conference Bridge"` stays one value, while a lone `|`
 * and trailing commas (`-SecondaryLanguages en-us, ja-jp`) keep their PowerShell meaning.
 */
export function argvToLine(argv: string[]): string {
  if (argv.length === 1 && /\s/.test(argv[0]!)) return argv[0]!;
  return argv
    .map((a) => {
      if (a === '|' || a === ',') return a;
      // Bare words, also comma lists (a,b: the shell leaves PowerShell's list syntax as one argument).
      if (/^,?[A-Za-z0-9@:._/\\+=$*?%-]+(,[A-Za-z0-9@:._/\\+=$*?%-]+)*,?$/.test(a)) return a;
      const inline = /^(-[A-Za-z][A-Za-z0-9]*:)(.*)$/s.exec(a);
      if (inline) return `${inline[1]}'${inline[2]!.replace(/'/g, "''")}'`;
      return `'${a.replace(/'/g, "''")}'`;
    })
    .join(' ');
}
