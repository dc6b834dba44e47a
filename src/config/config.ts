import os from 'node:os';
import path from 'node:path';
import { AppError } from '../core/errors.ts';
import { DEFAULT_SENDER_NAMES, parseMailbox } from '../core/sender.ts';

/**
 * The one configuration module: nothing else reads process.env. `loadConfig` resolves every key
 * to a value (no optional with a default leaks out), validates them all and freezes the result.
 */
export interface Config {
  /** DIALIN_DATA_DIR: SQLite file, key file and local mail drop. Default ./data. */
  dataDir: string;
  /** DATABASE_URL: postgres://… switches storage to PostgreSQL; empty = SQLite in dataDir. */
  databaseUrl: string | null;
  /** DIALIN_PIN_KEY (secret): 64 hex chars; when unset, the key file in dataDir is used. */
  pinKey: string | null;
  /** DIALIN_PIN_KEYS_FILE: a key ring file with the older key versions (with DIALIN_PIN_KEY). */
  pinKeysFile: string | null;
  /** DIALIN_KEY_HEARTBEAT_MS: how often serve and worker re-read the key file, report their ring and re-seal. */
  keyHeartbeatMs: number;
  /** DIALIN_SMTP_URL (secret: may hold a password): relay for mail; empty = local mail drop. */
  smtpUrl: string | null;
  /** DIALIN_SMTP_CA_FILE: PEM file of the CA that signed a private relay's certificate. */
  smtpCaFile: string | null;
  /** DIALIN_MAIL_FROM: default sender, e.g. "Dial-in Conferencing" <noreply@example.com> (default noreply@dialin.localhost). */
  mailFrom: string;
  /** PSEmailServer: default -SmtpServer of Set-CsPinSendCAWelcomeMail, as in PowerShell. */
  psEmailServer: string | null;
  /**
   * DIALIN_SMTP_PASSWORD (secret): the password of Set-CsPinSendCAWelcomeMail -Credential in
   * scripts (otherwise asked on the terminal, or read from --password-file); never on the command line.
   */
  smtpPassword: string | null;
  /** DIALIN_PUBLIC_URL: base of links in mail (the Dial-in Conferencing Settings page is at /dialin). */
  publicUrl: string;
  /** PORT: HTTP port of `dialin serve`. Default 8080. */
  port: number;
  /** HOST: address `dialin serve` listens on. Default 127.0.0.1. */
  host: string;
  /** DIALIN_LOG_LEVEL: pino level for serve/worker. Default info. */
  logLevel: string;
  /** DIALIN_TRUST_PROXY: true when `dialin serve` sits behind a reverse proxy whose X-Forwarded-* headers are to be believed. Default false. */
  trustProxy: boolean;
  /**
   * Bridge PIN check limits, enforced in memory before any lookup or hashing:
   * DIALIN_VERIFY_TOKEN_RATE checks per second per bridge token (default 1000),
   * DIALIN_VERIFY_ID_RATE checks per minute per conference ID (default 10).
   */
  verifyLimits: { perTokenPerSecond: number; perConferenceIdPerMinute: number };
  /**
   * Delivery tuning: DIALIN_RETRY_BASE_MS (first retry delay, doubled each time; 30 s),
   * DIALIN_RETRY_MAX_MS (cap of the delay, and how long a paused tenant waits before the relay is
   * tried again; 15 min), DIALIN_MAIL_LIFETIME_MS (then expired; 4 days), DIALIN_LEASE_MS (how long
   * a claimed message stays with a worker that stopped renewing it — a live worker renews its
   * leases every third of it — before another claims it; 60 s), DIALIN_SMTP_TIMEOUT_MS (the longest
   * one send may take, the relay's silence included; default 0.8 × the lease), DIALIN_SMTP_CONNECTIONS (pooled
   * connections; 8), DIALIN_COMPOSE_THREADS (threads rendering and composing mail; 0 = in the
   * worker's own thread; default one fewer than the CPUs, at most 2), DIALIN_MAIL_POLL_MS (how often
   * an idle worker looks for mail written by another process; 250 ms).
   */
  delivery: { retryBaseMs: number; retryMaxMs: number; lifetimeMs: number; leaseMs: number; sendTimeoutMs: number; replyTimeoutMs: number; concurrency: number; composeThreads: number; pollMs: number };
  /** DIALIN_SMTP_HELO_NAME: the name said in EHLO; default the machine's fully qualified name. */
  smtpHeloName: string | null;
  /**
   * DIALIN_DNS_SERVERS: comma-separated `ip[:port]` of the DNS servers the deliverability checks
   * ask (SPF, DMARC, DKIM records); default the system's. DIALIN_DNS_TIMEOUT_MS: per query (3 s).
   */
  dns: { servers: string[] | null; timeoutMs: number };
  /**
   * Bounces. DIALIN_BOUNCE_DOMAIN: each mail's envelope sender becomes bounce+<token>@this domain
   * (VERP), so a returned mail names its message. DIALIN_BOUNCE_LISTEN: `host:port` where
   * `dialin serve` / `dialin bounces` receive returns by SMTP. DIALIN_BOUNCE_TLS_KEY_FILE and
   * DIALIN_BOUNCE_TLS_CERT_FILE: the listener's STARTTLS certificate (default a built-in
   * self-signed one). DIALIN_BOUNCE_MAX_BYTES: largest return accepted (1 MiB).
   * DIALIN_BOUNCE_IMAP_URL (secret: may hold a password): a mailbox polled for returns,
   * imaps://user:pass@host[:port][/mailbox] or imap://…; DIALIN_BOUNCE_IMAP_POLL_MS (60 s).
   */
  bounces: { domain: string | null; listen: { host: string; port: number } | null; tlsKeyFile: string | null; tlsCertFile: string | null; maxBytes: number; imapUrl: string | null; imapPollMs: number };
  /** DIALIN_QUEUE_STALL_MS: mail due this long with no worker claiming any is reported by the doctor (2 min). */
  queueStallMs: number;
  /** DIALIN_SHELL_HISTORY: the file of `dialin shell`'s history (default ~/.dialin_history; `off` keeps none). */
  shellHistory: string | null;
}

