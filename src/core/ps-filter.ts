import { AppError } from './errors.ts';
import { printable } from './email-address.ts';

/**
 * Get-CsUser's `-Filter`: the PowerShell-style filter string Microsoft's cmdlets take
 * (`{Department -eq "Finance"}`, `DisplayName -like "Ken*" -and Enabled -eq $true`), read into a
 * tree and matched against a user's properties. Property names and text compare
 * case-insensitively, as in PowerShell; -and and -or have equal precedence, left to right.
 */
export type PsFilterOp = 'eq' | 'ne' | 'like' | 'notlike' | 'gt' | 'ge' | 'lt' | 'le' | 'match' | 'notmatch';
export type PsFilter =
  | { k: 'cmp'; property: string; op: PsFilterOp; value: string | number | boolean | null }
  | { k: 'not'; arg: PsFilter }
  | { k: 'bool'; op: 'and' | 'or'; left: PsFilter; right: PsFilter };

const OPS: readonly PsFilterOp[] = ['eq', 'ne', 'like', 'notlike', 'gt', 'ge', 'lt', 'le', 'match', 'notmatch'];
type Tok = { t: 'op'; v: string } | { t: 'word'; v: string } | { t: 'str'; v: string } | { t: '(' | ')' | '!' };

function refuse(text: string, why: string): never {
  throw new AppError('USER_FILTER_INVALID', `-Filter "${printable(text).slice(0, 80)}": ${why}. Write it as {Property -eq "value"}, joined by -and / -or.`, { field: 'Filter' });
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')' || c === '!') {
      out.push({ t: c });
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) refuse(text, 'a quoted value is not closed');
        if (text[i] === c && text[i + 1] === c) {
          v += c;
          i += 2;
        } else if (text[i] === c) break;
        else v += text[i++];
      }
      i++;
      out.push({ t: 'str', v });
    } else {
      const m = /^-?[^\s()"'!]+/.exec(text.slice(i))!;
      out.push(m[0].startsWith('-') && /^-[A-Za-z]+$/.test(m[0]) ? { t: 'op', v: m[0].slice(1).toLowerCase() } : { t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

export function parsePsFilter(raw: string): PsFilter {
  let text = raw.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text === '' || text.length > 2048) refuse(raw, 'it must be 1 to 2048 characters');
  const toks = tokenize(text);
  let i = 0;
  const term = (): PsFilter => {
    const t = toks[i];
    if (!t) refuse(raw, 'it ends where a comparison was expected');
    if (t.t === '!' || (t.t === 'op' && t.v === 'not')) {
      i++;
      return { k: 'not', arg: term() };
    }
    if (t.t === '(') {
      i++;
      const e = expr();
      if (toks[i]?.t !== ')') refuse(raw, 'a parenthesis is not closed');
      i++;
      return e;
    }
    if (t.t !== 'word' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(t.v)) refuse(raw, `"${t.t === 'word' || t.t === 'str' || t.t === 'op' ? t.v : t.t}" is not a property name`);
    const opTok = toks[i + 1];
    const op = opTok?.t === 'op' ? (opTok.v.replace(/^[ci](?=(eq|ne|like|notlike|gt|ge|lt|le|match|notmatch)$)/, '') as PsFilterOp) : null;
    if (!op || !OPS.includes(op)) refuse(raw, `after ${t.v} comes no comparison operator (${OPS.map((o) => `-${o}`).join(' ')})`);
    const v = toks[i + 2];
    if (!v || (v.t !== 'word' && v.t !== 'str')) refuse(raw, `-${op} has no value after it`);
    i += 3;
    return { k: 'cmp', property: t.v, op, value: v.t === 'str' ? v.v : literal(v.v) };
  };
  const expr = (): PsFilter => {
    let left = term();
    while (toks[i]?.t === 'op' && ((toks[i] as { v: string }).v === 'and' || (toks[i] as { v: string }).v === 'or')) {
      const op = (toks[i] as { v: string }).v as 'and' | 'or';
      i++;
      left = { k: 'bool', op, left, right: term() };
    }
    return left;
  };
  const tree = expr();
  if (i < toks.length) refuse(raw, 'there is more after the end of the comparison');
  return tree;
}

function literal(w: string): string | number | boolean | null {
  const lc = w.toLowerCase();
  if (lc === '$true') return true;
  if (lc === '$false') return false;
  if (lc === '$null') return null;
  if (w.startsWith('$')) refuse(w, `the variable ${w} cannot be read here (only $true, $false and $null)`);
  return /^-?\d+(\.\d+)?$/.test(w) ? Number(w) : w;
}

function property(o: Readonly<Record<string, unknown>>, name: string): unknown {
  const lc = name.toLowerCase();
  const k = Object.keys(o).find((x) => x.toLowerCase() === lc);
  return k === undefined ? null : o[k];
}

function wildcard(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 'is');
}

function compareOne(op: PsFilterOp, l: unknown, r: string | number | boolean | null): boolean {
  if (r === null || l === null || l === undefined) {
    const bothNull = (r === null) === (l === null || l === undefined || l === '');
    return op === 'eq' ? bothNull : op === 'ne' ? !bothNull : false;
  }
  if (typeof l === 'boolean') {
    const rb = typeof r === 'boolean' ? r : String(r).toLowerCase() === 'true';
    return op === 'eq' ? l === rb : op === 'ne' ? l !== rb : false;
  }
  const ls = String(l);
  const rs = String(r);
  switch (op) {
    case 'eq':
      return ls.toLowerCase() === rs.toLowerCase();
    case 'ne':
      return ls.toLowerCase() !== rs.toLowerCase();
    case 'like':
      return wildcard(rs).test(ls);
    case 'notlike':
      return !wildcard(rs).test(ls);
    case 'match':
    case 'notmatch': {
      let re: RegExp;
      try {
        re = new RegExp(rs, 'i');
      } catch {
        refuse(rs, `"${rs}" is not a regular expression`);
      }
      return re.test(ls) === (op === 'match');
    }
  }
  const n = typeof l === 'number' && typeof r === 'number' ? l - r : ls.toLowerCase() < rs.toLowerCase() ? -1 : ls.toLowerCase() > rs.toLowerCase() ? 1 : 0;
  return op === 'gt' ? n > 0 : op === 'ge' ? n >= 0 : op === 'lt' ? n < 0 : n <= 0;
}

export function psFilterMatches(f: PsFilter, o: Readonly<Record<string, unknown>>): boolean {
  switch (f.k) {
    case 'not':
      return !psFilterMatches(f.arg, o);
    case 'bool':
      return f.op === 'and' ? psFilterMatches(f.left, o) && psFilterMatches(f.right, o) : psFilterMatches(f.left, o) || psFilterMatches(f.right, o);
    case 'cmp': {
      const v = property(o, f.property);
      // A list (a user's several values) matches when one of its items does, as in PowerShell.
      if (Array.isArray(v)) return f.op === 'ne' || f.op === 'notlike' || f.op === 'notmatch' ? v.every((x) => compareOne(f.op, x, f.value)) : v.some((x) => compareOne(f.op, x, f.value));
      return compareOne(f.op, v, f.value);
    }
  }
}
