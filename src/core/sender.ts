import { AppError } from './errors.ts';
import { normalizeEmail, printable } from './email-address.ts';
import type { TenantSettings } from './tenant-settings.ts';

/** A mailbox as nodemailer takes it: never a raw header string. */
export interface Mailbox {
  name: string;
  address: string;
}

const DISPLAY_NAME_MAX = 256;
const CONTROL = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/;

/**
 * Parses a configured sender such as `"Dial-in Conferencing" <noreply@contoso.com>`,
 * `Dial-in <noreply@contoso.com>` or a bare address. Only one mailbox, no groups or comments,
 * no control characters: the result goes to nodemailer as `{ name, address }`.
 */
export function parseMailbox(input: string, field = 'DIALIN_MAIL_FROM'): Mailbox {
  const s = String(input ?? '').trim();
  if (CONTROL.test(s)) throw new AppError('EMAIL_INVALID', `${field} "${printable(s)}" contains control characters or line breaks.`, { field });
  const m = /^(?:"((?:[^"\\]|\\.)*)"|([^"<>]*?))\s*<([^<>]+)>$/.exec(s);
  const name = m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '')).trim() : '';
  const address = normalizeEmail(m ? m[3]! : s, field);
  return { name: checkDisplayName(name, field), address };
}

/** A display name for a From or To header: one line, at most 256 characters. */
export function checkDisplayName(name: string, field: string): string {
  const s = String(name ?? '').trim();
  if (s.length > DISPLAY_NAME_MAX || CONTROL.test(s)) {
    throw new AppError('DISPLAY_NAME_INVALID', `${field} must be a name of at most ${DISPLAY_NAME_MAX} characters on one line.`, { field });
  }
  return s;
}

/**
 * The From of a mail: the per-message sender when the command gave one, else the tenant's
 * address and display name when SendEmailFromOverride is on (and both are set), else the default.
 */
export function chooseSender(settings: Pick<TenantSettings, 'SendEmailFromOverride' | 'SendEmailFromAddress' | 'SendEmailFromDisplayName'>, fallback: Mailbox, explicit?: Mailbox | null): Mailbox {
  if (explicit) return explicit;
  if (settings.SendEmailFromOverride && settings.SendEmailFromAddress && settings.SendEmailFromDisplayName) {
    return { name: settings.SendEmailFromDisplayName, address: settings.SendEmailFromAddress };
  }
  return fallback;
}

/** The built-in sender name in each mail language (French: the seed's "Conférences rendez-vous"). */
export const DEFAULT_SENDER_NAMES = Object.freeze({ en: 'Dial-in Conferencing', fr: 'Conférences rendez-vous' } as const);

/**
 * The deployment's sender in the mail's language: only the built-in name is translated; a name an
 * administrator chose (DIALIN_MAIL_FROM) is theirs and stays as written.
 */
export function localizedDefaultSender(fallback: Mailbox, language: keyof typeof DEFAULT_SENDER_NAMES): Mailbox {
  const builtIn = Object.values(DEFAULT_SENDER_NAMES) as string[];
  return builtIn.includes(fallback.name) ? { ...fallback, name: DEFAULT_SENDER_NAMES[language] ?? fallback.name } : fallback;
}
