import { ImapFlow } from 'imapflow';
import { AppError } from '../../core/errors.ts';
import type { ReturnProcessor } from '../../app/bounces.ts';
import { MalformedMessage } from './parse-return.ts';

/** Where a bounce mailbox is: imaps://user:pass@host[:port][/mailbox][?requireTLS=false]. */
export interface ImapSpec {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  user: string;
  pass: string;
  mailbox: string;
}

export function parseImapUrl(url: string): ImapSpec {
  const bad = (why: string): never => {
    throw new AppError('INVALID_ARGUMENT', `DIALIN_BOUNCE_IMAP_URL ${why} (expected imaps://user:password@host[:port][/mailbox] or imap://…).`, { field: 'DIALIN_BOUNCE_IMAP_URL' });
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('is not a URL');
  }
  const secure = u.protocol === 'imaps:';
  if (!secure && u.protocol !== 'imap:') bad(`has the scheme "${u.protocol}"`);
  if (!u.username) bad('has no user');
  for (const k of u.searchParams.keys()) if (k !== 'requireTLS') bad(`has the unknown parameter "${k}"`);
  const flag = u.searchParams.get('requireTLS');
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    // The password never travels in clear unless the URL says so in so many words.
    requireTLS: !secure && (flag === null || flag.toLowerCase() !== 'false'),
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX',
  };
}

export interface PollResult {
  read: number;
  malformed: number;
}

/**
 * Reads the unseen messages of the bounce mailbox (imapflow), hands each to the processor, and
 * marks it \Seen once its report is committed; nothing is deleted. One connection per poll.
 */
export async function pollBounceMailbox(spec: ImapSpec, processor: ReturnProcessor, maxBytes: number, ca: string | null): Promise<PollResult> {
  const client = new ImapFlow({
    host: spec.host,
    port: spec.port,
    secure: spec.secure,
    doSTARTTLS: spec.secure ? undefined : spec.requireTLS ? true : undefined,
    auth: { user: spec.user, pass: spec.pass },
    logger: false,
    tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) },
    connectionTimeout: 30_000,
    greetingTimeout: 15_000,
    socketTimeout: 120_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw new AppError('BOUNCE_MAILBOX_UNAVAILABLE', `The bounce mailbox ${spec.user}@${spec.host}:${spec.port} cannot be read: ${(e as Error).message}${(e as { responseText?: string }).responseText ? ` (${(e as { responseText?: string }).responseText})` : ''}.`);
  }
  const result: PollResult = { read: 0, malformed: 0 };
  try {
    const lock = await client.getMailboxLock(spec.mailbox);
    try {
      const uids = (await client.search({ seen: false }, { uid: true })) || [];
      for (const uid of uids) {
        const msg = await client.fetchOne(String(uid), { source: true, size: true }, { uid: true });
        if (!msg || !msg.source) continue;
        if ((msg.size ?? msg.source.length) <= maxBytes) {
          try {
            await processor.process(msg.source, []);
          } catch (e) {
            if (!(e instanceof MalformedMessage)) throw e;
            result.malformed++;
          }
        } else result.malformed++;
        result.read++;
        await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return result;
}
