import { AppError } from '../../core/errors.ts';

/** Where and how to reach a relay, whatever it was given as (DIALIN_SMTP_URL or a command's options). */
export interface RelaySpec {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (smtps://, port 465). */
  secure: boolean;
  /** Refuse to go on without STARTTLS (always so when credentials are given, unless said otherwise). */
  requireTLS: boolean;
  auth: { user: string; pass: string } | null;
  /** PEM of the CA of a private relay; the system CAs otherwise. Certificates are always verified. */
  ca: string | null;
}

const QUERY_KEYS = ['requireTLS'];

/**
 * Reads `smtp://[user:password@]host[:port][?requireTLS[=true|false]]` or `smtps://…`.
 * Credentials are never sent in clear: with a user and smtp://, STARTTLS is required unless the
 * URL says `requireTLS=false` in so many words. Unknown parameters are refused, not ignored.
 */
export function parseRelayUrl(url: string, ca: string | null = null): RelaySpec {
  const bad = (why: string): never => {
    throw new AppError('SMTP_CONFIG_INVALID', `DIALIN_SMTP_URL ${why} (expected smtp://[user:password@]host[:port][?requireTLS] or smtps://…).`, { field: 'DIALIN_SMTP_URL' });
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('is not a URL');
  }
  const scheme = u.protocol.toLowerCase();
  if (scheme !== 'smtp:' && scheme !== 'smtps:') bad(`has the scheme "${u.protocol}"`);
  if (!u.hostname) bad('has no host');
  if (u.pathname && u.pathname !== '/') bad('has a path');
  for (const k of u.searchParams.keys()) if (!QUERY_KEYS.includes(k)) bad(`has the unknown parameter "${k}"`);
  const secure = scheme === 'smtps:';
  const port = u.port ? Number(u.port) : secure ? 465 : 25;
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  if (pass && !user) bad('has a password but no user');
  const flag = u.searchParams.get('requireTLS');
  if (flag !== null && !['', 'true', 'false'].includes(flag.toLowerCase())) bad('has requireTLS with a value other than true or false');
  const requireTLS = flag === null ? !secure && !!user : flag.toLowerCase() !== 'false';
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, secure, requireTLS: !secure && requireTLS, auth: user ? { user, pass } : null, ca };
}

/** The relay as it may be shown in logs and messages: never the password. */
export function describeRelay(spec: RelaySpec): string {
  const who = spec.auth ? `${encodeURIComponent(spec.auth.user)}:****@` : '';
  const tls = spec.secure ? 'implicit TLS' : spec.requireTLS ? 'STARTTLS required' : 'STARTTLS when offered';
  return `${spec.secure ? 'smtps' : 'smtp'}://${who}${spec.host}:${spec.port} (${tls}${spec.ca ? ', private CA' : ''})`;
}
