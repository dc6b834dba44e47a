import { AppError } from './errors.ts';

/** Tenant PIN length range for generated PINs (Set-CsOnlineDialInConferencingTenantSettings -PinLength). */
export const PIN_LENGTH_MIN = 4;
export const PIN_LENGTH_MAX = 12;

/** What a PIN is checked against: the user's PIN policy plus the user's own numbers. */
export interface PinRules {
  minLength: number;
  allowCommonPatterns: boolean;
  phone?: string | null;
  extension?: string | null;
}

/** Returns a random integer in [0, n); the adapter supplies a CSPRNG. */
export type RandomInt = (n: number) => number;

const ASCII_DIGITS = /^[0-9]+$/;

/** The longest PIN accepted: 12 digits, or the policy minimum when a policy asks for more. */
export function maxPinLength(minLength: number): number {
  return Math.max(PIN_LENGTH_MAX, minLength);
}

/**
 * Checks a chosen PIN. Only ASCII digits count: full-width or Arabic-Indic digits are refused,
 * because a phone keypad sends 0-9 and lookalikes would never verify.
 */
export function checkPin(pin: string, rules: PinRules, field = 'Pin'): void {
  if (typeof pin !== 'string' || !ASCII_DIGITS.test(pin)) {
    throw new AppError('PIN_NOT_DIGITS', `${field} must contain only the digits 0-9.`, { field });
  }
  if (pin.length < rules.minLength) {
    throw new AppError('PIN_TOO_SHORT', `${field} must have at least ${rules.minLength} digits (PIN policy MinPasswordLength).`, { field });
  }
  const max = maxPinLength(rules.minLength);
  if (pin.length > max) {
    throw new AppError('PIN_TOO_LONG', `${field} must have at most ${max} digits.`, { field });
  }
  if (!rules.allowCommonPatterns) {
    const why = commonPatternReason(pin, rules.phone, rules.extension);
    if (why) {
      throw new AppError('PIN_COMMON_PATTERN', `${field} is a common pattern (${why}); the PIN policy does not allow common patterns.`, { field });
    }
  }
}

/**
 * Why a PIN is a "common pattern", or null. Common = a run of 4 or more equal digits, a run of
 * 4 or more consecutive digits ascending or descending, or the user's phone number or extension.
 */
export function commonPatternReason(pin: string, phone?: string | null, extension?: string | null): string | null {
  let same = 1;
  let up = 1;
  let down = 1;
  for (let i = 1; i < pin.length; i++) {
    const d = pin.charCodeAt(i) - pin.charCodeAt(i - 1);
    same = d === 0 ? same + 1 : 1;
    up = d === 1 ? up + 1 : 1;
    down = d === -1 ? down + 1 : 1;
    if (same >= 4) return '4 or more repeated digits';
    if (up >= 4 || down >= 4) return '4 or more consecutive digits';
  }
  const phoneDigits = (phone ?? '').replace(/\D/g, '');
  if (phoneDigits.length >= 4 && (phoneDigits.includes(pin) || pin.includes(phoneDigits))) return 'part of the phone number';
  const ext = (extension ?? '').replace(/\D/g, '');
  if (ext.length > 0 && (pin === ext || (ext.length >= 4 && pin.includes(ext)))) return 'the extension';
  return null;
}

/** Generates a PIN of `length` digits that passes the rules, drawing digits from `randomInt`. */
export function generatePin(length: number, rules: Omit<PinRules, 'minLength' | 'allowCommonPatterns'>, randomInt: RandomInt): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    let pin = '';
    for (let i = 0; i < length; i++) pin += String(randomInt(10));
    if (!commonPatternReason(pin, rules.phone, rules.extension)) return pin;
  }
  // Unreachable in practice: a random 4-digit PIN avoids the patterns with probability > 0.98.
  throw new AppError('INTERNAL_ERROR', 'Could not generate a PIN that avoids common patterns.');
}

/** How a PIN appears anywhere but the one answer to whoever set it. */
export function maskPin(isSet: boolean): string {
  return isSet ? '*****' : '';
}
