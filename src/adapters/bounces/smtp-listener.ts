import fs from 'node:fs';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ReturnProcessor } from '../../app/bounces.ts';
import { MalformedMessage } from './parse-return.ts';

export interface BounceListenerOptions {
  host: string;
  port: number;
  /** The only domain accepted at RCPT (DIALIN_BOUNCE_DOMAIN). */
  domain: string;
  /** Accepts a recipient: a valid return path of a message that exists. */
  acceptRecipient(address: string): Promise<boolean>;
  processor: ReturnProcessor;
  maxBytes: number;
  /** The name in the greeting and EHLO answer. */
  name: string;
  tls: { keyFile: string | null; certFile: string | null };
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

export interface BounceListener {
  /** host:port it listens on (port 0 resolved). */
  address: { host: string; port: number };
  close(): Promise<void>;
}

const reply = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/**
 * The SMTP server that receives returns (smtp-server): no AUTH, STARTTLS offered (with the
 * configured certificate, else smtp-server's built-in one: an MX's TLS is opportunistic), only
 * recipients that are return paths of this deployment (else 550 at RCPT), SIZE advertised and
 * enforced, and a malformed message refused with 554. A message is answered 250 only once its
 * report is committed.
 */
export async function startBounceListener(o: BounceListenerOptions): Promise<BounceListener> {
  const tls = o.tls.keyFile && o.tls.certFile ? { key: fs.readFileSync(o.tls.keyFile), cert: fs.readFileSync(o.tls.certFile) } : {};
  const options: SMTPServerOptions = {
    name: o.name,
    banner: 'dialin bounce receiver',
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: o.maxBytes,
    ...tls,
    onRcptTo(address, _session, cb) {
      const a = address.address.toLowerCase();
      if (!a.endsWith(`@${o.domain}`)) return cb(reply(550, `5.7.1 <${a}>: this server only takes returns for ${o.domain}`));
      o.acceptRecipient(a).then(
        (ok) => cb(ok ? null : reply(550, `5.1.1 <${a}>: not a return path of a message sent from here`)),
        () => cb(reply(451, '4.3.0 temporary failure, try again later')),
      );
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= o.maxBytes) chunks.push(c);
      });
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded || size > o.maxBytes) return cb(reply(552, `5.3.4 message larger than ${o.maxBytes} bytes`));
        const rcpts = session.envelope.rcptTo.map((r) => r.address);
        o.processor.process(Buffer.concat(chunks), rcpts).then(
          (r) => {
            o.log.debug({ outcome: r.outcome, id: r.outboxId, why: r.report.why }, 'return received');
            cb(null, `2.0.0 recorded: ${r.outcome}`);
          },
          (e) => {
            if (e instanceof MalformedMessage) return cb(reply(554, `5.6.0 malformed message: ${e.message}`));
            o.log.warn({ err: (e as Error).message }, 'Recording a return failed; the sender is asked to try again.');
            cb(reply(451, '4.3.0 temporary failure, try again later'));
          },
        );
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (e) => o.log.debug({ err: e.message }, 'bounce listener connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.server.address() as { address: string; port: number };
  return {
    address: { host: addr.address, port: addr.port },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
