import { KIND_CARRIES_PIN, MAIL_KINDS, type MailData, type MailKind } from '../mail-kinds.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../languages.ts';
import { AppError } from '../errors.ts';
import { displayNumber, groupConferenceId, oneTap } from '../phone-number.ts';
import type { ChangeField, MailChange } from '../mail-changes.ts';

/**
 * What a template can be: a mail of each kind, or the invitation block (core/templates/invitation.ts)
 * that the settings page and the welcome mail show. Same parts, same engine, same checks.
 */
export const TEMPLATE_KINDS = [...MAIL_KINDS, 'invitation'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

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
  conferenceId: 'the conference ID callers enter, digits only (5290376)',
  conferenceIdGrouped: 'the conference ID grouped for reading, with the # to press (529 037 6#)',
  tollNumber: 'the default toll number, formatted for its country (+1 425-555-0100; empty when none)',
  tollFreeNumber: 'the default toll-free number, formatted for its country (empty when none)',
  numbers:
    'the default numbers as a list (toll first), for {% for n in numbers %}: n.formatted (+1 425-555-0100), n.dial (+1 425-555-0100,,5290376#), n.tel (the one-tap link tel:+14255550100,,5290376%23), n.city (empty when unknown), n.type (toll or toll-free)',
  changes:
    'info_changed: what changed, as a list for {% for c in changes %}: c.field (conferenceId, tollNumber, tollFreeNumber or bridge), c.old and c.new (formatted; empty for none)',
  bridgeName: 'the name of the conference bridge',
  settingsUrl: 'the link to the Dial-in Conferencing Settings page',
  resetPinUrl: 'the link to the PIN part of the settings page, to choose a new PIN',
  localNumbersUrl: 'the public "Find a local number" page of the user\'s bridge: every access number by country and city, no sign-in (empty when the tenant has no bridge)',
  provider:
    'turned_off after a move to a third-party provider (Set-CsUserAcp): provider.name, provider.tollNumber, provider.tollFreeNumbers (formatted, comma-separated), provider.passcode, provider.url; all empty when the licence was removed',
  pin: 'the leader PIN (welcome and pin_changed only)',
} as const);
export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

/** The placeholders allowed in templates of `kind`: the PIN only where the kind carries it (never in the invitation block, which is shared). */
export function variablesFor(kind: TemplateKind): TemplateVariable[] {
  return (Object.keys(TEMPLATE_VARIABLES) as TemplateVariable[]).filter((v) => v !== 'pin' || (kind !== 'invitation' && KIND_CARRIES_PIN[kind]));
}

/** One number of the `numbers` list: how it is shown, dialled in one tap, where and what it is. */
export interface TemplateNumber {
  formatted: string;
  dial: string;
  tel: string;
  city: string;
  type: 'toll' | 'toll-free';
}

/** The properties of each list placeholder's items; a template may name no other. */
export const LIST_ITEM_PROPERTIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  numbers: ['formatted', 'dial', 'tel', 'city', 'type'],
  changes: ['field', 'old', 'new'],
});

/** One change of the `changes` list, shown as people read it (numbers formatted, ID grouped; empty for none). */
export interface TemplateChange {
  field: ChangeField;
  old: string;
  new: string;
}

/** The properties of each object placeholder. */
export const OBJECT_PROPERTIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  provider: ['name', 'tollNumber', 'tollFreeNumbers', 'passcode', 'url'],
});

/** The provider as a template shows it; every property empty when there is none. */
export interface TemplateProvider {
  name: string;
  tollNumber: string;
  tollFreeNumbers: string;
  passcode: string;
  url: string;
}

type ListVariable = 'numbers' | 'changes' | 'provider';
/** What a render gets: the mail data, the settings link and, for the PIN kinds, the PIN. */
export type TemplateValues = Record<Exclude<TemplateVariable, ListVariable>, string> & { numbers: readonly TemplateNumber[]; changes: readonly TemplateChange[]; provider: TemplateProvider };

function shownChange(c: MailChange): TemplateChange {
  const show = (v: string | null) => (v === null ? '' : c.field === 'conferenceId' ? groupConferenceId(v) : c.field === 'bridge' ? v : displayNumber(v));
  return { field: c.field, old: show(c.old), new: show(c.new) };
}

function numberItem(e164: string, city: string | null | undefined, type: TemplateNumber['type'], conferenceId: string | null): TemplateNumber {
  const tap = oneTap(e164, conferenceId);
  return { formatted: displayNumber(e164), dial: tap.shown, tel: tap.tel, city: city ?? '', type };
}

/** Builds the values of a render; nulls become empty strings so `{% if tollFreeNumber %}` works. */
export function templateValues(data: MailData, settingsUrl: string, pin: string | null, resetPinUrl = `${settingsUrl}#pin-h`, localNumbersUrl = ''): TemplateValues {
  const pr = data.provider;
  const numbers: TemplateNumber[] = [];
  if (data.tollNumber) numbers.push(numberItem(data.tollNumber, data.tollCity, 'toll', data.conferenceId));
  if (data.tollFreeNumber) numbers.push(numberItem(data.tollFreeNumber, data.tollFreeCity, 'toll-free', data.conferenceId));
  return {
    displayName: data.displayName,
    sipAddress: data.sipAddress.replace(/^sip:/i, ''),
    conferenceId: data.conferenceId ?? '',
    conferenceIdGrouped: groupConferenceId(data.conferenceId),
    tollNumber: displayNumber(data.tollNumber),
    tollFreeNumber: displayNumber(data.tollFreeNumber),
    numbers,
    changes: (data.changes ?? []).map(shownChange),
    resetPinUrl,
    localNumbersUrl,
    provider: {
      name: pr?.name ?? '',
      tollNumber: displayNumber(pr?.tollNumber),
      tollFreeNumbers: (pr?.tollFreeNumbers ?? []).map((n) => displayNumber(n)).join(', '),
      passcode: pr?.passcode ?? '',
      url: pr?.url ?? '',
    },
    bridgeName: data.bridgeName ?? '',
    settingsUrl,
    pin: pin ?? '',
  };
}

/** Checks a template kind (a mail kind, or invitation) given on the command line or in the API. */
export function toMailKind(input: string, field = 'Kind'): TemplateKind {
  const k = String(input ?? '').trim().toLowerCase().replace(/-/g, '_');
  if (!(TEMPLATE_KINDS as readonly string[]).includes(k)) {
    throw new AppError('TEMPLATE_NOT_FOUND', `${field} "${input}" is not a template kind; use one of ${TEMPLATE_KINDS.join(', ')}.`, { field });
  }
  return k as TemplateKind;
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

/** The data of test mails and previews without a chosen user. */
export const SAMPLE_MAIL_DATA: MailData = Object.freeze({
  displayName: 'Alex Example',
  sipAddress: 'alex@contoso.com',
  conferenceId: '5290376',
  tollNumber: '+14255550100',
  tollFreeNumber: '+18005550199',
  bridgeName: 'Conference Bridge',
  tollCity: 'Redmond',
  tollFreeCity: null,
});
