import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

/**
 * A Postfix of the test's own (Debian's postfix, started with `postfix -c DIR`): a private
 * configuration, queue and data directory, one smtpd on a free loopback port, nothing of the
 * machine's own Postfix read or started. It relays for 127.0.0.0/8 and delivers the domain
 * `deliver.test` to virtual mailboxes (unknown users are accepted, then bounced by Postfix with
 * its own DSN); `routes` sends other domains to given SMTP servers (a bounce listener).
 */
export interface TestPostfix {
  port: number;
  /** The name Postfix gives itself (Reporting-MTA of its DSNs). */
  hostname: string;
  /** Messages delivered to a mailbox of deliver.test, as files. */
  delivered(user: string): Buffer[];
  log(): string;
  stop(): void;
}

export const POSTFIX_MAILBOXES = ['alice'];

export async function startTestPostfix(routes: Record<string, number>): Promise<TestPostfix> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-postfix-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['queue', 'data', 'mail']) fs.mkdirSync(path.join(dir, d));
  execFileSync('chown', ['postfix', path.join(dir, 'data')]);
  fs.chmodSync(path.join(dir, 'mail'), 0o777);
  const port = await freePort();
  const hostname = 'relay.dialin-test.net';
  const main = {
    compatibility_level: '3.6',
    queue_directory: `${dir}/queue`,
    data_directory: `${dir}/data`,
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: hostname,
    mydomain: 'dialin-test.net',
    myorigin: '$myhostname',
    mydestination: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relay_domains: '',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    virtual_mailbox_domains: 'deliver.test',
    virtual_mailbox_base: `${dir}/mail`,
    virtual_mailbox_maps: `texthash:${dir}/vmailbox`,
    virtual_uid_maps: 'static:65534',
    virtual_gid_maps: 'static:65534',
    smtpd_reject_unlisted_recipient: 'no',
    transport_maps: `texthash:${dir}/transport`,
    smtp_dns_support_level: 'disabled',
    maillog_file: `${dir}/maillog`,
    maillog_file_prefixes: dir,
    notify_classes: '',
    biff: 'no',
    smtp_tls_security_level: 'may',
    smtpd_tls_security_level: 'none',
    delay_warning_time: '0',
    shlib_directory: '/usr/lib/postfix',
    daemon_directory: '/usr/lib/postfix/sbin',
    command_directory: '/usr/sbin',
    meta_directory: '/etc/postfix',
  };
  fs.writeFileSync(path.join(dir, 'main.cf'), Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'local unix - n n - - local',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  fs.writeFileSync(path.join(dir, 'master.cf'), services.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'vmailbox'), POSTFIX_MAILBOXES.map((u) => `${u}@deliver.test ${u}/`).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'transport'), Object.entries(routes).map(([d, p]) => `${d} smtp:[127.0.0.1]:${p}`).join('\n') + '\n');
  execFileSync('postfix', ['-c', dir, 'start'], { stdio: 'ignore' });
  return {
    port,
    hostname,
    delivered(user) {
      const d = path.join(dir, 'mail', user, 'new');
      return fs.existsSync(d) ? fs.readdirSync(d).sort().map((f) => fs.readFileSync(path.join(d, f))) : [];
    },
    log: () => (fs.existsSync(path.join(dir, 'maillog')) ? fs.readFileSync(path.join(dir, 'maillog'), 'utf8') : ''),
    stop() {
      try {
        execFileSync('postfix', ['-c', dir, 'stop'], { stdio: 'ignore' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
