import { AppError } from './errors.ts';

export const ADMIN_PASSWORD_MIN = 12;
export const ADMIN_PASSWORD_MAX = 256;

/**
 * What an administrator's chosen password must be (NIST SP 800-63B §5.1.1.2): long enough, not
 * one character repeated (nor only spaces), and not in a list of common or breached passwords.
 * The list is given by the caller (`isCommon`, on the lower-cased password), so the rule stays
 * pure; no composition rules ("a digit and a symbol"), which NIST advises against.
 */
export function checkAdminPassword(pw: string, isCommon: (lowerCased: string) => boolean, field = 'Password'): string {
  const chars = [...pw];
  if (chars.length < ADMIN_PASSWORD_MIN || chars.length > ADMIN_PASSWORD_MAX) {
    throw new AppError('PASSWORD_INVALID', `The ${field.toLowerCase()} must have ${ADMIN_PASSWORD_MIN} to ${ADMIN_PASSWORD_MAX} characters.`, { field });
  }
  if (pw.trim() === '' || new Set(chars).size === 1) {
    throw new AppError('PASSWORD_TRIVIAL', `The ${field.toLowerCase()} is one character repeated or only spaces; choose a passphrase of several words.`, { field });
  }
  const lower = pw.toLowerCase();
  if (isCommon(lower) || isCommon(lower.trim())) {
    throw new AppError('PASSWORD_COMMON', `The ${field.toLowerCase()} is in a list of common or breached passwords; choose a passphrase of several words.`, { field });
  }
  return pw;
}
