import { AppError } from './errors.ts';

/** Languages a service number can announce in (Get-CsOnlineDialInConferencingLanguagesSupported). */
export const BRIDGE_LANGUAGES = [
  'ar-SA', 'zh-CN', 'zh-TW', 'da-DK', 'nl-NL', 'en-AU', 'en-GB', 'en-US', 'fi-FI', 'fr-CA', 'fr-FR', 'de-DE',
  'he-IL', 'it-IT', 'ja-JP', 'ko-KR', 'nb-NO', 'pt-BR', 'ru-RU', 'es-MX', 'es-ES', 'sv-SE', 'tr-TR', 'uk-UA',
] as const;

/** Languages dialin writes mail and pages in. */
export const MAIL_LANGUAGES = ['en', 'fr'] as const;
export type MailLanguage = (typeof MAIL_LANGUAGES)[number];

/** Canonical casing for a bridge culture code (`de-de` → `de-DE`), or an error naming the field. */
export function toBridgeLanguage(input: string, field = 'PrimaryLanguage'): string {
  const found = BRIDGE_LANGUAGES.find((l) => l.toLowerCase() === String(input).trim().toLowerCase());
  if (!found) {
    throw new AppError('LANGUAGE_INVALID', `${field} "${input}" is not a supported language; use one of ${BRIDGE_LANGUAGES.join(', ')}.`, { field });
  }
  return found;
}

/** Normalises a user's preferred language tag (`fr`, `FR-ca`, `en_US`) to `ll` or `ll-CC`. */
export function toUserLanguage(input: string, field = 'Language'): string {
  const s = String(input ?? '').trim().replace('_', '-');
  if (s === '') return '';
  const m = /^([A-Za-z]{2,3})(?:-([A-Za-z]{2}|[0-9]{3}))?$/.exec(s);
  if (!m) throw new AppError('LANGUAGE_INVALID', `${field} "${s}" is not a language tag such as en, fr or fr-CA.`, { field });
  return m[2] ? `${m[1]!.toLowerCase()}-${m[2].toUpperCase()}` : m[1]!.toLowerCase();
}

/** The mail language for a user: their language if dialin has it, else the tenant's, else English. */
export function pickMailLanguage(userLanguage: string | null | undefined, tenantDefault: string | null | undefined): MailLanguage {
  for (const tag of [userLanguage, tenantDefault]) {
    const primary = (tag ?? '').slice(0, 2).toLowerCase();
    if ((MAIL_LANGUAGES as readonly string[]).includes(primary)) return primary as MailLanguage;
  }
  return 'en';
}
