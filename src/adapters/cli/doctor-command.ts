import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import type { Config } from '../../config/config.ts';
import { runDoctor, type Finding, type RelayState } from '../../app/doctor.ts';
import { keyState, relayOf } from '../doctor-probes.ts';
import { openDb, redactUrl, sqliteFile } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { createDnsClient } from '../dns/resolver.ts';
import { parseMailbox } from '../../core/sender.ts';
import { domainOf, reservedDomainReason } from '../../core/deliverability.ts';
import type { Db } from '../db/database.ts';
import type { Keys } from '../crypto/keys.ts';
import { brokenKeyFindings, checkSenderDomain, configFindings, messageIdFinding, queueFinding, senderDomains, type DeliverabilityFinding } from '../../app/deliverability.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

/**
 * The deliverability checks: configuration, Message-IDs, the queue, DKIM keys, the relay's TLS,
 * and for each sender domain what DNS (DIALIN_DNS_SERVERS) says about SPF, DMARC and DKIM.
 */
async function deliverability(config: Readonly<Config>, o: { db: Db | null; keys: Keys | null; relay: RelayState }): Promise<DeliverabilityFinding[]> {
  const relay = !!config.smtpUrl;
  const defaultFrom = parseMailbox(config.mailFrom);
  const domains = o.db ? await senderDomains(o.db, defaultFrom) : [{ domain: domainOf(defaultFrom.address), usedBy: ['the default sender (DIALIN_MAIL_FROM)'] }];
  const out = configFindings(config, domains);
  if (o.db) out.push(await messageIdFinding(o.db, defaultFrom, relay), await queueFinding(o.db, Date.now(), config.queueStallMs, relay));
  if (o.db && o.keys) out.push(...(await brokenKeyFindings(o.db, o.keys)));
  if (relay && o.relay.ok) {
    out.push(o.relay.tls ? { check: 'tls', ok: true, detail: 'the relay offers STARTTLS (or implicit TLS): mail and login are encrypted on the way to it' } : { check: 'tls', ok: false, detail: 'the relay does not offer STARTTLS: mail (with PINs) travels to it in clear', fix: 'enable STARTTLS on the relay (Postfix: smtpd_tls_security_level = may, with a certificate), or use smtps:// to its implicit-TLS port' });
  }
  const dns = createDnsClient(config.dns);
  const perDomain = await Promise.all(domains.filter((d) => reservedDomainReason(d.domain) === null).map((d) => (o.db ? checkSenderDomain(o.db, config, dns, d.domain) : Promise.resolve([]))));
  return [...out, ...perDomain.flat()];
}

function printFindings(findings: Finding[], term: Terminal, json: boolean): void {
  if (json) {
    term.out(JSON.stringify(findings.map((f) => ({ Check: f.check, Status: f.ok ? 'OK' : f.warning ? 'WARNING' : 'PROBLEM', Detail: f.detail, Fix: f.fix ?? null })), null, 2));
    return;
  }
  for (const f of findings) {
    term.out(`${f.ok ? 'OK     ' : f.warning ? 'WARNING' : 'PROBLEM'}  ${f.check.padEnd(10)}  ${f.detail}`);
    if (f.fix) term.out(`${' '.repeat(21)}fix: ${f.fix}`);
  }
}

/** `dialin doctor`: the deployment's health, each finding with what to fix; exit 1 when one is a problem. */
export function registerDoctorCommand(program: Command, holder: ContextHolder, term: Terminal): void {
  program
    .command('doctor')
    .description('Check the database, its schema, the key, the relay, the outbox and whether mail can be delivered (sender domains, SPF, DMARC and DKIM in DNS, TLS, links, EHLO name), and say what to fix (changes nothing; exit 1 on a problem, warnings do not count)')
    .action(async () => {
      const config = holder.config;
      // Opened directly, not through the context: that would migrate the database and create a key.
      const missingFile = !config.databaseUrl && !fs.existsSync(sqliteFile(config.dataDir));
      const db = missingFile ? null : openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: 2 });
      try {
        const findings = await runDoctor({
          db,
          location: config.databaseUrl ? redactUrl(config.databaseUrl) : sqliteFile(config.dataDir),
          migrations: Object.keys(MIGRATIONS),
          keys: keyState(config),
          relay: relayOf(config),
          leaseMs: config.delivery.leaseMs,
          now: Date.now(),
          deliverability: (o) => deliverability(config, o),
        });
        printFindings(findings, term, !!program.opts<{ json?: boolean }>().json);
        const problems = findings.filter((f) => !f.ok && !f.warning).length;
        if (problems) throw new AppError('DOCTOR_FOUND_PROBLEMS', `${problems} problem(s) found; each is listed above with what to fix.`);
      } finally {
        await db?.close();
      }
    });
}
