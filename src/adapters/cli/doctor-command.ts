import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import type { Config } from '../../config/config.ts';
import { runDoctor, type DoctorDeps, type Finding, type KeyState, type RelayState } from '../../app/doctor.ts';
import { openDb, redactUrl, sqliteFile } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { KEY_FILE, loadKeys } from '../crypto/keys.ts';
import { classifySendError } from '../smtp/classify.ts';
import { describeRelay, parseRelayUrl } from '../smtp/relay-url.ts';
import { readCaFile } from '../smtp/ca-file.ts';
import { probeSmtpRelay } from '../smtp/smtp-relay.ts';
import { heloName } from '../smtp/helo-name.ts';
import { createDnsClient } from '../dns/resolver.ts';
import { parseMailbox } from '../../core/sender.ts';
import { domainOf, reservedDomainReason } from '../../core/deliverability.ts';
import type { Db } from '../db/database.ts';
import type { Keys } from '../crypto/keys.ts';
import { brokenKeyFindings, checkSenderDomain, configFindings, messageIdFinding, queueFinding, senderDomains, type DeliverabilityFinding } from '../../app/deliverability.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

/** How long the relay check waits for each answer. */
const RELAY_TIMEOUT_MS = 10_000;

/** The key as DIALIN_PIN_KEY or the key file has it; a missing file is reported, never created. */
function keyState(config: Readonly<Config>): KeyState {
  const file = path.join(config.dataDir, KEY_FILE);
  const source = config.pinKey ? 'DIALIN_PIN_KEY' : file;
  if (!config.pinKey && !fs.existsSync(file)) return { state: 'missing', source };
  try {
    const keys = loadKeys({ dataDir: config.dataDir, pinKey: config.pinKey, pinKeysFile: config.pinKeysFile });
    const mode = config.pinKey ? 0 : fs.statSync(file).mode & 0o777;
    return { state: 'loaded', keys, source, ...(mode & 0o077 ? { looseMode: mode.toString(8) } : {}) };
  } catch (e) {
    return { state: 'invalid', source, message: (e as Error).message };
  }
}

/** DIALIN_SMTP_URL checked as the worker connects (TLS, login), or the local mail drop's directory. */
function relayOf(config: Readonly<Config>): DoctorDeps['relay'] {
  if (!config.smtpUrl) {
    const dir = path.join(config.dataDir, 'maildrop');
    return {
      description: `the local mail drop ${dir} (DIALIN_SMTP_URL is not set)`,
      async check(): Promise<RelayState> {
        // dialin creates the directory (and its parents) at the first delivery.
        let target = dir;
        while (!fs.existsSync(target) && path.dirname(target) !== target) target = path.dirname(target);
        try {
          fs.accessSync(target, fs.constants.W_OK);
          return { ok: true, detail: target === dir ? 'writable' : 'created at the first delivery' };
        } catch (e) {
          return { ok: false, why: 'maildrop', reply: `${target} is not writable (${(e as NodeJS.ErrnoException).code})` };
        }
      },
    };
  }
  let ca: string | null = null;
  try {
    ca = readCaFile(config.smtpCaFile);
    const spec = parseRelayUrl(config.smtpUrl, ca);
    return {
      description: describeRelay(spec),
      async check(): Promise<RelayState> {
        try {
          const p = await probeSmtpRelay(spec, { connections: 1, replyTimeoutMs: RELAY_TIMEOUT_MS, heloName: heloName(config.smtpHeloName) });
          return { ok: true, tls: p.tls, detail: spec.auth ? `connection, ${p.tls ? 'TLS' : 'no TLS'} and login accepted` : `connection${p.tls ? ' and TLS' : ''} accepted` };
        } catch (e) {
          const f = classifySendError(e);
          const why = f.class !== 'pause' ? 'unreachable' : /login/.test(f.reply) ? 'login' : /TLS/.test(f.reply) ? 'tls' : 'settings';
          return { ok: false, why, reply: f.reply };
        }
      },
    };
  } catch (e) {
    const reply = (e as Error).message;
    return { description: 'DIALIN_SMTP_URL', check: async () => ({ ok: false, why: 'settings', reply }) };
  }
}

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
