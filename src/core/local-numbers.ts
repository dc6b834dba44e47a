import { countryOf, displayNumber, oneTap } from './phone-number.ts';

/** One access number of a bridge as its public "Find a local number" page needs it. */
export interface AccessNumber {
  number: string;
  type: 'Toll' | 'TollFree';
  city: string | null;
  primaryLanguage: string | null;
  secondaryLanguages: readonly string[];
}

export interface ShownNumber {
  formatted: string;
  /** Dials the number alone: the page knows no conference ID. */
  tel: string;
  type: 'Toll' | 'TollFree';
  /** The announcement languages, named in the reader's language (primary first). */
  languages: string[];
}

export interface CountryGroup {
  /** ISO region code, or '' for a number whose plan names no country. */
  code: string;
  name: string;
  cities: { city: string | null; numbers: ShownNumber[] }[];
}

function named(kind: 'region' | 'language', lang: string, code: string): string {
  try {
    return new Intl.DisplayNames([lang], { type: kind, fallback: 'code' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/**
 * Every access number grouped by country, then city (numbers without a city last in their
 * country), names of countries and languages in the reader's language; toll before toll-free.
 */
export function groupAccessNumbers(numbers: readonly AccessNumber[], lang: string, otherCountry: string): CountryGroup[] {
  const countries = new Map<string, CountryGroup>();
  for (const n of numbers) {
    const code = countryOf(n.number) ?? '';
    let g = countries.get(code);
    if (!g) countries.set(code, (g = { code, name: code ? named('region', lang, code) : otherCountry, cities: [] }));
    let c = g.cities.find((x) => x.city === n.city);
    if (!c) g.cities.push((c = { city: n.city, numbers: [] }));
    c.numbers.push({
      formatted: displayNumber(n.number),
      tel: oneTap(n.number, null).tel,
      type: n.type,
      languages: [n.primaryLanguage, ...n.secondaryLanguages].filter((l): l is string => !!l).map((l) => named('language', lang, l)),
    });
  }
  const collator = new Intl.Collator(lang);
  const groups = [...countries.values()].sort((a, b) => (a.code === '' ? 1 : 0) - (b.code === '' ? 1 : 0) || collator.compare(a.name, b.name));
  for (const g of groups) {
    g.cities.sort((a, b) => (a.city === null ? 1 : 0) - (b.city === null ? 1 : 0) || collator.compare(a.city ?? '', b.city ?? ''));
    for (const c of g.cities) c.numbers.sort((a, b) => (a.type === b.type ? a.formatted.localeCompare(b.formatted) : a.type === 'Toll' ? -1 : 1));
  }
  return groups;
}
