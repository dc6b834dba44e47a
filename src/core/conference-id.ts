import { AppError } from './errors.ts';
import type { RandomInt } from './pin.ts';

/** Conference ID length range (tenant setting ConferenceIdLength), check digit included. */
export const CONFERENCE_ID_LENGTH_MIN = 6;
export const CONFERENCE_ID_LENGTH_MAX = 10;
/** A released conference ID is not handed out again for this long. */
export const CONFERENCE_ID_QUARANTINE_MS = 30 * 24 * 3600_000;

// Damm's quasigroup: one check digit catches every single-digit error and every adjacent
// transposition, so a mistyped ID is refused without a database lookup (Luhn misses 09<->90).
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

export function dammCheckDigit(digits: string): number {
  let interim = 0;
  for (let i = 0; i < digits.length; i++) interim = DAMM[interim]![digits.charCodeAt(i) - 48]!;
  return interim;
}

/** A random conference ID of `length` digits whose last digit is the check digit; never starts with 0. */
export function generateConferenceId(length: number, randomInt: RandomInt): string {
  let body = String(1 + randomInt(9));
  for (let i = 1; i < length - 1; i++) body += String(randomInt(10));
  return body + String(dammCheckDigit(body));
}

/** Validates the form of a conference ID typed by a person: digits, length, check digit. */
export function checkConferenceId(id: string, length: number, field = 'ConferenceId'): void {
  if (!/^[0-9]+$/.test(id)) throw new AppError('CONFERENCE_ID_INVALID', `${field} must contain only digits.`, { field });
  if (id.length !== length) throw new AppError('CONFERENCE_ID_INVALID', `${field} must have ${length} digits (tenant ConferenceIdLength).`, { field });
  if (dammCheckDigit(id) !== 0) throw new AppError('CONFERENCE_ID_INVALID', `${field} ${id} has a wrong check digit: it was probably mistyped.`, { field });
}

/** True when `id` has the form of a conference ID (used by the PIN check before any lookup). */
export function isWellFormedConferenceId(id: string): boolean {
  return /^[0-9]{6,10}$/.test(id) && dammCheckDigit(id) === 0;
}
