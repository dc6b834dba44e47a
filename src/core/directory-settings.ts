import { AppError } from './errors.ts';
import { printable } from './email-address.ts';
import { looksLikeDn } from './ldap-dn.ts';
import { DIRECTORY_KINDS, type DirectoryKind } from './directory-mapping.ts';

/** The settings of a directory connection, checked before anything is stored. */

export interface DirectoryUrl {
  secure: boolean;
  host: string;
  port: number;
  /** The URL as stored (scheme, host and port only). */
  url: string;
}

/** `ldaps://host[:port]` or `ldap://host[:port]`; nothing after the port. */
export function parseDirectoryUrl(input: string): DirectoryUrl {
  const bad = (why: string): never => {
    throw new AppError('DIRECTORY_CONFIG_INVALID', `--url "${printable(input)}" ${why}; write ldaps://host[:port] or ldap://host[:port].`, { field: 'url' });
  };
  let u: URL;
  try {
    u = new URL(input.trim());
  } catch {
    return bad('is not a URL');
  }
  if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') bad('is not an ldap:// or ldaps:// URL');
  if (!u.hostname) bad('has no host');
  if (u.username || u.password || (u.pathname && u.pathname !== '/') || u.search || u.hash) bad('must not carry a user, password, path or query');
  const secure = u.protocol === 'ldaps:';
  const port = u.port ? Number(u.port) : secure ? 636 : 389;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { secure, host, port, url: `${u.protocol}//${u.host}` };
}

export function checkDn(input: string, field: string): string {
  const s = String(input ?? '').trim();
  if (!looksLikeDn(s) || /[\u0000-\u001f]/.test(s)) throw new AppError('DIRECTORY_CONFIG_INVALID', `--${field} "${printable(s)}" is not a distinguished name such as ou=people,dc=contoso,dc=com.`, { field });
  return s;
}

export function checkKind(input: string | null | undefined): DirectoryKind {
  const k = (input ?? 'openldap').trim().toLowerCase();
  if (!(DIRECTORY_KINDS as readonly string[]).includes(k)) throw new AppError('DIRECTORY_CONFIG_INVALID', `--kind "${printable(k)}" must be openldap or ad.`, { field: 'kind' });
  return k as DirectoryKind;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `1h` → milliseconds; between one minute and one day. */
export function parseInterval(input: string): number {
  const m = /^\s*([0-9]+)\s*([smh])\s*$/i.exec(input);
  const ms = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(ms) || ms < 60_000 || ms > 86_400_000) throw new AppError('DIRECTORY_CONFIG_INVALID', `--interval "${printable(input)}" must be a duration such as 5m, 90s or 1h, from 1m to 24h.`, { field: 'interval' });
  return ms;
}

export function checkMaxDisable(input: string): number {
  const n = Number(input);
  if (!/^\s*[0-9]+\s*$/.test(input) || !Number.isSafeInteger(n)) throw new AppError('DIRECTORY_CONFIG_INVALID', `--max-disable "${printable(input)}" must be a whole number (0 or more).`, { field: 'max-disable' });
  return n;
}

export function checkConnectionName(input: string): string {
  const s = String(input ?? '').trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s)) throw new AppError('DIRECTORY_CONFIG_INVALID', `The connection name "${printable(s)}" must be 1 to 64 letters, digits, dots, hyphens or underscores.`, { field: 'name' });
  return s;
}

/** Entra Connect's accidental-delete guard: at most 500, and at most 10 % of the licensed users. */
export function defaultMaxDisable(licensed: number): number {
  return Math.min(500, Math.ceil(licensed / 10));
}
