import { AndFilter, ApproximateFilter, EqualityFilter, type Filter, FilterParser, GreaterThanEqualsFilter, LessThanEqualsFilter, NotFilter, OrFilter, PresenceFilter, SubstringFilter } from 'ldapts';
import { AppError } from '../../core/errors.ts';
import { printable } from '../../core/email-address.ts';
import type { LdapFilter } from '../../core/ldap-filter.ts';

/**
 * An RFC 4515 filter string read by ldapts' parser (the one its searches use) and turned into the
 * core's tree. `Title=Manager` without parentheses is accepted, as Get-CsUser accepts it.
 * Extensible matches (`:dn:`, matching rules) have no meaning over the kept attributes: refused.
 */
export function parseLdapFilter(text: string, field = 'LdapFilter'): LdapFilter {
  const s = text.trim();
  if (s === '' || s.length > 4096) throw new AppError('LDAP_FILTER_INVALID', `-${field} must be an LDAP filter of 1 to 4096 characters such as "(Title=Manager)".`, { field });
  let parsed: Filter;
  try {
    parsed = FilterParser.parseString(s.startsWith('(') ? s : `(${s})`);
  } catch (e) {
    throw new AppError('LDAP_FILTER_INVALID', `-${field} "${printable(s).slice(0, 80)}" is not an RFC 4515 filter: ${printable((e as Error).message).split('. Full string')[0]}.`, { field });
  }
  return toTree(parsed, field);
}

function toTree(f: Filter, field: string): LdapFilter {
  if (f instanceof AndFilter) return { op: 'and', filters: f.filters.map((x) => toTree(x, field)) };
  if (f instanceof OrFilter) return { op: 'or', filters: f.filters.map((x) => toTree(x, field)) };
  if (f instanceof NotFilter) return { op: 'not', filter: toTree(f.filter, field) };
  if (f instanceof EqualityFilter) return { op: 'eq', attribute: f.attribute, value: Buffer.isBuffer(f.value) ? f.value.toString('utf8') : f.value };
  if (f instanceof ApproximateFilter) return { op: 'approx', attribute: f.attribute, value: f.value };
  if (f instanceof GreaterThanEqualsFilter) return { op: 'ge', attribute: f.attribute, value: f.value };
  if (f instanceof LessThanEqualsFilter) return { op: 'le', attribute: f.attribute, value: f.value };
  if (f instanceof PresenceFilter) return { op: 'present', attribute: f.attribute };
  if (f instanceof SubstringFilter) return { op: 'substring', attribute: f.attribute, initial: f.initial, any: f.any, final: f.final };
  throw new AppError('LDAP_FILTER_INVALID', `-${field}: extensible matches (":dn:", matching rules) are not supported over the attributes dialin keeps.`, { field });
}
