import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Client } from 'ldapts';

/**
 * A real Active Directory domain controller for one test file: Debian's samba-ad-dc provisioned
 * (`samba-tool domain provision`) into a private directory under /tmp and run (`samba -i -M
 * single`, the LDAP service only) inside a network namespace of the test's own, so its ports 389
 * and 636 are bound there and nowhere else on the machine. The test reaches it through a veth pair
 * on a private /30 (10.231.A.B). LDAPS serves a certificate made for the run by a CA of its own
 * (the certificate Samba would generate names only the DC's host name, not the address the test
 * dials). Everything is removed by stop(), by an exit hook, and — should the test process be
 * killed — by a watchdog shell that outlives it; namespaces left by dead runs are swept at start.
 */

const run = promisify(execFile);

export const REALM = 'CONTOSO.TEST';
export const NETBIOS = 'CONTOSO';
export const BASE = 'DC=contoso,DC=test';
export const ADMIN_DN = `CN=Administrator,CN=Users,${BASE}`;
export const ADMIN_PW = 'Adm1n-Secret-4711!';
export const SYNC_DN = `CN=dialin-sync,CN=Users,${BASE}`;
export const SYNC_PW = 'Sync-Pass-4711!';
const NS_PREFIX = 'dialin-ad-';

export interface SambaAd {
  dir: string;
  /** The DC's address on the veth pair (inside the namespace). */
  ip: string;
  /** ldaps://IP (port 636). */
  url: string;
  /** ldap://IP (port 389, StartTLS). */
  startTlsUrl: string;
  /** The CA that signed the DC's LDAPS certificate. */
  caFile: string;
  /** A file holding the sync account's password. */
  passwordFile: string;
  /** How long `samba-tool domain provision` took, and the DC until it answered LDAPS. */
  provisionMs: number;
  startMs: number;
  /** A client bound as the domain's Administrator over LDAPS, to change the directory in a test. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Removes the namespace (its processes killed first), the host end of the veth pair and the directory. */
function teardown(ns: string, veth: string, dir: string | null): void {
  try {
    for (const p of ip(['netns', 'pids', ns]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    ip(['netns', 'del', ns]);
  } catch {
    // already gone
  }
  try {
    ip(['link', 'del', veth]);
  } catch {
    // goes with the namespace's end
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Namespaces of earlier runs whose test process is gone (killed before its watchdog could act). */
function sweepStale(): void {
  let list = '';
  try {
    list = ip(['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = new RegExp(`^(${NS_PREFIX}(\\d+)-(\\w+))`).exec(line);
    if (m && !alive(Number(m[2]))) teardown(m[1]!, `dad${m[3]}h`, null);
  }
}

/** A /30 of 10.231.0.0/16 no interface of the machine uses yet. */
function freeSubnet(): { host: string; dc: string } {
  const used = ip(['-o', '-4', 'addr']);
  for (let i = 0; i < 200; i++) {
    const a = Math.floor(Math.random() * 256);
    const b = Math.floor(Math.random() * 64) * 4;
    if (!used.includes(`10.231.${a}.${b + 1}/`)) return { host: `10.231.${a}.${b + 1}`, dc: `10.231.${a}.${b + 2}` };
  }
  throw new Error('no free /30 in 10.231.0.0/16');
}

function makeCertificates(dir: string, dcIp: string): void {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dialin test AD CA']);
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'dc.key', '-out', 'dc.csr', '-subj', `/CN=dc1.${REALM.toLowerCase()}`]);
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=DNS:dc1.${REALM.toLowerCase()},IP:${dcIp}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  o(['x509', '-req', '-in', 'dc.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'dc.pem', '-days', '2', '-extfile', 'san.ext']);
  // Samba refuses a key file others can read.
  fs.chmodSync(path.join(dir, 'dc.key'), 0o600);
}

function waitForLdaps(host: string, child: ChildProcess, deadlineMs: number, log: () => string): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`samba exited with ${child.exitCode}\n${log()}`));
      const s = net.connect(636, host);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`samba did not listen on ${host}:636\n${log()}`));
        else setTimeout(attempt, 250);
      });
    };
    attempt();
  });
}

/** AD's unicodePwd: the password in double quotes, UTF-16LE (set over an encrypted connection only). */
export function unicodePwd(pw: string): Buffer {
  return Buffer.from(`"${pw}"`, 'utf16le');
}

