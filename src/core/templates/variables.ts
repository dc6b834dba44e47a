import { KIND_CARRIES_PIN, MAIL_KINDS, type MailData, type MailKind } from '../mail-kinds.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../languages.ts';
import { AppError } from '../errors.ts';

/** The three parts of every mail template. */
export const TEMPLATE_PARTS = ['subject', 'html', 'text'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

/** One template: a Liquid source per part. */
export type TemplateSet = Readonly<Record<TemplatePart, string>>;

/**
 * The placeholders a template may use, with what they hold. This list is the whole contract:
 * a template naming anything else (or a property of one of these) is refused when it is saved.
 */
export const TEMPLATE_VARIABLES = Object.freeze({
  displayName: "the user's display name",
  sipAddress: "the user's account (SIP address)",
  conferenceId: 'the conference ID callers enter',
  tollNumber: 'the default toll number, E.164 (empty when none)',
  tollFreeNumber: 'the default toll-free number, E.164 (empty when none)',
  bridgeName: 'the name of the conference bridge',
  settingsUrl: 'the link to the Dial-in Conferencing Settings page',
  pin: 'the leader PIN (welcome and pin_changed only)',
} as const);
export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

/** The placeholders allowed in templates of `kind`: the PIN only where the kind carries it. */
export function variablesFor(kind: MailKind): TemplateVariable[] {
  return (Object.keys(TEMPLATE_VARIABLES) as TemplateVariable[]).filter((v) => v !== 'pin' || KIND_CARRIES_PIN[kind]);
}

/** What a render gets: the mail data, the settings link and, for the PIN kinds, the PIN. */
export type TemplateValues = Record<TemplateVariable, string>;

/** Builds the values of a render; nulls become empty strings so `{% if tollFreeNumber %}` works. */
export function templateValues(data: MailData, settingsUrl: string, pin: string | null): TemplateValues {
  return {
    displayName: data.displayName,
    sipAddress: data.sipAddress.replace(/^sip:/i, ''),
    conferenceId: data.conferenceId ?? '',
    tollNumber: data.tollNumber ?? '',
    tollFreeNumber: data.tollFreeNumber ?? '',
    bridgeName: data.bridgeName ?? '',
    settingsUrl,
    pin: pin ?? '',
  };
}

/** Checks a kind name given on the command line or in the API. */
export function toMailKind(input: string, field = 'Kind'): MailKind {
  const k = String(input ?? '').trim().toLowerCase().replace(/-/g, '_');
  if (!(MAIL_KINDS as readonly string[]).includes(k)) {
    throw new AppError('TEMPLATE_NOT_FOUND', `${field} "${input}" is not a mail kind; use one of ${MAIL_KINDS.join(', ')}.`, { field });
  }
  return k as MailKind;
}

/** Checks a mail language given on the command line or in the API. */
export function toMailLanguage(input: string, field = 'Language'): MailLanguage {
  const l = String(input ?? '').trim().toLowerCase();
  if (!(MAIL_LANGUAGES as readonly string[]).includes(l)) {
    throw new AppError('TEMPLATE_NOT_FOUND', `${field} "${input}" is not a mail language; use one of ${MAIL_LANGUAGES.join(', ')}.`, { field });
  }
  return l as MailLanguage;
}

/** Checks a template part name. */
export function toTemplatePart(input: string, field = 'Part'): TemplatePart {
  const p = String(input ?? '').trim().toLowerCase();
  if (!(TEMPLATE_PARTS as readonly string[]).includes(p)) {
    throw new AppError('TEMPLATE_NOT_FOUND', `${field} "${input}" is not a template part; use one of ${TEMPLATE_PARTS.join(', ')}.`, { field });
  }
  return p as TemplatePart;
}
