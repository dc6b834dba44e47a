import { simpleParser, type AddressObject } from 'mailparser';
import type { ReturnedMessage } from '../../core/bounce-report.ts';

/** A message that is not MIME anyone could read: refused (554), not counted as a bounce. */
export class MalformedMessage extends Error {}

/** Addresses the return was delivered to, as its headers say (a mailbox keeps no envelope). */
const RECIPIENT_HEADERS = ['delivered-to', 'x-original-to', 'envelope-to', 'x-envelope-to', 'x-rcpt-to', 'to'];

const REPORT_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status', 'message/feedback-report']);

function headerBlock(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  const alt = raw.indexOf('\n\n');
  const cut = end < 0 ? alt : alt < 0 ? end : Math.min(end, alt);
  return raw.subarray(0, cut < 0 ? Math.min(raw.length, 64 * 1024) : cut).toString('latin1');
}

/**
 * Checks the structure before parsing (mailparser reads almost anything): a header section of
 * header fields, no NUL bytes, and for a multipart message a boundary that is there.
 */
function checkStructure(raw: Buffer): void {
  if (raw.includes(0)) throw new MalformedMessage('the message contains NUL bytes');
  const head = headerBlock(raw);
  const lines = head.split(/\r?\n/).filter((l) => l.length);
  if (!lines.length) throw new MalformedMessage('the message has no header section');
  const bad = lines.find((l) => !/^[ \t]/.test(l) && !/^[\x21-\x39\x3b-\x7e]+[ \t]*:/.test(l));
  if (bad) throw new MalformedMessage(`the header section has a line that is not a header field: "${bad.slice(0, 40)}"`);
  const ct = /^content-type:[ \t]*((?:.|\r?\n[ \t])*)/im.exec(head)?.[1] ?? '';
  if (/^\s*multipart\//i.test(ct)) {
    const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(ct);
    const b = boundary?.[1] ?? boundary?.[2];
    if (!b) throw new MalformedMessage('a multipart message without a boundary');
    if (!raw.includes(`--${b}`)) throw new MalformedMessage('a multipart message whose boundary never appears');
  }
}

const addresses = (v: AddressObject | AddressObject[] | undefined): string[] => (v ? (Array.isArray(v) ? v : [v]).flatMap((a) => a.value.map((x) => x.address ?? '')).filter(Boolean) : []);

/** A returned message parsed with mailparser into the parts the classifier reads, and where it was delivered. */
export async function parseReturn(raw: Buffer): Promise<{ message: ReturnedMessage; deliveredTo: string[] }> {
  checkStructure(raw);
  let m;
  try {
    m = await simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: false, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, maxHtmlLengthToParse: 256 * 1024 });
  } catch (e) {
    throw new MalformedMessage(`the MIME structure cannot be read (${(e as Error).message})`);
  }
  const headers: Record<string, string[]> = {};
  for (const { key, line } of m.headerLines) (headers[key] ??= []).push(line.slice(line.indexOf(':') + 1).trim());
  let deliveryStatus: string | null = null;
  let feedbackReport: string | null = null;
  let originalHeaders: string | null = null;
  for (const a of m.attachments) {
    const type = a.contentType.toLowerCase();
    if (type === 'message/feedback-report') feedbackReport = a.content.toString('utf8');
    else if (REPORT_PARTS.has(type)) deliveryStatus ??= a.content.toString('utf8');
    else if ((type === 'message/rfc822' || type === 'message/global' || type === 'text/rfc822-headers' || type === 'message/rfc822-headers' || type === 'message/global-headers') && originalHeaders === null) originalHeaders = headerBlock(a.content);
  }
  // mailparser dissolves an inline message/rfc822 into the text: take its header block from the raw part.
  if (originalHeaders === null) {
    const text = raw.toString('latin1');
    const part = /^content-type:[ \t]*(?:message\/(?:rfc822|global)|text\/rfc822-headers|message\/global-headers)[^\n]*\n(?:[^\r\n][^\n]*\n)*\r?\n/im.exec(text);
    if (part) originalHeaders = headerBlock(Buffer.from(text.slice(part.index + part[0].length), 'latin1'));
  }
  const ct = m.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const message: ReturnedMessage = {
    headers,
    subject: m.subject ?? '',
    from: addresses(m.from)[0] ?? '',
    reportType: ct?.value?.toLowerCase() === 'multipart/report' ? (ct.params?.['report-type'] ?? '').toLowerCase() : '',
    deliveryStatus,
    feedbackReport,
    text: (m.text ?? '').slice(0, 256 * 1024),
    originalHeaders,
  };
  const deliveredTo = RECIPIENT_HEADERS.flatMap((h) => (h === 'to' ? addresses(m.to) : (headers[h] ?? []).map((v) => v.replace(/^.*</, '').replace(/>.*$/, '').trim())));
  return { message, deliveredTo };
}
