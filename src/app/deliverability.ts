import os from 'node:os';
import { dkimRecordName, dkimRecordText, domainOf, heloNameReason, messageIdDomain, parseDkimRecord, publicUrlReason, reservedDomainReason, type DkimAlgorithm } from '../core/deliverability.ts';
import { chooseSender, type Mailbox } from '../core/sender.ts';
import { DEFAULT_TENANT_SETTINGS, type TenantSettings } from '../core/tenant-settings.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../adapters/db/database.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import { DnsUnavailable, type DnsClient } from '../adapters/dns/resolver.ts';
import { heloName } from '../adapters/smtp/helo-name.ts';
import type { MailPayload } from './mail-queue.ts';
import type { AppContext } from './context.ts';

/**
 * Whether the mail dialin sends can be delivered: the sender domains in use (reserved ones,
 * and what their DNS says about SPF, DMARC and DKIM), the public URL of links, the EHLO name,
 * Message-IDs on the sender's domain, DKIM keys that cannot be opened, and mail nobody claims.
 * The doctor reports these; `serve` and `worker` log the ones that need no network at start.
 */

export type DeliverabilityCheck = 'sender' | 'links' | 'ehlo' | 'message-id' | 'queue' | 'tls' | 'spf' | 'dmarc' | 'dkim';

/** A finding: `ok`, a warning (could not be checked, or nothing is sent to a real relay yet), or a problem. */
export interface DeliverabilityFinding {
  check: DeliverabilityCheck;
  ok: boolean;
  /** Not counted as a problem: reported so someone looks. */
  warning?: boolean;
  detail: string;
  fix?: string;
}

const fine = (check: DeliverabilityCheck, detail: string): DeliverabilityFinding => ({ check, ok: true, detail });
const warn = (check: DeliverabilityCheck, detail: string, fix: string): DeliverabilityFinding => ({ check, ok: false, warning: true, detail, fix });
/** With a real relay a finding fails the doctor; with the local mail drop nothing leaves, so it warns. */
const severity = (relay: boolean) => (check: DeliverabilityCheck, detail: string, fix: string): DeliverabilityFinding => ({ check, ok: false, ...(relay ? {} : { warning: true }), detail, fix });

/** A sender domain in use and who uses it. */
export interface SenderDomain {
  domain: string;
  /** "the default sender (DIALIN_MAIL_FROM)" or "tenant contoso (SendEmailFromAddress)". */
  usedBy: string[];
}

/** The default sender's domain and every tenant's SendEmailFromAddress domain (when the override is on). */
export async function senderDomains(db: Db, defaultFrom: Mailbox): Promise<SenderDomain[]> {
  const out = new Map<string, string[]>([[domainOf(defaultFrom.address), ['the default sender (DIALIN_MAIL_FROM)']]]);
  const rows = await db.kysely.selectFrom('tenant_settings').innerJoin('tenants', 'tenants.id', 'tenant_settings.tenant_id').select(['tenants.name', 'tenant_settings.settings']).execute();
  for (const r of rows) {
    const s = { ...DEFAULT_TENANT_SETTINGS, ...(JSON.parse(r.settings) as Partial<TenantSettings>) };
    const from = chooseSender(s, defaultFrom);
    if (from === defaultFrom) continue;
    const d = domainOf(from.address);
    out.set(d, [...(out.get(d) ?? []), `tenant ${r.name} (SendEmailFromAddress)`]);
  }
  return [...out].map(([domain, usedBy]) => ({ domain, usedBy }));
}

