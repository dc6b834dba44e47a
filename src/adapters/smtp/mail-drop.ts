import fs from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingMail, Relay, RelayReceipt } from './relay.ts';

/**
 * The embedded default when no relay is configured: each message becomes `<Message-ID>.eml` in
 * the drop directory (mode 0600, fsynced, renamed into place whole). A retry rewrites the same
 * file, so the drop never holds a duplicate. The envelope goes first as X-Envelope-* lines.
 */
export function createMailDrop(dir: string): Relay {
  let ready: Promise<unknown> | null = null;
  return {
    description: `the local mail drop ${dir} (.eml files)`,
    async send(mail: OutgoingMail): Promise<RelayReceipt> {
      ready ??= fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await ready;
      const name = mail.messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_');
      const file = path.join(dir, `${name}.eml`);
      const tmp = path.join(dir, `.${name}.tmp`);
      const head = `X-Envelope-From: <${mail.envelope.from}>\r\nX-Envelope-To: ${mail.envelope.to.map((a) => `<${a}>`).join(', ')}\r\n`;
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(Buffer.concat([Buffer.from(head), mail.raw]));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
      return { accepted: [...mail.envelope.to], rejected: [], response: `250 written to ${file}` };
    },
    async check() {
      ready ??= fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await ready;
      await fs.access(dir, fs.constants.W_OK);
    },
    async close() {},
  };
}