/** Keys whose values are secrets and must be redacted wherever config is printed. */
export const SECRET_KEYS: ReadonlySet<keyof Config> = new Set(['pinKey', 'smtpUrl', 'smtpPassword', 'bounces'] as const);

export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  const str = (k: string): string | null => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? null : v.trim();
  };
  const int = (k: string, dflt: number, min: number, max: number): number => {
    const v = str(k);
    if (v === null) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${k} must be a whole number from ${min} to ${max}`);
      return dflt;
    }
    return n;
  };
  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//i.test(databaseUrl)) problems.push('DATABASE_URL must start with postgres://');
  const pinKey = str('DIALIN_PIN_KEY');
  if (pinKey && !/^(?:[1-9][0-9]{0,5}:)?[0-9a-fA-F]{64}$/.test(pinKey)) problems.push('DIALIN_PIN_KEY must be 64 hexadecimal characters (32 bytes), or VERSION:64 hexadecimal characters');
  const pinKeysFile = str('DIALIN_PIN_KEYS_FILE');
  if (pinKeysFile && !pinKey) problems.push('DIALIN_PIN_KEYS_FILE needs DIALIN_PIN_KEY (the current version; the file holds the older ones)');
  const smtpUrl = str('DIALIN_SMTP_URL');
  if (smtpUrl && !/^smtps?:\/\//i.test(smtpUrl)) problems.push('DIALIN_SMTP_URL must start with smtp:// or smtps://');
  const mailFrom = str('DIALIN_MAIL_FROM');
  if (mailFrom) {
    try {
      parseMailbox(mailFrom, 'DIALIN_MAIL_FROM');
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const publicUrl = (str('DIALIN_PUBLIC_URL') ?? `http://localhost:${str('PORT') ?? '8080'}`).replace(/\/+$/, '');
  try {
    new URL(publicUrl);
  } catch {
    problems.push('DIALIN_PUBLIC_URL must be an absolute URL such as https://dialin.contoso.com');
  }
  const heloName = str('DIALIN_SMTP_HELO_NAME');
  if (heloName && !/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(heloName)) problems.push('DIALIN_SMTP_HELO_NAME must be a host name such as mail.contoso.com');
  const dnsServers = str('DIALIN_DNS_SERVERS')?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
  for (const d of dnsServers ?? []) if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/.test(d)) problems.push(`DIALIN_DNS_SERVERS has "${d}": give IP addresses, optionally with :port`);
  const bounceDomain = str('DIALIN_BOUNCE_DOMAIN')?.toLowerCase() ?? null;
  if (bounceDomain && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(bounceDomain)) problems.push('DIALIN_BOUNCE_DOMAIN must be a domain name such as bounces.contoso.com');
  const listenAt = str('DIALIN_BOUNCE_LISTEN');
  let listen: Config['bounces']['listen'] = null;
  if (listenAt) {
    const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(listenAt);
    if (!m || Number(m[2]) > 65535) problems.push('DIALIN_BOUNCE_LISTEN must be host:port, e.g. 0.0.0.0:25 or 127.0.0.1:2525');
    else listen = { host: m[1] || '0.0.0.0', port: Number(m[2]) };
    if (!bounceDomain) problems.push('DIALIN_BOUNCE_LISTEN needs DIALIN_BOUNCE_DOMAIN (the domain whose return paths it accepts)');
  }
  const imapUrl = str('DIALIN_BOUNCE_IMAP_URL');
  if (imapUrl && !/^imaps?:\/\//i.test(imapUrl)) problems.push('DIALIN_BOUNCE_IMAP_URL must start with imap:// or imaps://');
  const leaseMs = int('DIALIN_LEASE_MS', 60_000, 100, 3_600_000);
  const cfg: Config = {
    dataDir: path.resolve(cwd, str('DIALIN_DATA_DIR') ?? './data'),
    databaseUrl,
    pinKey,
    pinKeysFile: pinKeysFile ? path.resolve(cwd, pinKeysFile) : null,
    keyHeartbeatMs: int('DIALIN_KEY_HEARTBEAT_MS', 15_000, 100, 3_600_000),
    smtpUrl,
    smtpCaFile: str('DIALIN_SMTP_CA_FILE'),
    mailFrom: mailFrom ?? `"${DEFAULT_SENDER_NAMES.en}" <noreply@dialin.localhost>`,
    psEmailServer: str('PSEmailServer') ?? str('PSEMAILSERVER'),
    smtpPassword: env.DIALIN_SMTP_PASSWORD ? env.DIALIN_SMTP_PASSWORD : null,
    publicUrl,
    port: int('PORT', 8080, 0, 65535),
    host: str('HOST') ?? '127.0.0.1',
    logLevel: str('DIALIN_LOG_LEVEL') ?? 'info',
    trustProxy: /^(1|true|yes)$/i.test(str('DIALIN_TRUST_PROXY') ?? ''),
    verifyLimits: {
      perTokenPerSecond: int('DIALIN_VERIFY_TOKEN_RATE', 1000, 1, 1_000_000),
      perConferenceIdPerMinute: int('DIALIN_VERIFY_ID_RATE', 10, 1, 100_000),
    },
    delivery: {
      ...sendTimeouts(int('DIALIN_SMTP_TIMEOUT_MS', Math.max(1000, Math.floor(leaseMs * 0.8)), 1000, 3_600_000)),
      retryBaseMs: int('DIALIN_RETRY_BASE_MS', 30_000, 1, 86_400_000),
      retryMaxMs: int('DIALIN_RETRY_MAX_MS', 15 * 60_000, 1, 86_400_000),
      lifetimeMs: int('DIALIN_MAIL_LIFETIME_MS', 4 * 86_400_000, 1, 30 * 86_400_000),
      leaseMs,
      concurrency: int('DIALIN_SMTP_CONNECTIONS', 8, 1, 64),
      composeThreads: int('DIALIN_COMPOSE_THREADS', Math.min(2, Math.max(0, os.availableParallelism() - 1)), 0, 16),
      pollMs: int('DIALIN_MAIL_POLL_MS', 250, 10, 60_000),
    },
    smtpHeloName: heloName,
    dns: { servers: dnsServers, timeoutMs: int('DIALIN_DNS_TIMEOUT_MS', 3000, 100, 60_000) },
    bounces: {
      domain: bounceDomain,
      listen,
      tlsKeyFile: str('DIALIN_BOUNCE_TLS_KEY_FILE'),
      tlsCertFile: str('DIALIN_BOUNCE_TLS_CERT_FILE'),
      maxBytes: int('DIALIN_BOUNCE_MAX_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
      imapUrl,
      imapPollMs: int('DIALIN_BOUNCE_IMAP_POLL_MS', 60_000, 100, 86_400_000),
    },
    queueStallMs: int('DIALIN_QUEUE_STALL_MS', 120_000, 1000, 86_400_000),
    shellHistory: /^(off|none|0)$/i.test(str('DIALIN_SHELL_HISTORY') ?? '') ? null : path.resolve(cwd, str('DIALIN_SHELL_HISTORY') ?? path.join(env.HOME ?? os.homedir(), '.dialin_history')),
  };
  if (problems.length) {
    throw new AppError('INVALID_ARGUMENT', `Configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze({ ...cfg, delivery: Object.freeze(cfg.delivery), verifyLimits: Object.freeze(cfg.verifyLimits), dns: Object.freeze(cfg.dns), bounces: Object.freeze(cfg.bounces) });
}

/** A send's deadline, and the silence on the socket that ends it a little earlier (a hung relay). */
function sendTimeouts(sendTimeoutMs: number): { sendTimeoutMs: number; replyTimeoutMs: number } {
  return { sendTimeoutMs, replyTimeoutMs: Math.floor(sendTimeoutMs * 0.875) };
}
