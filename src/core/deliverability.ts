import { AppError } from './errors.ts';

/**
 * What makes mail deliverable, as rules: DKIM names and records, reserved domains that no
 * receiver accepts mail from, public URLs that no recipient can open. Pure: the checks that ask
 * DNS or the relay live in the app and adapters and use these.
 */

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+${LABEL}$`);
const SELECTOR = new RegExp(`^(?=.{1,63}$)${LABEL}(?:\\.${LABEL})*$`);

/** A DKIM d= domain: lower-case, at least two labels of letters, digits and hyphens. */
export function checkDkimDomain(input: string, field = 'Domain'): string {
  const d = String(input ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(d)) throw new AppError('DKIM_DOMAIN_INVALID', `${field} "${d.slice(0, 80)}" is not a domain name such as contoso.com.`, { field });
  return d;
}

/** A DKIM s= selector: one or more DNS labels (RFC 6376 §3.1), e.g. dialin2026. */
export function checkDkimSelector(input: string, field = 'Selector'): string {
  const s = String(input ?? '').trim().toLowerCase();
  if (!SELECTOR.test(s)) throw new AppError('DKIM_SELECTOR_INVALID', `${field} "${s.slice(0, 80)}" is not a selector: use letters, digits and hyphens (dots between labels), at most 63 characters.`, { field });
  return s;
}

export type DkimAlgorithm = 'rsa' | 'ed25519';

/** The name of a key's TXT record. */
export const dkimRecordName = (selector: string, domain: string): string => `${selector}._domainkey.${domain}`;

/** The TXT record to publish for a key (RFC 6376 §3.6.1; k=ed25519 from RFC 8463). */
export const dkimRecordText = (algorithm: DkimAlgorithm, publicKey: string): string => `v=DKIM1; k=${algorithm}; p=${publicKey}`;

/** The tags of a published DKIM record (whitespace removed from p=), or null when it is not one. */
export function parseDkimRecord(txt: string): { k: string; p: string } | null {
  const tags = new Map<string, string>();
  for (const part of txt.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) tags.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).replace(/\s+/g, ''));
  }
  if (tags.has('v') && tags.get('v') !== 'DKIM1') return null;
  if (!tags.has('p')) return null;
  return { k: (tags.get('k') ?? 'rsa').toLowerCase(), p: tags.get('p')! };
}

/** The domain of an address (after the last @), lower-case. */
export const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** Top-level domains and names reserved by RFC 2606 / 6761 / 6762: no mail from them is accepted anywhere. */
const RESERVED_TLDS = ['localhost', 'local', 'test', 'example', 'invalid', 'internal', 'lan', 'home', 'localdomain'];
const RESERVED_NAMES = ['example.com', 'example.net', 'example.org'];

/** Why mail from this domain cannot be delivered to other organisations, or null when it can. */
export function reservedDomainReason(domain: string): string | null {
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (/^\[.*\]$|^[0-9.]+$/.test(d)) return `${d} is an address literal, not a domain`;
  if (!d.includes('.')) return `${d} is a bare host name, not a domain receivers can check`;
  const tld = d.slice(d.lastIndexOf('.') + 1);
  if (RESERVED_TLDS.includes(tld)) return `.${tld} is a reserved top-level domain (RFC 2606/6761): receivers refuse or discard mail from it`;
  if (RESERVED_NAMES.some((n) => d === n || d.endsWith(`.${n}`))) return `${d} is reserved for documentation (RFC 2606)`;
  return null;
}

/** Why a public URL makes links that recipients cannot open safely, or null. */
export function publicUrlReason(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${url} is not a URL`;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0') return `${u.origin} is this machine (a loopback address): recipients cannot open its links`;
  if (u.protocol === 'http:') return `${u.origin} is plain http: sign-in links and PIN pages would travel unencrypted`;
  return null;
}

/** Why a name given in EHLO makes receivers suspicious, or null (RFC 5321 §4.1.4: the client's FQDN). */
export function heloNameReason(name: string): string | null {
  if (/^\[.*\]$/.test(name)) return `${name} is an address literal, not the machine's name`;
  if (!name.includes('.')) return `${name} is a bare host name, not fully qualified`;
  return reservedDomainReason(name);
}

/** The Message-ID's right-hand side. */
export const messageIdDomain = (messageId: string): string => /@([^>]+)>?$/.exec(messageId)?.[1]?.toLowerCase() ?? '';
