import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { closedPort } from './free-port.ts';

/** A DNS server of the test's own: Debian's dnsmasq on a free loopback port, answering only the records given. */
export interface TestDns {
  /** For DIALIN_DNS_SERVERS. */
  server: string;
  /** Replaces the records (dnsmasq is restarted: it reads TXT records only at start). */
  serve(records: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** Answers a TXT query once the server is up (a UDP probe for the name). */
async function answering(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  const query = Buffer.from('12340100000100000000000003777777000010' + '0001', 'hex');
  return new Promise((resolve) => {
    const t = setTimeout(() => (s.close(), resolve(false)), 200);
    s.once('message', () => (clearTimeout(t), s.close(), resolve(true)));
    s.send(query, port, '127.0.0.1');
  });
}

/**
 * Starts dnsmasq with no upstream, no /etc/hosts, authoritative-like for `zones` (an unknown name
 * there is NXDOMAIN, so "not published" can be told from "DNS did not answer"). TXT values longer
 * than 255 bytes are split into strings, as in a zone file (dnsmasq splits its argument at commas; no
 * quotes: without a shell they would be part of the text).
 */
export async function startTestDns(zones: string[], records: Record<string, string> = {}): Promise<TestDns> {
  const port = await closedPort();
  let child: ChildProcess | null = null;
  const start = async (recs: Record<string, string>) => {
    const txt = Object.entries(recs).map(([name, value]) => `--txt-record=${name},${(value.match(/.{1,250}/g) ?? ['']).join(',')}`);
    child = spawn('dnsmasq', ['-k', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--log-facility=/dev/null', ...zones.map((z) => `--local=/${z}/`), ...txt], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await answering(port)); i++) await new Promise((r) => setTimeout(r, 50));
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGTERM');
    });
  };
  await start(records);
  return {
    server: `127.0.0.1:${port}`,
    async serve(recs) {
      await stop();
      await start(recs);
    },
    stop,
  };
}
