import type { FastifyRequest } from 'fastify';
import type { AppError } from '../../../core/errors.ts';
import { EN, type MsgKey } from './texts-en.ts';
import { FR } from './texts-fr.ts';

export type { MsgKey };

/**
 * The pages' texts in English and French. The language comes from the switch (a cookie), else
 * from the browser's Accept-Language, else English. Texts are written for dialin, not copied.
 */
export const PAGE_LANGUAGES = ['en', 'fr'] as const;
export type Lang = (typeof PAGE_LANGUAGES)[number];
export const LANGUAGE_COOKIE = 'dialin-lang';
export const LANGUAGE_NAMES: Readonly<Record<string, string>> = { en: 'English', fr: 'Français' };

const DICTS: Readonly<Record<Lang, Record<MsgKey, string>>> = { en: EN, fr: FR };

export function isLang(v: string): v is Lang {
  return (PAGE_LANGUAGES as readonly string[]).includes(v);
}

export function translate(lang: Lang, key: MsgKey, vars: Record<string, string | number> = {}): string {
  return DICTS[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

/** An error's message in the page language when we have it written, else the core's (English) message. */
export function errorMessage(lang: Lang, e: AppError): string {
  const key = `code.${e.code}` as MsgKey;
  return key in EN ? translate(lang, key) : e.message;
}

/** The switch's cookie, else the first of the browser's languages we write, else English. */
export function pickLanguage(req: FastifyRequest): Lang {
  const chosen = req.cookies?.[LANGUAGE_COOKIE];
  if (chosen && isLang(chosen)) return chosen;
  const header = String(req.headers['accept-language'] ?? '');
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^q=([0-9.]+)$/.exec(p.trim())?.[1]).find(Boolean);
      return { lang: (tag ?? '').slice(0, 2).toLowerCase(), q: q === undefined ? 1 : Number(q) };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked.map((x) => x.lang).find(isLang) ?? 'en';
}
