import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

// smtp-server waits 100 ms before its greeting (an early-talker check); a test relay does not.
(SMTPConnection.prototype as unknown as { init(): void }).init = function (this: { _setListeners(cb: () => void): void; connectionReady(): void }) {
  this._setListeners(() => this.connectionReady());
};

/** One message as the relay received it. */
export interface Received {
  from: string;
  to: string[];
  raw: string;
  messageId: string | null;
  /** How many times the client authenticated on that connection (0 = no AUTH). */
  authenticated: boolean;
}

/** An SMTP reply to answer with instead of accepting. */
export type Reply = { code: number; message: string };

/** The points where the relay can be made to wait before it answers. */
export type Stage = 'CONNECT' | 'MAIL' | 'RCPT' | 'DATA';

/**
 * The fault modes of the test relay, switchable while it runs (reliability.md §6.0):
 * a reply for RCPT TO or for the end of DATA (possibly given later: the reply is held until the
 * promise settles), dropping the connection after the data without a reply, refusing the login,
 * and a delay before the greeting, the MAIL, RCPT and end-of-DATA replies (a stalling relay).
 */
export interface Faults {
  rcpt?: (address: string) => Reply | null;
  data?: (messageId: string | null) => Reply | null | Promise<Reply | null>;
  dropAfterData?: (messageId: string | null) => boolean;
  authFails?: boolean;
  delayMs?: (stage: Stage) => number;
}

export interface SinkOptions {
  /** Require AUTH with these credentials (PLAIN/LOGIN); without TLS unless `tls` is given. */
  auth?: { user: string; pass: string };
  /** STARTTLS with this key and certificate; without it STARTTLS is not offered. */
  tls?: { key: string; cert: string };
}

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1, port 0, that records what it gets. */
export class SmtpSink {
  readonly received: Received[] = [];
  readonly authAttempts: string[] = [];
  faults: Faults = {};
  port = 0;
  #server: SMTPServer | null = null;

  private constructor(private readonly opts: SinkOptions) {}

  static async start(opts: SinkOptions = {}): Promise<SmtpSink> {
    const s = new SmtpSink(opts);
    await s.up();
    return s;
  }

  /** Starts listening (again, on the same port after `down`). */
  async up(): Promise<void> {
    const o = this.opts;
    const options: SMTPServerOptions = {
      logger: false,
      disableReverseLookup: true,
      authOptional: !o.auth,
      allowInsecureAuth: !o.tls,
      ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : { disabledCommands: ['STARTTLS'] }),
      size: 10 * 1024 * 1024,
      onAuth: (auth, _session, cb) => {
        this.authAttempts.push(auth.username ?? '');
        if (this.faults.authFails || auth.username !== o.auth?.user || auth.password !== o.auth?.pass) {
          return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
        }
        cb(null, { user: auth.username });
      },
      onConnect: (_session, cb) => this.#after('CONNECT', () => cb()),
      onMailFrom: (_address, _session, cb) => this.#after('MAIL', () => cb()),
      onRcptTo: (address, _session, cb) => {
        const r = this.faults.rcpt?.(address.address);
        this.#after('RCPT', () => cb(r ? Object.assign(new Error(r.message), { responseCode: r.code }) : null));
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(raw)?.[1] ?? null;
          if (this.faults.dropAfterData?.(messageId)) return this.#socketOf(session)?.destroy();
          const r = await this.faults.data?.(messageId);
          this.#after('DATA', () => {
            if (r) return cb(Object.assign(new Error(r.message), { responseCode: r.code }));
            this.received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((a) => a.address), raw, messageId, authenticated: !!session.user });
            cb(null, `2.0.0 Ok: queued as ${this.received.length}`);
          });
        });
      },
    };
    const server = new SMTPServer(options);
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as { port: number }).port;
    this.#server = server;
  }

  /** The relay goes away: open connections are cut and new ones are refused until `up`. */
  async down(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const c of (server as unknown as { connections: Set<{ _socket: Socket }> }).connections) c._socket.destroy();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
  }

  /** Runs `reply` after the delay the faults set for the stage (at once when none). */
  #after(stage: Stage, reply: () => void): void {
    const ms = this.faults.delayMs?.(stage) ?? 0;
    if (ms > 0) setTimeout(reply, ms);
    else reply();
  }

  #socketOf(session: SMTPServerSession): Socket | undefined {
    for (const c of (this.#server as unknown as { connections: Set<{ id: string; _socket: Socket }> }).connections) if (c.id === session.id) return c._socket;
    return undefined;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Resolves when at least `n` messages arrived; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 20_000): Promise<Received[]> {
    const end = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > end) throw new Error(`the relay got ${this.received.length} of ${n} messages in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.received;
  }

  async stop(): Promise<void> {
    await this.down();
  }
}
