import { AppError } from './errors.ts';

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Validates one e-mail address and returns it normalised (domain lower-cased, IDN domains as
 * A-labels). Deliberately stricter than RFC 5322: no quoted local parts, comments, groups, lists
 * or display names, so nothing a mail library might parse differently ever gets through.
 */
export function normalizeEmail(input: string, field = 'EmailAddress'): string {
  const raw = String(input ?? '');
  const bad = (why: string): never => {
    throw new AppError('EMAIL_INVALID', `${field} "${printable(raw)}" is not a valid e-mail address: ${why}.`, { field });
  };
  const s = raw.trim();
  if (s.length === 0) bad('it is empty');
  if (/[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(s)) bad('it contains control characters or line breaks');
  if (/[,;<>()"\s\\[\]:]/.test(s)) bad('it contains a comma, space, quote, bracket or other character not allowed');
  if (s.length > 254) bad('it is longer than 254 characters');
  const at = s.lastIndexOf('@');
  if (at <= 0 || s.indexOf('@') !== at) bad('it needs exactly one "@" with a name before it');
  const local = s.slice(0, at);
  const domainIn = s.slice(at + 1);
  if (local.length > 64) bad('the part before "@" is longer than 64 characters');
  if (!LOCAL_PART.test(local)) bad('the part before "@" has characters that are not allowed');
  if (!domainIn) bad('it has no domain');
  let domain: string;
  try {
    domain = new URL(`http://${domainIn}`).hostname;
  } catch {
    return bad('the domain is not valid');
  }
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels.at(-1)!)) {
    bad('the domain must be a name like contoso.com');
  }
  if (domain.length > 253) bad('the domain is too long');
  const out = `${local}@${domain}`;
  if (out.length > 254) bad('it is longer than 254 characters');
  return out;
}

/** Shows a refused value in a message without letting control characters through. */
export function printable(s: string, max = 80): string {
  const clean = s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
