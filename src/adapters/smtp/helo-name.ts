import fs from 'node:fs';
import os from 'node:os';

let machine: string | null = null;

/**
 * The name this machine gives in EHLO: DIALIN_SMTP_HELO_NAME, else its fully qualified name —
 * the host name when it has dots, else the first dotted alias of it in /etc/hosts, else the bare
 * host name (the doctor says to set DIALIN_SMTP_HELO_NAME then). Never "[127.0.0.1]", which is
 * what nodemailer says for a host name without a dot.
 */
export function heloName(configured: string | null): string {
  if (configured) return configured;
  if (machine) return machine;
  const host = os.hostname();
  let name = host;
  if (!host.includes('.')) {
    try {
      for (const line of fs.readFileSync('/etc/hosts', 'utf8').split('\n')) {
        const names = line.replace(/#.*/, '').trim().split(/\s+/).slice(1);
        if (!names.includes(host)) continue;
        const fq = names.find((n) => n.includes('.') && n.toLowerCase().startsWith(`${host.toLowerCase()}.`) && !/\.localdomain$/i.test(n));
        if (fq) {
          name = fq;
          break;
        }
      }
    } catch {
      // no /etc/hosts: the bare name
    }
  }
  return (machine = name);
}