/** Checks that need neither DNS nor the relay: sender domains, links, EHLO name. */
export function configFindings(config: Readonly<Config>, domains: SenderDomain[]): DeliverabilityFinding[] {
  const bad = severity(!!config.smtpUrl);
  const out: DeliverabilityFinding[] = [];
  for (const d of domains) {
    const why = reservedDomainReason(d.domain);
    out.push(why ? bad('sender', `mail from ${d.domain} (${d.usedBy.join(', ')}) cannot be delivered: ${why}`, d.usedBy[0]!.startsWith('the default') ? 'set DIALIN_MAIL_FROM to an address of your organisation\'s domain, e.g. "Dial-in Conferencing" <noreply@contoso.com>' : `set the tenant's SendEmailFromAddress to an address of a real domain (Set-CsOnlineDialInConferencingTenantSettings)`) : fine('sender', `${d.domain} (${d.usedBy.join(', ')}) is a domain receivers can check`));
  }
  const url = publicUrlReason(config.publicUrl);
  out.push(url ? bad('links', `links in mail (DIALIN_PUBLIC_URL) cannot be used: ${url}`, 'set DIALIN_PUBLIC_URL to the https:// address people reach dialin at, e.g. https://dialin.contoso.com') : fine('links', `links in mail point to ${config.publicUrl}`));
  const helo = heloName(config.smtpHeloName);
  const h = heloNameReason(helo);
  out.push(h ? bad('ehlo', `the relay is greeted as "${helo}": ${h}`, "set DIALIN_SMTP_HELO_NAME to this machine's fully qualified name (one whose address resolves back to it), e.g. dialin.contoso.com") : fine('ehlo', `the relay is greeted as ${helo}`));
  return out;
}

/** Recent mail whose Message-ID is not on its sender's domain (queued before an upgrade or a sender change). */
export async function messageIdFinding(db: Db, defaultFrom: Mailbox, relay: boolean): Promise<DeliverabilityFinding> {
  const rows = await db.kysely.selectFrom('outbox').select(['tenant_id', 'message_id', 'payload']).where('status', 'in', ['queued', 'sending']).orderBy('created_at', 'desc').limit(200).execute();
  const settings = new Map<string, TenantSettings>();
  for (const r of await db.kysely.selectFrom('tenant_settings').select(['tenant_id', 'settings']).execute()) settings.set(r.tenant_id, { ...DEFAULT_TENANT_SETTINGS, ...(JSON.parse(r.settings) as Partial<TenantSettings>) });
  const off = rows.filter((r) => {
    const explicit = (JSON.parse(r.payload) as MailPayload).options?.from ?? null;
    const from = chooseSender(settings.get(r.tenant_id) ?? DEFAULT_TENANT_SETTINGS, defaultFrom, explicit);
    return messageIdDomain(r.message_id) !== domainOf(from.address);
  });
  if (!off.length) return fine('message-id', rows.length ? `the ${rows.length} mail(s) waiting carry Message-IDs on their sender's domain` : "Message-IDs are made on each mail's sender domain");
  return severity(relay)('message-id', `${off.length} of the ${rows.length} mail(s) waiting carry a Message-ID on another domain than their sender's (e.g. ${off[0]!.message_id}): receivers' filters count that against them`, 'they were queued before the sender changed; new mail gets Message-IDs on the sender\'s domain. Let them go, or purge and send again');
}

/** Mail due for longer than DIALIN_QUEUE_STALL_MS while no worker sent or held any meanwhile. */
export async function queueFinding(db: Db, now: number, stallMs: number, relay: boolean): Promise<DeliverabilityFinding> {
  const k = db.kysely;
  const due = await k.selectFrom('outbox').select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('run_at').as('since')]).where('status', '=', 'queued').where('run_at', '<', now - stallMs).executeTakeFirstOrThrow();
  if (!Number(due.n)) return fine('queue', `no mail has waited more than ${Math.round(stallMs / 1000)} s`);
  const recent = await k.selectFrom('outbox').select('id').where((eb) => eb.or([eb('sent_at', '>=', now - stallMs), eb.and([eb('status', '=', 'sending'), eb('lease_until', '>=', now)])])).limit(1).execute();
  if (recent.length) return fine('queue', `${due.n} mail(s) waiting more than ${Math.round(stallMs / 1000)} s, and a worker is delivering`);
  return severity(relay)('queue', `${due.n} mail(s) queued for more than ${Math.round(stallMs / 1000)} s (the oldest since ${new Date(Number(due.since)).toISOString()}) and no worker has claimed or sent any meanwhile`, 'start `dialin worker` (or `dialin serve` without --no-worker); if one runs, read its log');
}

