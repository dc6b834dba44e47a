import dns from 'node:dns';

/** DNS could not be asked (no answer, a refusal, a server failure): nothing can be said either way. */
export class DnsUnavailable extends Error {}

/** The DNS questions the deliverability checks ask, through DIALIN_DNS_SERVERS or the system's servers. */
export interface DnsClient {
  /** The TXT records of a name (each joined from its strings); [] when the name or the record does not exist. */
  txt(name: string): Promise<string[]>;
  /** IPv4 and IPv6 addresses of a host; [] when it has none. */
  addresses(host: string): Promise<string[]>;
  /** The resolver mailauth's SPF and DMARC checks call. */
  readonly raw: (name: string, rrtype: string) => Promise<never[]>;
}

const MISSING = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

export function createDnsClient(o: { servers: readonly string[] | null; timeoutMs: number }): DnsClient {
  const r = new dns.promises.Resolver({ timeout: o.timeoutMs, tries: 2 });
  if (o.servers?.length) r.setServers([...o.servers]);
  const raw = (name: string, rrtype: string) => r.resolve(name, rrtype) as Promise<never[]>;
  const ask = async <T>(q: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await q();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (MISSING.has(code)) return [];
      throw new DnsUnavailable(`DNS did not answer (${code || (e as Error).message})`);
    }
  };
  return {
    raw,
    txt: async (name) => (await ask(() => r.resolveTxt(name))).map((parts) => parts.join('')),
    async addresses(host) {
      const [a, aaaa] = await Promise.all([ask(() => r.resolve4(host)), ask(() => r.resolve6(host))]);
      return [...a, ...aaaa];
    },
  };
}
