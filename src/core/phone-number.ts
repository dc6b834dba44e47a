import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js/max';
import { AppError } from './errors.ts';

/** What a caller may type around the digits: the forms Microsoft's cmdlets accept, and readability marks. */
const ACCEPTED = /^\+?[0-9][0-9\s.\-()]*$/;

/**
 * Normalises a service number to E.164 with a leading "+". Accepts the forms Microsoft's cmdlets
 * accept: `+14255551234`, `14255551234`, `tel:+14255551234`, with spaces, dots, dashes and
 * brackets for readability; the number must be a valid number of its country (libphonenumber's
 * full metadata), so a digit too many or a number plan that does not exist is refused here.
 */
export function toE164(input: string, field = 'Number'): string {
  const raw = String(input ?? '').trim();
  const s = raw.replace(/^tel:/i, '');
  // Checked before parsing: the library also reads letters, extensions and full-width digits.
  const parsed = ACCEPTED.test(s) ? parsePhoneNumberFromString(s.startsWith('+') ? s : `+${s}`) : undefined;
  if (!parsed || !parsed.isValid()) {
    throw new AppError('NUMBER_INVALID', `${field} "${raw}" is not a phone number in E.164 form (e.g. +14255551234).`, { field });
  }
  return parsed.number;
}

function parseStored(e164: string): PhoneNumber | undefined {
  try {
    return parsePhoneNumberFromString(e164);
  } catch {
    return undefined;
  }
}

/**
 * How a stored number is shown to people: international form as the country writes it
 * (`+33 1 70 00 01 00`, `+44 20 3443 0000`); North American numbers as Teams writes them,
 * `+1 425-555-0100`. A value the library cannot read is shown as stored.
 */
export function displayNumber(e164: string | null | undefined): string {
  if (!e164) return '';
  const p = parseStored(e164);
  if (!p) return e164;
  if (p.countryCallingCode === '1') {
    const national = p.formatNational().replace(/^\((\d{3})\)\s*/, '$1-');
    if (/^\d{3}-\d{3}-\d{4}$/.test(national)) return `+1 ${national}`;
  }
  return p.formatInternational();
}

/** Whether a number is toll-free by its number plan (used when nothing stored says). */
export function isTollFreeNumber(e164: string): boolean {
  return parseStored(e164)?.getType() === 'TOLL_FREE';
}

/** A conference ID as people read it: groups of three, then the # they press (`529 037 6#`). */
export function groupConferenceId(id: string | null | undefined): string {
  if (!id) return '';
  return `${id.replace(/(\d{3})(?=\d)/g, '$1 ')}#`;
}

/**
 * The one-tap form of a number that dials into a meeting: two pauses, the conference ID and #.
 * `tel:+14255550100,,5290376%23` (the `#` encoded: it would end the URI) shown as
 * `+1 425-555-0100,,5290376#`, as Teams invitations write it. Without an ID, the number alone.
 */
export function oneTap(e164: string, conferenceId: string | null | undefined): { tel: string; shown: string } {
  const shown = displayNumber(e164);
  if (!conferenceId) return { tel: `tel:${e164}`, shown };
  return { tel: `tel:${e164},,${conferenceId}%23`, shown: `${shown},,${conferenceId}#` };
}

/** The country (ISO 3166 region code) of a stored number, or null when its plan does not say. */
export function countryOf(e164: string): string | null {
  return parseStored(e164)?.country ?? null;
}
