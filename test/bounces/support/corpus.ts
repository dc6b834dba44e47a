import fs from 'node:fs';
import path from 'node:path';

const DIR = path.join(import.meta.dirname, '..', 'corpus');

/** A corpus message with its placeholders filled in, CRLF line ends as on the wire. */
export function corpusMessage(name: string, v: { returnPath: string; recipient: string; messageId: string }): Buffer {
  const text = fs
    .readFileSync(path.join(DIR, `${name}.eml`), 'utf8')
    .replaceAll('{{RETURN_PATH}}', v.returnPath)
    .replaceAll('{{RECIPIENT}}', v.recipient)
    .replaceAll('{{RECIPIENT_USER}}', v.recipient.split('@')[0]!)
    .replaceAll('{{MESSAGE_ID}}', v.messageId);
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}

export const CORPUS = fs.readdirSync(DIR).filter((f) => f.endsWith('.eml')).map((f) => f.replace(/\.eml$/, ''));
