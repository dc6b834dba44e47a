import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'ldapts';
import { freePort } from './free-port.ts';

/**
 * A private OpenLDAP server (Debian's slapd) for one test file: its own directory under /tmp,
 * slapd.conf with the core, cosine, inetorgperson and nis schemas, an mdb database loaded with
 * slapadd, a CA and a server certificate made with openssl (StartTLS verified against the CA),
 * on a free port of 127.0.0.1. Nothing of the machine's own slapd is read or touched.
 */

export const SUFFIX = 'dc=contoso,dc=com';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'root-secret-not-for-dialin';
export const SYNC_DN = `cn=dialin-sync,ou=services,${SUFFIX}`;
export const SYNC_PW = 'sync-pass-4711';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const LICENCE_GROUP = `cn=dialin,${GROUPS}`;

const SLAPD = fs.existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
const SLAPADD = fs.existsSync('/usr/sbin/slapadd') ? '/usr/sbin/slapadd' : 'slapadd';

export interface Slapd {
  dir: string;
  port: number;
  /** ldap://localhost:PORT (StartTLS; the certificate names localhost). */
  url: string;
  caFile: string;
  /** A file holding the sync account's password. */
  passwordFile: string;
  /** A client bound as the root DN, to change the directory during a test. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

export interface Person {
  uid: string;
  cn: string;
  mail?: string;
  ou?: string;
  lang?: string;
  phone?: string;
  title?: string;
  /** The entry's parent (default: ou=people): people in OUs of their own. */
  parent?: string;
}

export function personLdif(p: Person): string {
  return [
    `dn: uid=${p.uid},${p.parent ?? PEOPLE}`,
    'objectClass: inetOrgPerson',
    `uid: ${p.uid}`,
    `cn: ${p.cn}`,
    `sn: ${p.cn.split(' ').at(-1)}`,
    `displayName: ${p.cn}`,
    ...(p.mail ? [`mail: ${p.mail}`] : []),
    ...(p.ou ? [`ou: ${p.ou}`] : []),
    ...(p.lang ? [`preferredLanguage: ${p.lang}`] : []),
    ...(p.phone ? [`telephoneNumber: ${p.phone}`] : []),
    ...(p.title ? [`title: ${p.title}`] : []),
    '',
  ].join('\n');
}

export function ouLdif(dn: string): string {
  return [`dn: ${dn}`, 'objectClass: organizationalUnit', `ou: ${/^ou=([^,]+)/i.exec(dn)![1]}`, ''].join('\n');
}

export function groupLdif(cn: string, members: string[]): string {
  return [`dn: cn=${cn},${GROUPS}`, 'objectClass: groupOfNames', `cn: ${cn}`, ...members.map((m) => `member: ${m}`), ''].join('\n');
}

function makeCertificates(dir: string): void {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dialin test CA']);
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
}

function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`slapd exited with ${child.exitCode}`));
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`slapd did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Starts slapd loaded with `ldif` (the base entries and the sync account are added first). */
export async function startSlapd(ldif: string, o: { maxSizeMb?: number } = {}): Promise<Slapd> {
  const dir = fs.mkdtempSync('/tmp/h11-slapd-');
  fs.mkdirSync(path.join(dir, 'db'));
  makeCertificates(dir);
  const conf = path.join(dir, 'slapd.conf');
  fs.writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
# a small server size limit: only paged searches read the whole directory
sizelimit size.soft=5 size.hard=5 size.prtotal=unlimited
database mdb
maxsize ${(o.maxSizeMb ?? 100) * 1024 * 1024}
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${dir}/db
index objectClass eq
index entryUUID eq
# incremental passes ask for modifyTimestamp>=…
index modifyTimestamp eq
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="${SYNC_DN}" read by * none
`,
  );
  const base = [
    `dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Contoso', 'dc: contoso', '',
    `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', 'ou: people', '',
    `dn: ${GROUPS}`, 'objectClass: organizationalUnit', 'ou: groups', '',
    `dn: ou=services,${SUFFIX}`, 'objectClass: organizationalUnit', 'ou: services', '',
    `dn: ${SYNC_DN}`, 'objectClass: organizationalRole', 'objectClass: simpleSecurityObject', 'cn: dialin-sync', `userPassword: ${SYNC_PW}`, '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'data.ldif'), `${base}\n${ldif}`);
  execFileSync(SLAPADD, ['-q', '-f', conf, '-l', path.join(dir, 'data.ldif')], { stdio: 'pipe' });
  const port = await freePort();
  const child = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port, child, 20_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const passwordFile = path.join(dir, 'sync.pw');
  fs.writeFileSync(passwordFile, `${SYNC_PW}\n`, { mode: 0o600 });
  const caFile = path.join(dir, 'ca.pem');
  const url = `ldap://localhost:${port}`;
  return {
    dir,
    port,
    url,
    caFile,
    passwordFile,
    async admin() {
      const c = new Client({ url });
      await c.startTLS({ ca: [fs.readFileSync(caFile)], servername: 'localhost' });
      await c.bind(ROOT_DN, ROOT_PW);
      return c;
    },
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
