/**
 * RFC 4515 filters (`-LdapFilter "(&(Title=Manager)(department=Fin*))"`) evaluated over the
 * attributes dialin keeps of a person. The string is parsed by ldapts in the adapter and handed
 * here as this tree; matching is pure. Attribute names and values compare case-insensitively,
 * as the directory's caseIgnoreMatch does for names, titles and departments.
 */
export type LdapFilter =
  | { op: 'and' | 'or'; filters: LdapFilter[] }
  | { op: 'not'; filter: LdapFilter }
  | { op: 'eq' | 'approx' | 'ge' | 'le'; attribute: string; value: string }
  | { op: 'present'; attribute: string }
  | { op: 'substring'; attribute: string; initial: string; any: string[]; final: string };

/** A person's attributes: lower-cased names, each with its values. */
export type AttributeBag = ReadonlyMap<string, readonly string[]>;

const fold = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();

function ordered(a: string, b: string): number {
  // Numbers compare as numbers (an employee number, a USN); everything else as folded text.
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) return Number(a) - Number(b);
  const x = fold(a);
  const y = fold(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function substringMatch(v: string, f: Extract<LdapFilter, { op: 'substring' }>): boolean {
  let s = fold(v);
  const initial = fold(f.initial);
  const final = fold(f.final);
  if (!s.startsWith(initial)) return false;
  s = s.slice(initial.length);
  for (const part of f.any.map(fold)) {
    const i = s.indexOf(part);
    if (i < 0) return false;
    s = s.slice(i + part.length);
  }
  return s.endsWith(final);
}

export function ldapMatches(f: LdapFilter, bag: AttributeBag): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => ldapMatches(x, bag));
    case 'or':
      return f.filters.some((x) => ldapMatches(x, bag));
    case 'not':
      return !ldapMatches(f.filter, bag);
    case 'present':
      return f.attribute.toLowerCase() === 'objectclass' || (bag.get(f.attribute.toLowerCase())?.length ?? 0) > 0;
  }
  const values = bag.get(f.attribute.toLowerCase()) ?? [];
  switch (f.op) {
    case 'eq':
    case 'approx':
      return values.some((v) => fold(v) === fold(f.value));
    case 'ge':
      return values.some((v) => ordered(v, f.value) >= 0);
    case 'le':
      return values.some((v) => ordered(v, f.value) <= 0);
    case 'substring':
      return values.some((v) => substringMatch(v, f));
  }
}

/** The attribute names a filter mentions (lower-cased), to tell an admin which ones dialin does not keep. */
export function filterAttributes(f: LdapFilter): string[] {
  switch (f.op) {
    case 'and':
    case 'or':
      return [...new Set(f.filters.flatMap(filterAttributes))];
    case 'not':
      return filterAttributes(f.filter);
    default:
      return [f.attribute.toLowerCase()];
  }
}
