import MailComposer from 'nodemailer/lib/mail-composer';
import { renderTemplateSet } from '../core/templates/engine.ts';
import type { TemplateSet, TemplateValues } from '../core/templates/variables.ts';
import type { Mailbox } from '../core/sender.ts';
import { signDkim, type DkimSigningKey } from '../adapters/dkim/dkim-sign.ts';

/**
 * The render time allowed when sending: templates were held to 100 ms when saved; here the limit
 * only stops a render that a loaded machine stalled (the thread's hard timeout is the backstop).
 */
const DELIVERY_RENDER_LIMIT_MS = 2_000;

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** Everything needed to build one message; addresses are already validated. */
export interface ComposeJob {
  templates: TemplateSet;
  values: TemplateValues;
  /** Text only, no HTML part (-BodyAsPlainText). */
  plainText: boolean;
  /** A literal subject given by the command, instead of the template's. */
  subject: string | null;
  from: Mailbox;
  to: Mailbox;
  cc: string[];
  bcc: string[];
  messageId: string;
  language: string;
  /** Epoch ms for the Date header. */
  date: number;
  /** MAIL FROM: the sender's address, or the message's VERP return path (DIALIN_BOUNCE_DOMAIN). */
  envelopeFrom: string;
  /** Keys of the From domain (RSA, and Ed25519 when there is one); none: unsigned. */
  dkim: DkimSigningKey[];
}

/** A message ready to send: the bytes and the envelope (Bcc only there, never in a header). */
export interface ComposedMail {
  raw: Uint8Array;
  envelope: { from: string; to: string[] };
}

/**
 * Renders the templates and builds the MIME message with nodemailer's composer. Addresses go in
 * as `{ name, address }` objects, the subject is one line, and files or URLs can never be read.
 */
export async function composeMail(job: ComposeJob): Promise<ComposedMail> {
  const rendered = renderTemplateSet(job.templates, job.values, { plainText: job.plainText, renderLimitMs: DELIVERY_RENDER_LIMIT_MS });
  const subject = job.subject !== null ? job.subject.replace(/[\s\u0085\u2028\u2029]+/g, ' ').trim() : rendered.subject;
  const composer = new MailComposer({
    from: { name: job.from.name, address: job.from.address },
    to: [{ name: job.to.name, address: job.to.address }],
    ...(job.cc.length ? { cc: job.cc.map((address) => ({ name: '', address })) } : {}),
    subject,
    // CRLF in the source: a 7bit or quoted-printable part carries its line ends as they are.
    text: crlf(rendered.text),
    ...(rendered.html !== null ? { html: crlf(rendered.html) } : {}),
    messageId: job.messageId,
    // MIME boundaries from the Message-ID (unique per message; base64 parts cannot contain it)
    // rather than from fresh random bytes for every message.
    baseBoundary: job.messageId.replace(/[^A-Za-z0-9]/g, '').slice(0, 40),
    date: new Date(job.date),
    // No textEncoding: nodemailer picks 7bit for short ASCII lines, quoted-printable for mostly
    // Latin text and base64 only for mostly non-Latin text, as mail clients and filters expect.
    headers: {
      // RFC 3834: machine-sent; auto-responders (out of office) should not answer.
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'Content-Language': job.language,
    },
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = await composer.compile().build();
  // Signed here, in the compose thread, so the worker's thread never spends the RSA operation.
  const raw = job.dkim.length ? await signDkim(built, job.dkim, Math.floor(job.date / 1000)) : built;
  return { raw, envelope: { from: job.envelopeFrom, to: [job.to.address, ...job.cc, ...job.bcc] } };
}