/** DKIM keys whose private key does not open with this deployment's key: their domain's mail goes out unsigned. */
export async function brokenKeyFindings(db: Db, keys: Keys): Promise<DeliverabilityFinding[]> {
  const rows = await db.kysely.selectFrom('dkim_keys').select(['domain', 'selector', 'private_key_sealed', 'active']).execute();
  return rows.flatMap((r) => {
    try {
      keys.open(r.private_key_sealed);
      return [];
    } catch {
      return [{ check: 'dkim' as const, ok: false, detail: `the DKIM key ${r.selector}._domainkey.${r.domain}${r.active ? ' (signing)' : ''} cannot be opened with this deployment's key: mail from ${r.domain} goes out unsigned`, fix: `restore the key this deployment had when the DKIM key was made (DIALIN_PIN_KEY or the key file), or make a new one: \`dialin dkim remove --domain ${r.domain} --selector ${r.selector}\`, then \`dialin dkim generate --domain ${r.domain}\` and publish its record` }];
    }
  });
}

/** What `serve` and `worker` log when they start: the problems found without DNS or the relay. */
export async function deliverabilityWarnings(ctx: AppContext, config: Readonly<Config>): Promise<DeliverabilityFinding[]> {
  const found = [...configFindings(config, await senderDomains(ctx.db, ctx.defaultFrom)), ...(await brokenKeyFindings(ctx.db, ctx.keys))];
  return found.filter((f) => !f.ok);
}

/** Where mail leaves from as SPF sees it: the relay's addresses, or this machine's. */
export async function sendingAddresses(dns: DnsClient, relayHost: string | null): Promise<{ what: string; ips: string[] }> {
  if (relayHost) {
    const ips = /^[0-9.]+$|:/.test(relayHost) ? [relayHost] : await dns.addresses(relayHost);
    return { what: `the relay ${relayHost}`, ips };
  }
  const ips = Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => i!.address);
  return { what: 'this machine', ips };
}

const couldNot = (check: DeliverabilityCheck, what: string, e: unknown): DeliverabilityFinding => warn(check, `could not check ${what}: ${e instanceof DnsUnavailable ? e.message : (e as Error).message}`, 'check again when DNS answers (DIALIN_DNS_SERVERS names the servers asked); until then nothing is known either way');

/** The domain's public keys as dialin holds them (what its DKIM records must say). */
export interface DomainKey {
  selector: string;
  algorithm: DkimAlgorithm;
  publicKey: string;
  active: boolean;
}

/**
 * What DNS says about one sender domain: SPF allows where mail leaves from, a DMARC policy
 * exists, each DKIM key's record is published as made. Plain words on what to publish; "could
 * not check" (a warning) whenever DNS does not answer, never OK.
 */
