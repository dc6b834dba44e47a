import type { MailLanguage } from '../languages.ts';
import type { TemplateSet } from './variables.ts';

/**
 * The invitation block: the few lines a user pastes into a meeting invitation (each default number
 * with its city as a one-tap `+1 425-555-0100,,5290376#`, the conference ID grouped, "Find a local
 * number"). Shown on the Dial-in Conferencing Settings page, with a copy button, and in the
 * welcome mail. A template kind of its own (`invitation`), editable per tenant like the mails:
 * `subject` is the block's heading, `html` and `text` the block. No PIN: it is meant to be shared.
 */
export const INVITATION_KIND = 'invitation';

/**
 * Where a mail template shows the invitation block: this comment is replaced by the block's
 * source (the tenant's or the built-in one) before the mail renders, so the block is checked and
 * rendered by the same engine, with the mail's values. Without it a mail has no block.
 */
export const INVITATION_MARKER = '{% comment %}invitation{% endcomment %}';

interface InvitationWords {
  heading: string;
  intro: string;
  tollFree: string;
  conferenceId: string;
  localNumbers: string;
  colon: string;
}

const WORDS: Record<MailLanguage, InvitationWords> = {
  en: { heading: 'Join by phone', intro: 'Join by phone (audio only)', tollFree: 'toll-free', conferenceId: 'Phone conference ID', localNumbers: 'Find a local number', colon: ': ' },
  fr: { heading: 'Rejoindre par téléphone', intro: 'Rejoindre par téléphone (audio uniquement)', tollFree: 'numéro gratuit', conferenceId: 'ID de conférence téléphonique', localNumbers: 'Trouver un numéro local', colon: ' : ' },
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The built-in block of a language. Plain markup (no inline style): the page's strict CSP shows it as is. */
function invitationSet(w: InvitationWords): TemplateSet {
  const html = [
    `<p class="inv-intro"><strong>${esc(w.intro)}</strong></p>`,
    `{% for n in numbers %}<p class="inv-number"><a class="lnk" href="{{ n.tel }}">{{ n.dial }}</a>{% if n.city %} {{ n.city }}{% endif %}{% if n.type == 'toll-free' %} (${esc(w.tollFree)}){% endif %}</p>{% endfor %}`,
    `<p class="inv-id">${esc(w.conferenceId)}${esc(w.colon)}{{ conferenceIdGrouped }}</p>`,
    `{% if localNumbersUrl %}<p class="inv-local"><a class="lnk" href="{{ localNumbersUrl }}">${esc(w.localNumbers)}</a></p>{% endif %}`,
  ].join('\n');
  const text = [
    w.intro,
    `{% for n in numbers %}{{ n.dial }}{% if n.city %} {{ n.city }}{% endif %}{% if n.type == 'toll-free' %} (${w.tollFree}){% endif %}`,
    `{% endfor %}${w.conferenceId}${w.colon}{{ conferenceIdGrouped }}{% if localNumbersUrl %}`,
    `${w.localNumbers}${w.colon}{{ localNumbersUrl }}{% endif %}`,
  ].join('\n');
  return Object.freeze({ subject: w.heading, html, text });
}

export const DEFAULT_INVITATIONS: Readonly<Record<MailLanguage, TemplateSet>> = Object.freeze({ en: invitationSet(WORDS.en), fr: invitationSet(WORDS.fr) });

/** A mail template with its invitation marker replaced by the block's source (parts without one unchanged). */
export function withInvitation(set: TemplateSet, block: TemplateSet): TemplateSet {
  if (!set.html.includes(INVITATION_MARKER) && !set.text.includes(INVITATION_MARKER)) return set;
  return { subject: set.subject, html: set.html.split(INVITATION_MARKER).join(block.html), text: set.text.split(INVITATION_MARKER).join(block.text) };
}
