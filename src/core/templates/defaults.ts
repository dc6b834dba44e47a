import { MAIL_KINDS, type MailKind } from '../mail-kinds.ts';
import type { MailLanguage } from '../languages.ts';
import { templateSet, type LanguagePack } from './layout.ts';
import type { TemplateSet } from './variables.ts';
import { EN } from './en.ts';
import { FR } from './fr.ts';

const PACKS: Record<MailLanguage, LanguagePack> = { en: EN, fr: FR };

/** The built-in template of every kind and language; tenants override parts of them. */
export const DEFAULT_TEMPLATES: Readonly<Record<MailKind, Readonly<Record<MailLanguage, TemplateSet>>>> = Object.freeze(
  Object.fromEntries(
    MAIL_KINDS.map((kind) => [kind, Object.freeze(Object.fromEntries(Object.entries(PACKS).map(([lang, pack]) => [lang, templateSet(pack, kind)])))]),
  ) as Record<MailKind, Record<MailLanguage, TemplateSet>>,
);