export async function domainDnsFindings(dns: DnsClient, domain: string, from: { what: string; ips: string[] }, keys: DomainKey[], relay: boolean): Promise<DeliverabilityFinding[]> {
  const bad = severity(relay);
  const out: DeliverabilityFinding[] = [];
  // Loaded on use: mailauth (and what it pulls in) costs a second of start-up that serve and worker never need.
  const { spf, dmarc } = await import('mailauth');
  // SPF, evaluated by mailauth against each address mail leaves from.
  try {
    const txt = await dns.txt(domain);
    const record = txt.find((t) => /^v=spf1(\s|$)/i.test(t));
    const ips = from.ips.length ? from.ips : [];
    if (!record) out.push(bad('spf', `${domain} publishes no SPF record`, `publish a TXT record on ${domain}: "v=spf1 ${ips.map((ip) => `${ip.includes(':') ? 'ip6' : 'ip4'}:${ip}`).join(' ') || 'a mx'} ~all" (or add the include: your mail provider documents)`));
    else if (!ips.length) out.push(warn('spf', `could not check whether the SPF record of ${domain} allows ${from.what}: its address is unknown`, 'give the relay in DIALIN_SMTP_URL by a name DNS resolves, or check the record by hand'));
    else {
      const results = await Promise.all(ips.map(async (ip) => ({ ip, r: await spf({ sender: `postmaster@${domain}`, ip, helo: domain, mta: 'dialin-doctor', resolver: dns.raw as never }) })));
      const temp = results.find((x) => x.r.status.result === 'temperror');
      const failing = results.filter((x) => x.r.status.result !== 'pass');
      if (temp) out.push(couldNot('spf', `the SPF record of ${domain}`, new DnsUnavailable(temp.r.status.comment ?? 'temporary DNS error')));
      else if (failing.length) out.push(bad('spf', `the SPF record of ${domain} ("${record}") does not allow ${from.what} (${failing.map((x) => `${x.ip}: ${x.r.status.result}`).join(', ')})`, `add ${failing.map((x) => `${x.ip.includes(':') ? 'ip6' : 'ip4'}:${x.ip}`).join(' ')} to it before its "all"`));
      else out.push(fine('spf', `the SPF record of ${domain} allows ${from.what} (${ips.join(', ')})`));
    }
  } catch (e) {
    out.push(couldNot('spf', `the SPF record of ${domain}`, e));
  }
  // DMARC: a policy on the domain or its organisational domain.
  try {
    const r = await dmarc({ headerFrom: domain, spfDomains: [], dkimDomains: [], resolver: dns.raw as never });
    if (r && r.status?.result === 'temperror') throw new DnsUnavailable(r.error ?? 'temporary DNS error');
    if (!r || !r.rr) out.push(bad('dmarc', `${domain} publishes no DMARC policy: large mailbox providers filter such mail harder`, `publish a TXT record on _dmarc.${domain}: "v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}" (tighten p= to quarantine once reports show your mail passes)`));
    else out.push(fine('dmarc', `${domain} has a DMARC policy (p=${r.p}${r.domain !== domain ? `, from ${r.domain}` : ''})`));
  } catch (e) {
    out.push(couldNot('dmarc', `the DMARC policy of ${domain}`, e));
  }
  // DKIM: each key's record says what dialin signs with.
  if (!keys.length) out.push(warn('dkim', `mail from ${domain} is not DKIM-signed: dialin has no key for it`, `run \`dialin dkim generate --domain ${domain}\` (with --tenant for a tenant's own domain) and publish the record it prints`));
  for (const k of keys) {
    const name = dkimRecordName(k.selector, domain);
    const want = dkimRecordText(k.algorithm, k.publicKey);
    try {
      const recs = (await dns.txt(name)).map(parseDkimRecord).filter((r) => r !== null);
      const state = k.active ? 'signing' : 'standby, for a rotation';
      if (!recs.length) out.push(bad('dkim', `${name} (${state}) is not published: receivers cannot verify the signature`, `publish a TXT record on ${name}: "${want}" (\`dialin dkim show --domain ${domain} --selector ${k.selector}\` prints it for a zone file)`));
      else if (!recs.some((r) => r.p === k.publicKey)) out.push(bad('dkim', `${name} (${state}) publishes another key than dialin signs with`, `replace the TXT record on ${name} with "${want}"`));
      else out.push(fine('dkim', `${name} (${state}) publishes the key dialin ${k.active ? 'signs with' : 'holds'}`));
    } catch (e) {
      out.push(couldNot('dkim', `the DKIM record ${name}`, e));
    }
  }
  return out;
}

/** The keys dialin holds for a domain. */
export async function domainKeys(db: Db, domain: string): Promise<DomainKey[]> {
  const rows = await db.kysely.selectFrom('dkim_keys').select(['selector', 'algorithm', 'public_key', 'active']).where('domain', '=', domain).orderBy('created_at').execute();
  return rows.map((r) => ({ selector: r.selector, algorithm: r.algorithm as DkimAlgorithm, publicKey: r.public_key, active: !!r.active }));
}

/**
 * Everything about one sender domain: reserved or not, then SPF, DMARC and DKIM in DNS, checked
 * against where mail leaves from (the relay of DIALIN_SMTP_URL, else this machine).
 */
export async function checkSenderDomain(db: Db, config: Readonly<Config>, dns: DnsClient, domain: string): Promise<DeliverabilityFinding[]> {
  const relay = !!config.smtpUrl;
  const reserved = reservedDomainReason(domain);
  if (reserved) return [severity(relay)('sender', `mail from ${domain} cannot be delivered: ${reserved}`, 'send from an address of a real domain of your organisation')];
  let relayHost: string | null = null;
  if (config.smtpUrl) {
    try {
      relayHost = new URL(config.smtpUrl).hostname.replace(/^\[(.*)\]$/, '$1');
    } catch {
      // the relay check reports a malformed URL
    }
  }
  let from: { what: string; ips: string[] };
  try {
    from = await sendingAddresses(dns, relayHost);
  } catch {
    from = { what: relayHost ? `the relay ${relayHost}` : 'this machine', ips: [] };
  }
  return domainDnsFindings(dns, domain, from, await domainKeys(db, domain), relay);
}
