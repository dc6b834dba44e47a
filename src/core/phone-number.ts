import { AppError } from './errors.ts';

/**
 * Normalises a service number to E.164 with a leading "+". Accepts the forms Microsoft's cmdlets
 * accept: `+14255551234`, `14255551234`, `tel:+14255551234`. Spaces, dots, dashes and brackets
 * used for readability are dropped; anything else is refused.
 */
export function toE164(input: string, field = 'Number'): string {
  const raw = String(input ?? '').trim();
  let s = raw.replace(/^tel:/i, '').replace(/[\s.\-()]/g, '');
  if (s.startsWith('+')) s = s.slice(1);
  if (!/^[1-9][0-9]{6,14}$/.test(s)) {
    throw new AppError('NUMBER_INVALID', `${field} "${raw}" is not a phone number in E.164 form (e.g. +14255551234).`, { field });
  }
  return `+${s}`;
}

/** How a number is shown in mail and pages: E.164 as stored. */
export function displayNumber(e164: string | null | undefined): string {
  return e164 ?? '';
}