let started = 0;

/** Provisions and starts a DC (CONTOSO / contoso.test) with a sync account that can read the domain. */
export async function startSambaAd(): Promise<SambaAd> {
  sweepStale();
  const tag = `${(started++).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const ns = `${NS_PREFIX}${process.pid}-${tag}`;
  const veth = `dad${tag}h`;
  const vethNs = `dad${tag}n`;
  const dir = fs.mkdtempSync('/tmp/h6-samba-ad-');
  // Whatever ends the test process, the watchdog removes the namespace, the DC and its files.
  const watchdog = spawn('bash', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; for p in $(ip netns pids "$2"); do kill -9 "$p"; done; ip netns del "$2"; ip link del "$3"; rm -rf "$4"', 'watchdog', String(process.pid), ns, veth, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  const onExit = () => teardown(ns, veth, dir);
  process.once('exit', onExit);
  let child: ChildProcess | null = null;
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (child && child.exitCode === null) {
      const done = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    }
    teardown(ns, veth, dir);
    try {
      process.kill(watchdog.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  try {
    const net4 = freeSubnet();
    ip(['netns', 'add', ns]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', vethNs]);
    ip(['link', 'set', vethNs, 'netns', ns]);
    ip(['addr', 'add', `${net4.host}/30`, 'dev', veth]);
    ip(['link', 'set', veth, 'up']);
    ip(['netns', 'exec', ns, 'ip', 'addr', 'add', `${net4.dc}/30`, 'dev', vethNs]);
    ip(['netns', 'exec', ns, 'ip', 'link', 'set', vethNs, 'up']);
    ip(['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);

    makeCertificates(dir, net4.dc);
    fs.mkdirSync(path.join(dir, 'run'));
    fs.mkdirSync(path.join(dir, 'log'));
    const options = [
      'server services = ldap',
      `log file = ${dir}/log/log.%m`,
      `pid directory = ${dir}/run`,
      `ncalrpc dir = ${dir}/run/ncalrpc`,
      `tls cafile = ${dir}/ca.pem`,
      `tls certfile = ${dir}/dc.pem`,
      `tls keyfile = ${dir}/dc.key`,
    ];
    const t0 = Date.now();
    await run(
      'samba-tool',
      ['domain', 'provision', '--use-rfc2307', `--realm=${REALM}`, `--domain=${NETBIOS}`, '--server-role=dc', '--dns-backend=SAMBA_INTERNAL', `--targetdir=${dir}/dc`, `--adminpass=${ADMIN_PW}`, '--host-name=dc1', `--host-ip=${net4.dc}`, ...options.map((o) => `--option=${o}`)],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const provisionMs = Date.now() - t0;
    const t1 = Date.now();
    child = spawn('ip', ['netns', 'exec', ns, 'samba', '-i', '-M', 'single', '-s', `${dir}/dc/etc/smb.conf`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
    child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
    await waitForLdaps(net4.dc, child, 180_000, () => out);

    const url = `ldaps://${net4.dc}`;
    const caFile = path.join(dir, 'ca.pem');
    const admin = async () => {
      const c = new Client({ url, tlsOptions: { ca: [fs.readFileSync(caFile)] }, timeout: 60_000, connectTimeout: 60_000 });
      await c.bind(ADMIN_DN, ADMIN_PW);
      return c;
    };
    // The DC answers on 636 a moment before its database is open: retry the first bind.
    let a: Client | null = null;
    for (let i = 0; !a; i++) {
      try {
        a = await admin();
      } catch (e) {
        if (i >= 60) throw new Error(`cannot bind to the DC: ${(e as Error).message}\n${out}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    try {
      await a.add(SYNC_DN, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new Attribute({ type: 'sAMAccountName', values: ['dialin-sync'] }),
        new Attribute({ type: 'unicodePwd', values: [unicodePwd(SYNC_PW)] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
      ]);
    } finally {
      await a.unbind().catch(() => {});
    }
    const startMs = Date.now() - t1;
    const passwordFile = path.join(dir, 'sync.pw');
    fs.writeFileSync(passwordFile, `${SYNC_PW}\n`, { mode: 0o600 });
    return { dir, ip: net4.dc, url, startTlsUrl: `ldap://${net4.dc}`, caFile, passwordFile, provisionMs, startMs, admin, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
