/**
 * What a returned mail says about the mail it returns: a bounce (5.x.x, or a 4.x.x the reporting
 * MTA gave up on), a delay (4.x.x, still trying), a complaint (an ARF feedback report), an
 * auto-reply (ignored), or nothing dialin recognises. Pure: the adapter parses the MIME and hands
 * over the parts this needs as text.
 */

/** The parts of a returned message, as the MIME parser found them. */
export interface ReturnedMessage {
  /** Top-level header fields, lower-case names, each with its values in order. */
  headers: Record<string, string[]>;
  subject: string;
  /** The sender address (From). */
  from: string;
  /** report-type of a multipart/report, lower-case ('' when not one). */
  reportType: string;
  /** The text of a message/delivery-status or message/global-delivery-status part. */
  deliveryStatus: string | null;
  /** The text of a message/feedback-report part (RFC 5965). */
  feedbackReport: string | null;
  /** The human-readable text (every text/plain part). */
  text: string;
  /** The header block of the returned original (message/rfc822 or text/rfc822-headers), if any. */
  originalHeaders: string | null;
}

export type ReportKind = 'bounced' | 'delayed' | 'complained' | 'ignored' | 'unrecognized';

export interface BounceReport {
  kind: ReportKind;
  /** The enhanced status code (5.1.1) or, for a complaint, the feedback type (abuse). */
  status: string | null;
  diagnostic: string | null;
  reportingMta: string | null;
  /** The recipient the report is about, lower-case. */
  recipient: string | null;
  /** The Message-ID of the original, as quoted in the report. */
  originalMessageId: string | null;
  /** Why it was classified so (for logs and ignored messages). */
  why: string;
}

type Fields = Map<string, string>;

/** Splits a delivery-status or feedback-report body into its field groups (blank-line separated, folded lines joined). */
export function fieldGroups(text: string): Fields[] {
  const groups: Fields[] = [];
  let cur: Fields = new Map();
  let last: string | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*$/.test(line)) {
      if (cur.size) groups.push(cur);
      cur = new Map();
      last = null;
    } else if (/^[ \t]/.test(line) && last) {
      cur.set(last, `${cur.get(last)} ${line.trim()}`);
    } else {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      last = line.slice(0, i).trim().toLowerCase();
      if (!cur.has(last)) cur.set(last, line.slice(i + 1).trim());
    }
  }
  if (cur.size) groups.push(cur);
  return groups;
}

/** `rfc822; bob@contoso.com` → bob@contoso.com; `dns; mx.contoso.com` → mx.contoso.com. */
const typedValue = (v: string | undefined): string | null => {
  if (!v) return null;
  const s = v.includes(';') ? v.slice(v.indexOf(';') + 1) : v;
  return s.trim().replace(/^<|>$/g, '') || null;
};

const STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const clip = (s: string | null, n = 500): string | null => (s ? s.replace(/\s+/g, ' ').trim().slice(0, n) : null);

function headerValue(m: ReturnedMessage, name: string): string {
  return (m.headers[name] ?? [])[0] ?? '';
}

/** The Message-ID of the original in a quoted header block, or in the text of a non-standard report. */
function quotedMessageId(m: ReturnedMessage): string | null {
  for (const src of [m.originalHeaders, m.text]) {
    const id = src ? /^\s*Message-ID:\s*(<[^<>\s]+>)/im.exec(src)?.[1] : undefined;
    if (id) return id;
  }
  return null;
}

