/**
 * Distinguished names as far as a sync compares them: a group's member values are written by
 * whoever added them, so `CN=Ann, OU=People` and `cn=ann,ou=people` must be the same person.
 */

/** Lower-cased, without the spaces around separators (escaped characters are kept as written). */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*([,=+])\s*/g, '$1')
    .toLowerCase();
}

/** True when `dn` is `base` or lies under it. */
export function isUnder(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return b === '' || d === b || d.endsWith(`,${b}`);
}

/** A light syntax check: attribute=value pairs separated by commas. */
export function looksLikeDn(dn: string): boolean {
  return /^\s*[A-Za-z][A-Za-z0-9-]*\s*=\s*[^,]+(\s*,\s*[A-Za-z][A-Za-z0-9-]*\s*=\s*[^,]+)*\s*$/.test(dn.replace(/\\,/g, ''));
}
