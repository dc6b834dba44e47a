import { AppError } from './errors.ts';
import { normalizeEmail, printable } from './email-address.ts';
import { looksLikeDn } from './ldap-dn.ts';

/** How an -Identity value is to be looked up. */
export type IdentityQuery =
  | { by: 'sip'; sip: string } // sip:bob@contoso.com or bob@contoso.com
  | { by: 'id'; id: string } // the user's id (a UUID)
  | { by: 'logon'; domain: string; logon: string } // litwareinc\kenmyer
  | { by: 'displayName'; displayName: string } // "Ken Myer"
  | { by: 'dn'; dn: string }; // "CN=Ken Myer,OU=Finance,DC=litwareinc,DC=com": Get-CsUser's Identity

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses one identity in any of the forms Microsoft's cmdlets accept. */
export function parseIdentity(input: string, field = 'Identity'): IdentityQuery {
  const s = String(input ?? '').trim();
  if (s === '') throw new AppError('INVALID_ARGUMENT', `${field} is empty.`, { field });
  if (UUID.test(s)) return { by: 'id', id: s.toLowerCase() };
  if (/^sip:/i.test(s) || (s.includes('@') && !/\s/.test(s))) return { by: 'sip', sip: toSipUri(s, field) };
  if (/^[A-Za-z][A-Za-z0-9-]*\s*=/.test(s) && looksLikeDn(s)) return { by: 'dn', dn: s };
  const m = /^([^\\\s]+)\\([^\\\s]+)$/.exec(s);
  if (m) return { by: 'logon', domain: m[1]!.toLowerCase(), logon: m[2]!.toLowerCase() };
  if (/[\u0000-\u001f]/.test(s)) throw new AppError('INVALID_ARGUMENT', `${field} "${printable(s)}" has control characters.`, { field });
  return { by: 'displayName', displayName: s };
}

/** An identity written back the way an admin would type it (for messages, never JSON). */
export function identityText(q: IdentityQuery): string {
  switch (q.by) {
    case 'sip':
      return q.sip;
    case 'id':
      return q.id;
    case 'logon':
      return `${q.domain}\\${q.logon}`;
    case 'displayName':
      return q.displayName;
    case 'dn':
      return q.dn;
  }
}

/** `bob@contoso.com` or `sip:Bob@Contoso.com` → `sip:bob@contoso.com`. */
export function toSipUri(input: string, field = 'UserUri'): string {
  const s = String(input ?? '').trim().replace(/^sip:/i, '');
  try {
    return `sip:${normalizeEmail(s, field).toLowerCase()}`;
  } catch (e) {
    throw new AppError('USER_URI_INVALID', `${field} "${printable(String(input))}" is not a SIP address such as sip:bob@contoso.com.`, { field, cause: e });
  }
}

/** Checks a display name: 1–256 characters, no control characters or line breaks. */
export function checkDisplayName(input: string, field = 'DisplayName'): string {
  const s = String(input ?? '').trim();
  if (s === '' || s.length > 256 || /[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(s)) {
    throw new AppError('DISPLAY_NAME_INVALID', `${field} must be 1 to 256 characters with no line breaks or control characters.`, { field });
  }
  return s;
}