/** A standard report (RFC 3464, and RFC 6533's global form): the first recipient that failed or is delayed. */
function fromDeliveryStatus(m: ReturnedMessage, ds: string): BounceReport {
  const [perMessage, ...recipients] = fieldGroups(ds);
  const reportingMta = typedValue(perMessage?.get('reporting-mta'));
  const originalMessageId = quotedMessageId(m);
  const order = ['failed', 'delayed'];
  const pick = recipients.filter((r) => order.includes((r.get('action') ?? '').toLowerCase())).sort((a, b) => order.indexOf(a.get('action')!.toLowerCase()) - order.indexOf(b.get('action')!.toLowerCase()))[0];
  if (!pick) {
    const action = recipients[0]?.get('action')?.toLowerCase() ?? 'none';
    return { kind: 'ignored', status: STATUS.exec(recipients[0]?.get('status') ?? '')?.[0] ?? null, diagnostic: null, reportingMta, recipient: typedValue(recipients[0]?.get('final-recipient'))?.toLowerCase() ?? null, originalMessageId, why: `a delivery report with action ${action} (not a failure)` };
  }
  const action = pick.get('action')!.toLowerCase();
  const status = STATUS.exec(pick.get('status') ?? '')?.[0] ?? (action === 'failed' ? '5.0.0' : '4.0.0');
  const recipient = (typedValue(pick.get('original-recipient')) ?? typedValue(pick.get('final-recipient')))?.toLowerCase() ?? null;
  const diagnostic = clip(typedValue(pick.get('diagnostic-code')) ?? null);
  // 5.x.x is permanent. A 4.x.x with "failed" is an MTA that gave up retrying (e.g. 4.4.7
  // expired): the mail did not arrive either. A 4.x.x "delayed" is still on its way.
  const kind = status.startsWith('5') || action === 'failed' ? 'bounced' : 'delayed';
  return { kind, status, diagnostic, reportingMta: reportingMta ?? typedValue(pick.get('remote-mta')), recipient, originalMessageId, why: `RFC 3464 report: action ${action}, status ${status}` };
}

/** An ARF feedback report (RFC 5965): the recipient marked the mail as spam or abuse. */
function fromFeedbackReport(m: ReturnedMessage, fr: string): BounceReport {
  const f = fieldGroups(fr)[0] ?? new Map<string, string>();
  const type = (f.get('feedback-type') ?? 'abuse').toLowerCase();
  return {
    kind: 'complained',
    status: type,
    diagnostic: clip(`${type} report${f.get('user-agent') ? ` from ${f.get('user-agent')}` : ''}`),
    reportingMta: typedValue(f.get('reporting-mta')) ?? (f.get('user-agent') ? clip(f.get('user-agent')!, 200) : null),
    recipient: typedValue(f.get('original-rcpt-to'))?.toLowerCase() ?? null,
    originalMessageId: quotedMessageId(m),
    why: `ARF feedback report (${type})`,
  };
}

const BOUNCE_SUBJECT = /undeliver|undelivered|returned mail|returning message|delivery (status notification|has failed|failure|failed)|mail delivery failed|failure notice|non[- ]?remis|non distribuable|unzustellbar|could not be delivered|delivery problem|warning: message .* delayed|delayed mail|delivery delayed/i;
const DAEMON = /^(mailer-daemon|postmaster|mail-daemon|mail\.delivery|microsoftexchange[0-9a-f]*)@/i;
const AUTO_SUBJECT = /^(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|auto:|réponse automatique|absence|abwesend|abwesenheit|autosvar|i am (currently )?(out|away)|on vacation|vacation)/i;
const PERMANENT = /permanent|does not exist|doesn't exist|user unknown|unknown user|no such (user|mailbox|recipient)|mailbox (unavailable|not found)|recipient (rejected|not found|address rejected)|address rejected|i've given up|could not be delivered|wasn't able to deliver|delivery has failed|couldn't be delivered|not found/i;
const TRANSIENT = /delayed|will (be )?retr(y|ied)|still trying|not yet been delivered|has not been delivered yet|temporar|will keep trying/i;

/**
 * A report without a delivery-status part: qmail's "failure notice", older Exchange NDRs, Exim's
 * plain "Mail delivery failed", and others. The status comes from an enhanced code in the text
 * (qmail's "#5.1.1", Exchange's "<server #5.1.1>", an SMTP reply quoted), else from the words.
 */
