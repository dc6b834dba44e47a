/** A received message taken apart: unfolded headers, decoded subject and body parts. */
export interface ParsedMail {
  /** Header fields in order, names lower-cased, values unfolded (still encoded). */
  fields: { name: string; value: string }[];
  header(name: string): string | null;
  subject: string;
  text: string | null;
  html: string | null;
}

function decodeWords(v: string): string {
  // White space between two encoded words is not part of the text (RFC 2047 §6.2).
  return v.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
    enc.toLowerCase() === 'b' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

function splitHead(raw: string): { fields: { name: string; value: string }[]; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const fields = head
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n')
    .filter(Boolean)
    .map((line) => {
      const i = line.indexOf(':');
      return { name: line.slice(0, i).toLowerCase(), value: line.slice(i + 1).trim() };
    });
  return { fields, body };
}

function decodeBody(body: string, encoding: string | null): string {
  const enc = (encoding ?? '7bit').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  return body;
}

/** Parses the messages dialin sends: one text part, or multipart/alternative text + HTML. */
export function parseMail(raw: string): ParsedMail {
  const { fields, body } = splitHead(raw);
  const header = (name: string) => fields.find((f) => f.name === name.toLowerCase())?.value ?? null;
  const parts: { type: string; content: string }[] = [];
  const ctype = header('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(ctype)?.[1];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const p = splitHead(chunk.replace(/^\r\n/, ''));
      const get = (n: string) => p.fields.find((f) => f.name === n)?.value ?? null;
      parts.push({ type: get('content-type') ?? 'text/plain', content: decodeBody(p.body.replace(/\r\n$/, ''), get('content-transfer-encoding')) });
    }
  } else parts.push({ type: ctype, content: decodeBody(body, header('content-transfer-encoding')) });
  return {
    fields,
    header,
    subject: decodeWords(header('subject') ?? ''),
    text: parts.find((p) => /^text\/plain/i.test(p.type))?.content ?? null,
    html: parts.find((p) => /^text\/html/i.test(p.type))?.content ?? null,
  };
}
