import type { Config } from '../config/config.ts';
import type { AppContext } from '../app/context.ts';
import { returnProcessor, type ReturnCounts } from '../app/bounces.ts';
import { outboxIdOfReturnPath } from '../app/return-path.ts';
import { startBounceListener, type BounceListener } from '../adapters/bounces/smtp-listener.ts';
import { parseImapUrl, pollBounceMailbox } from '../adapters/bounces/imap-poller.ts';
import { heloName } from '../adapters/smtp/helo-name.ts';
import type { WorkerLog } from '../worker/delivery-worker.ts';

export interface BounceReceivers {
  /** Where the SMTP listener listens, when it runs. */
  listening: { host: string; port: number } | null;
  counts(): ReturnCounts;
  /** Polls the mailbox now (also what the timer does); resolves when done. */
  pollNow(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The receivers of returns the configuration asks for: the SMTP listener on DIALIN_BOUNCE_LISTEN
 * and the poller of DIALIN_BOUNCE_IMAP_URL, both recording through one processor.
 */
export async function startBounceReceivers({ ctx, config, log }: { ctx: AppContext; config: Readonly<Config>; log: WorkerLog }): Promise<BounceReceivers> {
  const b = config.bounces;
  const processor = returnProcessor({ db: ctx.db, keys: ctx.keys, bounceDomain: b.domain, now: ctx.now });
  let listener: BounceListener | null = null;
  if (b.listen && b.domain) {
    const domain = b.domain;
    listener = await startBounceListener({
      host: b.listen.host,
      port: b.listen.port,
      domain,
      processor,
      maxBytes: b.maxBytes,
      name: heloName(config.smtpHeloName),
      tls: { keyFile: b.tlsKeyFile, certFile: b.tlsCertFile },
      log,
      async acceptRecipient(address) {
        const id = outboxIdOfReturnPath(ctx.keys, address, domain);
        return !!id && !!(await ctx.db.kysely.selectFrom('outbox').select('id').where('id', '=', id).executeTakeFirst());
      },
    });
    log.info({ address: listener.address, domain }, `Receiving returns for ${domain} by SMTP on ${listener.address.host}:${listener.address.port}.`);
  }
  const imap = b.imapUrl ? parseImapUrl(b.imapUrl) : null;
  let polling: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const poll = (): Promise<void> =>
    (polling ??= (async () => {
      try {
        const r = await pollBounceMailbox(imap!, processor, b.maxBytes, null);
        if (r.read) log.info({ ...r, counts: processor.counts() }, `Read ${r.read} message(s) from the bounce mailbox.`);
      } catch (e) {
        log.warn({ err: (e as Error).message }, `Reading the bounce mailbox failed; trying again in ${Math.round(b.imapPollMs / 1000)} s.`);
      } finally {
        polling = null;
        if (!closed) (timer = setTimeout(() => void poll(), b.imapPollMs)).unref();
      }
    })());
  if (imap) {
    log.info({ mailbox: `${imap.user}@${imap.host}:${imap.port}/${imap.mailbox}` }, 'Polling the bounce mailbox for returns.');
    void poll();
  }
  return {
    listening: listener?.address ?? null,
    counts: () => processor.counts(),
    async pollNow() {
      if (!imap) return;
      if (polling) await polling;
      if (timer) clearTimeout(timer);
      await poll();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await polling;
      await listener?.close();
      await processor.flush();
    },
  };
}
