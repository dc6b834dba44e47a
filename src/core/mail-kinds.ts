import type { MailChange } from './mail-changes.ts';

/**
 * The kinds of mail dialin sends: the five of domain.md §4.1, the one-time sign-in link of
 * the Dial-in Conferencing Settings page, which a user asks for, and the security notice that the
 * user's PIN was changed on that page (pin_changed_by_user: never the PIN, automatic). Only welcome and pin_changed ever
 * carry the PIN; conference_info (the manual "send conference info") and sign_in_link ignore the
 * tenant's switch.
 */
export const MAIL_KINDS = ['welcome', 'pin_changed', 'info_changed', 'turned_off', 'conference_info', 'sign_in_link', 'pin_changed_by_user'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** Where an outbox row is: waiting, on its way, done, and after delivery what came back. */
export const OUTBOX_STATUSES = ['queued', 'sending', 'sent', 'delayed', 'bounced', 'complained', 'failed', 'expired', 'superseded'] as const;

export const KIND_CARRIES_PIN: Readonly<Record<MailKind, boolean>> = Object.freeze({
  welcome: true,
  pin_changed: true,
  info_changed: false,
  turned_off: false,
  conference_info: false,
  sign_in_link: false,
  pin_changed_by_user: false,
});

/** Automatic kinds are written only when AutomaticallySendEmailsToUsers is on. */
export const KIND_IS_AUTOMATIC: Readonly<Record<MailKind, boolean>> = Object.freeze({
  welcome: true,
  pin_changed: true,
  info_changed: true,
  turned_off: true,
  conference_info: false,
  sign_in_link: false,
  pin_changed_by_user: true,
});

/** What a mail needs to render, captured when the change is made (never the PIN in clear). */
export interface MailData {
  displayName: string;
  sipAddress: string;
  conferenceId: string | null;
  tollNumber: string | null;
  tollFreeNumber: string | null;
  bridgeName: string | null;
  /** The user's bridge, whose "Find a local number" page the mail links to (absent in older rows: the default bridge's). */
  bridgeId?: string | null;
  /** The cities of the default numbers on the bridge (absent in rows written before they were kept). */
  tollCity?: string | null;
  tollFreeCity?: string | null;
  /** info_changed: what changed, old → new (absent in rows written before changes were kept). */
  changes?: MailChange[];
  /** turned_off: the third-party provider the user moved to (Set-CsUserAcp); absent when the licence was removed. */
  provider?: MailProvider | null;
}

/** A third-party audio conferencing provider as a turned-off mail names it (numbers in E.164). */
export interface MailProvider {
  name: string;
  tollNumber: string | null;
  tollFreeNumbers: string[];
  passcode: string | null;
  url: string | null;
}

/** Decides whether a mail of `kind` is written: the gate applies to automatic kinds only. */
export function shouldWriteMail(kind: MailKind, automaticallySendEmails: boolean): boolean {
  return !KIND_IS_AUTOMATIC[kind] || automaticallySendEmails;
}
