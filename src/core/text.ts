import { AppError } from './errors.ts';

/**
 * The one check of text that people will read (names, addresses, search terms, template sources),
 * applied at every edge: HTTP, CLI arguments, CSV files. It refuses what does not show as what it
 * is: control characters (C0, DEL, C1 — `\u009b` is an 8-bit CSI that recolours a terminal), line
 * and paragraph separators, lone surrogates (broken UTF-16), and the invisible format characters
 * (Unicode category Cf: bidi overrides and isolates, zero-width spaces, the BOM, soft hyphens…).
 * Letters, marks, digits, punctuation and symbols of every script pass.
 */

export interface TextOptions {
  /** A multi-line source (a template body): tab, line feed and carriage return are allowed. */
  multiline?: boolean;
}

export interface TextProblem {
  /** 1-based position, in characters (code points), of the first refused character. */
  position: number;
  codePoint: number;
  /** What the character is, for the message. */
  what: string;
}

// C0 (tab, LF and CR are decided by the option), DEL and C1, line/paragraph separators, format
// characters (Cf) and surrogates — with the `u` flag, \p{Cs} matches only a lone surrogate.
const REFUSED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}\p{Cs}]/u;
const LINE_CONTROLS = /^[\t\n\r]$/;
const BIDI = /^[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]$/;
const ZERO_WIDTH_JOINERS = /^[\u200c\u200d]$/;
// Scripts whose spelling needs ZWNJ/ZWJ between letters (Persian, Indic, Sinhala…); in Latin,
// Greek, Cyrillic or CJK text a joiner has no use but to make two names look the same.
const JOINING_NEIGHBOUR = /^[\p{L}\p{M}]$/u;
const NO_JOINERS = /^[\p{sc=Latin}\p{sc=Greek}\p{sc=Cyrillic}\p{sc=Common}\p{sc=Inherited}\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Armenian}\p{sc=Georgian}]$/u;

function whatIs(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (cp <= 0x1f || cp === 0x7f) return cp === 0 ? 'a NUL character' : 'a control character';
  if (cp >= 0x80 && cp <= 0x9f) return 'a C1 control character';
  if (cp === 0x2028 || cp === 0x2029) return 'a line separator';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'a lone surrogate (broken UTF-16)';
  if (BIDI.test(ch)) return 'a bidirectional control character';
  if (cp === 0xfeff || (cp >= 0x200b && cp <= 0x200d) || (cp >= 0x2060 && cp <= 0x2064)) return 'a zero-width character';
  return 'an invisible formatting character';
}

/** Whether a zero-width (non-)joiner at `i` sits between two letters of a script that spells with it. */
function joinerInContext(chars: readonly string[], i: number): boolean {
  const prev = chars[i - 1];
  const next = chars[i + 1];
  return prev !== undefined && next !== undefined && JOINING_NEIGHBOUR.test(prev) && JOINING_NEIGHBOUR.test(next) && !NO_JOINERS.test(prev) && !NO_JOINERS.test(next);
}

/** Whether the character at `i` of `chars` is refused (a joiner depends on its neighbours). */
function refusedAt(chars: readonly string[], i: number, opts: TextOptions): boolean {
  const ch = chars[i]!;
  if (!REFUSED.test(ch)) return false;
  if (opts.multiline && LINE_CONTROLS.test(ch)) return false;
  return !(ZERO_WIDTH_JOINERS.test(ch) && joinerInContext(chars, i));
}

/** The first character of `s` that text for people may not contain, or null when there is none. */
export function textProblem(s: string, opts: TextOptions = {}): TextProblem | null {
  if (!REFUSED.test(s)) return null;
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; i++) {
    if (!refusedAt(chars, i, opts)) continue;
    const cp = chars[i]!.codePointAt(0)!;
    return { position: i + 1, codePoint: cp, what: whatIs(cp) };
  }
  return null;
}

/** U+202E, the way the messages name a character. */
export function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A field name fit for a message even when the name itself came from the input. */
const shownField = (field: string): string => visible(field);

/** The error for a refused text; `where` prefixes the message (e.g. "line 3: "). */
export function textError(field: string, p: TextProblem, where = ''): AppError {
  const f = shownField(field);
  return new AppError('TEXT_INVALID', `${where}${f} has ${p.what} (${codePointName(p.codePoint)}) at character ${p.position}; type it again without invisible or control characters. Nothing was changed.`, { field: f });
}

/** Throws TEXT_INVALID naming `field` when `s` has a refused character; returns `s` otherwise. */
export function checkText(s: string, field: string, opts: TextOptions = {}): string {
  const p = textProblem(s, opts);
  if (p) throw textError(field, p);
  return s;
}

/** The error for bytes that are not UTF-8 (a request body, a percent-encoded query value, a file); `what` names them in the message. */
export function notUtf8Error(field: string, what = shownField(field)): AppError {
  return new AppError('TEXT_INVALID', `${what} is not valid UTF-8; save or send it as UTF-8. Nothing was changed.`, { field: shownField(field) });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes from a file or a request as text, refusing invalid UTF-8 instead of replacing it with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, field: string, what?: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw notUtf8Error(field, what);
  }
}

/** `s` with every refused character written as `\u{…}`, for echoing input back in a message. */
export function visible(s: string, opts: TextOptions = {}): string {
  if (!REFUSED.test(s)) return s;
  const chars = Array.from(s);
  return chars.map((c, i) => (refusedAt(chars, i, opts) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c)).join('');
}