function fromText(m: ReturnedMessage): BounceReport | null {
  const daemon = DAEMON.test(m.from);
  const failedHeader = headerValue(m, 'x-failed-recipients');
  if (!daemon && !BOUNCE_SUBJECT.test(m.subject) && !failedHeader) return null;
  const text = m.text;
  const code = STATUS.exec(text)?.[0] ?? null;
  const transient = TRANSIENT.test(`${m.subject}\n${text}`) && !/permanent|given up/i.test(text);
  let kind: ReportKind;
  if (code) kind = code.startsWith('5') || (code.startsWith('4') && /given up|gave up|permanent/i.test(text)) ? 'bounced' : code.startsWith('4') ? 'delayed' : 'ignored';
  else if (transient) kind = 'delayed';
  else if (PERMANENT.test(`${m.subject}\n${text}`)) kind = 'bounced';
  else return null;
  const status = code ?? (kind === 'bounced' ? '5.0.0' : kind === 'delayed' ? '4.0.0' : null);
  // The failed recipient: X-Failed-Recipients (Exim), qmail's "<addr>:" line, else the first address in the text.
  const recipient = (failedHeader.split(',')[0]?.trim() || /^<([^<>\s@]+@[^<>\s]+)>:/m.exec(text)?.[1] || /([A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/.exec(text.replace(/\S*postmaster\S*/gi, ''))?.[1] || '').toLowerCase() || null;
  // The line that carries the code, or the first line after the recipient, as the diagnostic.
  const diag = (code ? text.split('\n').find((l) => l.includes(code)) : null) ?? (recipient ? text.split('\n').find((l, i, all) => i > 0 && all[i - 1]!.toLowerCase().includes(recipient) && l.trim()) : null) ?? null;
  const host = /qmail-send program at ([^\s.]+(?:\.[^\s.:]+)*)/i.exec(text)?.[1] ?? /^Generating server:\s*(\S+)/im.exec(text)?.[1] ?? (daemon ? m.from.slice(m.from.indexOf('@') + 1) : null);
  return { kind, status, diagnostic: clip(diag), reportingMta: host, recipient, originalMessageId: quotedMessageId(m), why: `non-standard report (${code ? `code ${code}` : kind === 'delayed' ? 'delay wording' : 'failure wording'})` };
}

/** An out-of-office or other automatic reply (RFC 3834 and common non-standard markers). */
function isAutoReply(m: ReturnedMessage): string | null {
  const auto = headerValue(m, 'auto-submitted').toLowerCase();
  if (auto.startsWith('auto-replied')) return 'Auto-Submitted: auto-replied';
  if (headerValue(m, 'x-autoreply') || headerValue(m, 'x-autorespond') || headerValue(m, 'x-autoreply-from')) return 'an X-Autoreply header';
  if (/^(auto[_-]?reply)$/i.test(headerValue(m, 'precedence').trim())) return `Precedence: ${headerValue(m, 'precedence')}`;
  if (/^\s*(oof|autoreply)\s*$/i.test(headerValue(m, 'x-auto-response-suppress')) || headerValue(m, 'x-ms-exchange-inbox-rules-loop')) return 'an Exchange inbox rule reply';
  if (AUTO_SUBJECT.test(m.subject.trim())) return `the subject "${m.subject.slice(0, 60)}"`;
  return null;
}

/** Classifies a returned message. Standard reports first, then auto-replies, then non-standard reports. */
export function classifyReturn(m: ReturnedMessage): BounceReport {
  const none = (kind: ReportKind, why: string): BounceReport => ({ kind, status: null, diagnostic: null, reportingMta: null, recipient: null, originalMessageId: quotedMessageId(m), why });
  if (m.feedbackReport !== null || m.reportType === 'feedback-report') return fromFeedbackReport(m, m.feedbackReport ?? '');
  if (m.deliveryStatus !== null) return fromDeliveryStatus(m, m.deliveryStatus);
  // A DSN carries Auto-Submitted: auto-replied too, so the reports above are looked for first.
  const auto = isAutoReply(m);
  const text = fromText(m);
  if (text && !(auto && !DAEMON.test(m.from) && !BOUNCE_SUBJECT.test(m.subject))) return text;
  if (auto) return none('ignored', `an automatic reply (${auto})`);
  return none('unrecognized', 'neither a delivery report, a feedback report nor an automatic reply');
}

/** Which report wins when a mail gets several: a complaint over a bounce over a delay. */
export const REPORT_RANK: Record<string, number> = { sent: 0, delayed: 1, bounced: 2, complained: 3 };
