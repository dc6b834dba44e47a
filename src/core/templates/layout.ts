import type { MailKind } from '../mail-kinds.ts';
import type { TemplateSet } from './variables.ts';
import { INVITATION_MARKER } from './invitation.ts';

/** The words of one language: labels shared by every mail, then each kind's own text. */
export interface LanguagePack {
  lang: string;
  /** Between a label and its value in plain text (French puts a space before the colon). */
  colon: string;
  labels: {
    name: string;
    account: string;
    conferenceId: string;
    tollNumber: string;
    tollFreeNumber: string;
    none: string;
    pin: string;
    settings: string;
    bridge: string;
    changed: string;
    openSettings: string;
    signIn: string;
    resetPin: string;
    /** The link to the bridge's public "Find a local number" page, and what it holds. */
    localNumbers: string;
    localNumbersHint: string;
  };
  footer: string;
  kinds: Record<MailKind, KindText>;
}

/** One kind of mail: subject, banner title, opening sentence and sections (Liquid allowed). */
export interface KindText {
  subject: string;
  title: string;
  lead: string;
  sections: SectionText[];
}

/** A section: a heading, then the dial-in details, the PIN, or a sentence. */
export interface SectionText {
  heading: string;
  /** invitation: the invitation block (its own template, put in where the marker stands). */
  show?: 'details' | 'pin' | 'changes' | 'invitation';
  body?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const ROW = 'padding:6px 10px;background:#f3f4f6;border-bottom:2px solid #ffffff';
// Labels stay on one line ("ID de conférence"); the value takes the rest and breaks where it must.
const LABEL = `${ROW};width:1%;white-space:nowrap;color:#4b5563`;
const VALUE = `${ROW};font-weight:600;overflow-wrap:anywhere`;

function htmlRows(rows: [string, string][]): string {
  return [
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:8px 0 16px">',
    ...rows.map(([label, value]) => `<tr><td class="lbl" style="${LABEL}">${esc(label)}</td><td class="val" style="${VALUE}">${value}</td></tr>`),
    '</table>',
  ].join('\n');
}

/** "Dial-in number" or "Toll-free number" by the item's type (Liquid, inside the numbers loop). */
const numberLabel = (p: LanguagePack, e: (s: string) => string) => `{% if n.type == 'toll-free' %}${e(p.labels.tollFreeNumber)}{% else %}${e(p.labels.tollNumber)}{% endif %}`;

/**
 * The dial-in details: the conference ID grouped for reading, then each number with its city,
 * as a one-tap link that dials straight into the meeting (`links`), or as a plain number where
 * the details no longer work.
 */
function htmlDetails(p: LanguagePack, links: boolean): string {
  // The number and the ",,ID#" each stay whole; a narrow screen breaks between them.
  const nowrap = (v: string) => `<span style="white-space:nowrap">${v}</span>`;
  const value = links
    ? `<a class="lnk" href="{{ n.tel }}" style="color:#1d4ed8">${nowrap('{{ n.formatted }}')}{% if conferenceId %}<wbr>${nowrap(',,{{ conferenceId }}#')}{% endif %}</a>`
    : nowrap('{{ n.formatted }}');
  return [
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:8px 0 16px">',
    `<tr><td class="lbl" style="${LABEL}">${esc(p.labels.conferenceId)}</td><td class="val" style="${VALUE};letter-spacing:1px">{{ conferenceIdGrouped }}</td></tr>`,
    `{% for n in numbers %}<tr><td class="lbl" style="${LABEL}">${numberLabel(p, esc)}{% if n.city %}<br><span style="font-weight:400;font-size:13px">{{ n.city }}</span>{% endif %}</td><td class="val" style="${VALUE}">${value}</td></tr>`,
    `{% else %}<tr><td class="lbl" style="${LABEL}">${esc(p.labels.tollNumber)}</td><td class="val" style="${VALUE}">${esc(p.labels.none)}</td></tr>{% endfor %}`,
    '</table>',
    ...(links ? [`{% if localNumbersUrl %}<p style="margin:0 0 16px"><a class="lnk" href="{{ localNumbersUrl }}" style="color:#1d4ed8;font-weight:600">${esc(p.labels.localNumbers)}</a> (${esc(p.labels.localNumbersHint)})</p>{% endif %}`] : []),
  ].join('\n');
}

function textDetails(p: LanguagePack, links: boolean): string {
  const c = p.colon;
  // Each number starts its own line, so the loop leaves no blank line behind.
  return (
    `  ${p.labels.conferenceId}${c}{{ conferenceIdGrouped }}` +
    `{% for n in numbers %}\n  ${numberLabel(p, (s) => s)}{% if n.city %} ({{ n.city }}){% endif %}${c}${links ? '{{ n.dial }}' : '{{ n.formatted }}'}` +
    `{% else %}\n  ${p.labels.tollNumber}${c}${p.labels.none}{% endfor %}` +
    (links ? `{% if localNumbersUrl %}\n  ${p.labels.localNumbers} (${p.labels.localNumbersHint})${c}{{ localNumbersUrl }}{% endif %}` : '')
  );
}

/** The label of a change's field (Liquid, inside the changes loop). */
const changeLabel = (p: LanguagePack, e: (s: string) => string) =>
  `{% if c.field == 'conferenceId' %}${e(p.labels.conferenceId)}{% elsif c.field == 'tollNumber' %}${e(p.labels.tollNumber)}{% elsif c.field == 'tollFreeNumber' %}${e(p.labels.tollFreeNumber)}{% else %}${e(p.labels.bridge)}{% endif %}`;
const orNone = (v: string, none: string) => `{% if c.${v} %}{{ c.${v} }}{% else %}${none}{% endif %}`;

/** Each change, old → new; nothing at all for a mail that carries no changes. */
function htmlChanges(p: LanguagePack, heading: string): string {
  const none = esc(p.labels.none);
  return [
    `{% if changes.size > 0 %}${heading}<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:8px 0 16px">`,
    `{% for c in changes %}<tr><td class="lbl" style="${LABEL}">${changeLabel(p, esc)}</td><td class="val" style="${VALUE}"><span style="font-weight:400;text-decoration:line-through">${orNone('old', none)}</span> → ${orNone('new', none)}</td></tr>{% endfor %}`,
    '</table>{% endif %}',
  ].join('\n');
}

function textChanges(p: LanguagePack, heading: string): string {
  return `{% if changes.size > 0 %}\n\n${heading}{% for c in changes %}\n  ${changeLabel(p, (s) => s)}${p.colon}${orNone('old', p.labels.none)} → ${orNone('new', p.labels.none)}{% endfor %}{% endif %}`;
}

/**
 * Dark mode for clients that honour it (Apple Mail, Outlook apps, Chromium): the inline light
 * colours stay for the others. Every pair keeps a contrast of at least 4.5:1 (text #f3f4f6 on
 * #1f2937 is 14:1, labels #d1d5db on #374151 7:1, links #93c5fd on #374151 6:1).
 */
const DARK_STYLE = [
  '<style>',
  ':root{color-scheme:light dark;supported-color-schemes:light dark}',
  '@media (prefers-color-scheme: dark){',
  '.bg{background:#111827 !important;color:#f3f4f6 !important}',
  '.card{background:#1f2937 !important;color:#f3f4f6 !important}',
  '.lbl{background:#374151 !important;color:#d1d5db !important;border-color:#1f2937 !important}',
  '.val{background:#374151 !important;color:#f9fafb !important;border-color:#1f2937 !important}',
  '.h,.lnk{color:#93c5fd !important}',
  '.foot{color:#d1d5db !important;border-color:#374151 !important}',
  '}',
  '</style>',
].join('\n');

const BUTTON = 'display:inline-block;padding:10px 18px;margin:0 12px 8px 0;background:#1d4ed8;color:#ffffff;border-radius:4px;text-decoration:none;font-weight:600';

/**
 * The links at the end: a button to the settings page (the sign-in link for that mail), "Reset
 * PIN" where a PIN works, and the address itself, small and breakable so a long link never widens
 * the mail. A turned-off mail has none: those users can no longer open the page.
 */
function htmlLinks(p: LanguagePack, kind: MailKind): string {
  if (kind === 'turned_off') return '';
  const button = kind === 'sign_in_link' ? p.labels.signIn : p.labels.openSettings;
  return [
    `<p style="margin:20px 0 8px">${esc(p.labels.settings)}</p>`,
    `<p style="margin:0"><a href="{{ settingsUrl }}" style="${BUTTON}">${esc(button)}</a>${RESET_PIN.has(kind) ? `<a class="lnk" href="{{ resetPinUrl }}" style="color:#1d4ed8;font-weight:600">${esc(p.labels.resetPin)}</a>` : ''}</p>`,
    '<p class="foot" style="margin:4px 0 0;font-size:12px;color:#4b5563;overflow-wrap:anywhere;word-break:break-all">{{ settingsUrl }}</p>',
  ].join('\n');
}

function textLinks(p: LanguagePack, kind: MailKind): string[] {
  if (kind === 'turned_off') return [];
  return ['', `${p.labels.settings} {{ settingsUrl }}`, ...(RESET_PIN.has(kind) ? [`${p.labels.resetPin}${p.colon}{{ resetPinUrl }}`] : [])];
}

/** The mails whose reader has a working PIN to replace. */
const RESET_PIN: ReadonlySet<MailKind> = new Set(['welcome', 'pin_changed', 'info_changed', 'conference_info', 'pin_changed_by_user']);

/** The HTML template of a kind: banner, lead, who it is for, sections, settings link, footer. */
export function htmlTemplate(p: LanguagePack, kind: MailKind): string {
  const k = p.kinds[kind];
  const sections = k.sections.map((s) => {
    const h2 = `<h2 class="h" style="font-size:16px;margin:20px 0 4px;color:#1e3a8a">${esc(s.heading)}</h2>`;
    if (s.show === 'changes') return htmlChanges(p, h2);
    const parts = [h2];
    if (s.body && s.show === 'invitation') parts.push(`<p style="margin:4px 0 8px">${esc(s.body)}</p>`);
    if (s.show === 'invitation') parts.push(`<div class="inv" style="border-left:3px solid #1d4ed8;padding:2px 12px;margin:8px 0 16px;overflow-wrap:anywhere">\n${INVITATION_MARKER}\n</div>`);
    if (s.show === 'details') parts.push(htmlDetails(p, kind !== 'turned_off'));
    if (s.show === 'pin') parts.push(htmlRows([[p.labels.pin, '<span style="font-size:18px;letter-spacing:2px">{{ pin }}</span>']]));
    if (s.body && s.show !== 'invitation') parts.push(`<p style="margin:4px 0 12px">${esc(s.body)}</p>`);
    return parts.join('\n');
  });
  return [
    '<!DOCTYPE html>',
    `<html lang="${p.lang}">`,
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark"><title>${esc(k.title)}</title>`,
    DARK_STYLE,
    '</head>',
    '<body class="bg" style="margin:0;padding:0;background:#eef1f5;font-family:\'Segoe UI\',Helvetica,Arial,sans-serif;color:#1f2937">',
    '<table class="bg" role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#eef1f5"><tr><td align="center" style="padding:24px 12px">',
    '<table class="card" role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;border-radius:6px">',
    `<tr><td style="background:#1d4ed8;color:#ffffff;padding:20px 24px;font-size:20px;font-weight:600;border-radius:6px 6px 0 0">${esc(k.title)}</td></tr>`,
    '<tr><td style="padding:20px 24px;font-size:15px;line-height:1.5">',
    `<p style="margin:0 0 12px">${esc(k.lead)}</p>`,
    htmlRows([
      [p.labels.name, '{{ displayName }}'],
      [p.labels.account, '{{ sipAddress }}'],
    ]),
    ...sections,
    htmlLinks(p, kind),
    '</td></tr>',
    `<tr><td class="foot" style="padding:16px 24px;font-size:12px;color:#6b7280;border-top:1px solid #e5e7eb">${esc(p.footer)}</td></tr>`,
    '</table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The plain-text template of a kind: the same content as the HTML, as aligned lines. */
export function textTemplate(p: LanguagePack, kind: MailKind): string {
  const k = p.kinds[kind];
  const c = p.colon;
  const lines: string[] = [k.title, '', k.lead, '', `${p.labels.name}${c}{{ displayName }}`, `${p.labels.account}${c}{{ sipAddress }}`];
  for (const s of k.sections) {
    if (s.show === 'changes') {
      lines[lines.length - 1] += textChanges(p, s.heading);
      continue;
    }
    lines.push('', s.heading);
    if (s.show === 'details') {
      lines.push(textDetails(p, kind !== 'turned_off'));
    }
    if (s.show === 'pin') lines.push(`  ${p.labels.pin}${c}{{ pin }}`);
    if (s.body) lines.push(s.body);
    if (s.show === 'invitation') lines.push('', INVITATION_MARKER);
  }
  lines.push(...textLinks(p, kind), '', '-- ', p.footer, '');
  return lines.join('\n');
}

/** The three parts of a kind's default template in one language. */
export function templateSet(p: LanguagePack, kind: MailKind): TemplateSet {
  return Object.freeze({ subject: p.kinds[kind].subject, html: htmlTemplate(p, kind), text: textTemplate(p, kind) });
}
