import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { activateDkimKey, generateDkimKeys, listDkimKeys, removeDkimKey, showDkimKey, type DkimKeyView } from '../../app/dkim.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

/** `dialin dkim …` (keys and the records to publish) and `dialin bounces` (the receivers of returns). */
export function registerDeliverabilityCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async () => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, g().tenant ?? null));
  };
  const show = (keys: DkimKeyView[]) => {
    if (g().json) return term.out(render(keys.map((k) => ({ ...k })), [], true, false));
    for (const k of keys) {
      term.out(`${k.RecordName}  (${k.Algorithm}, ${k.State}, ${k.Tenant})`);
      term.out(`  TXT value:  ${k.RecordValue}`);
      term.out(`  zone file:  ${k.ZoneFile.replace(/\n/g, '\n              ')}`);
    }
  };

  const dkim = program.command('dkim').description('DKIM keys of sender domains: generate (prints the DNS TXT record to publish), list, show, activate, remove');
  dkim
    .command('generate')
    .description('Make an RSA 2048 key for a domain (sealed under the master key) and print the TXT record to publish. Without --tenant it is the deployment\'s (signs any mail from the domain); with --tenant only that tenant\'s. A second key of a domain waits on standby for a rotation until `dkim activate`.')
    .requiredOption('--domain <domain>', 'the From domain to sign for, e.g. contoso.com')
    .option('--selector <selector>', 'the DNS selector (default dialin-YYYYMM)')
    .option('--ed25519', 'also an Ed25519 key (selector-ed), for a second signature (RFC 8463)')
    .action(async (o: { domain: string; selector?: string; ed25519?: boolean }) => {
      const keys = await generateDkimKeys(await scope(), { domain: o.domain, selector: o.selector ?? null, ed25519: !!o.ed25519, forTenant: g().tenant !== undefined });
      show(keys);
      if (!g().json) {
        term.err(keys.some((k) => k.State === 'standby')
          ? `Publish the record(s), check with \`dialin doctor\` that DNS shows them, then \`dialin dkim activate --domain ${keys[0]!.Domain} --selector ${keys[0]!.Selector}\`; remove the old key a few days later.`
          : 'Publish the record(s) above in DNS; mail from this domain is signed from now on (`dialin doctor` checks the published record).');
      }
    });
  dkim
    .command('list')
    .description('The keys this tenant\'s mail may be signed with (its own and the deployment\'s)')
    .option('--domain <domain>', 'only this domain')
    .action(async (o: { domain?: string }) => {
      const keys = await listDkimKeys(await scope(), { domain: o.domain ?? null });
      if (g().json) term.out(render(keys.map((k) => ({ ...k })), [], true, false));
      else if (keys.length) term.out(render(keys.map((k) => ({ Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, State: k.State, Tenant: k.Tenant, CreatedAt: k.CreatedAt })), [{ kind: 'table', props: [] }], false, false));
      else term.err('No DKIM keys: `dialin dkim generate --domain <domain>` makes one.');
    });
  const keyCommand = (name: string, description: string, run: (domain: string, selector: string) => Promise<void>) =>
    dkim
      .command(name)
      .description(description)
      .requiredOption('--domain <domain>', 'the domain')
      .requiredOption('--selector <selector>', 'the selector')
      .action(async (o: { domain: string; selector: string }) => run(o.domain, o.selector));
  keyCommand('show', 'One key and its TXT record', async (d, s) => show([await showDkimKey(await scope(), d, s)]));
  keyCommand('activate', 'Sign with this (standby) key from now on, after its record is published; the other key of its algorithm goes on standby', async (d, s) => {
    show([await activateDkimKey(await scope(), d, s)]);
    term.err('Mail is signed with this key from now on.');
  });
  keyCommand('remove', 'Delete a key (its record can go from DNS once mail signed with it has arrived); a standby key takes over signing', async (d, s) => {
    const r = await removeDkimKey(await scope(), d, s);
    term.err(`Removed ${r.removed.RecordName}.${r.nowSigning ? ` ${r.nowSigning.RecordName} signs from now on.` : r.removed.State === 'active' ? ` Mail from ${r.removed.Domain} is no longer signed with ${r.removed.Algorithm}.` : ''}`);
  });

  program
    .command('bounces')
    .description('Receive returns (bounces, delays, complaints) until stopped: by SMTP on DIALIN_BOUNCE_LISTEN and/or by polling DIALIN_BOUNCE_IMAP_URL (`dialin serve` does the same when they are set)')
    .option('--once', 'poll the bounce mailbox once, print the counts and exit')
    .action(async (o: { once?: boolean }) => {
      const b = holder.config.bounces;
      if (!b.listen && !b.imapUrl) throw new AppError('BOUNCES_NOT_CONFIGURED', 'Set DIALIN_BOUNCE_LISTEN (host:port, with DIALIN_BOUNCE_DOMAIN) or DIALIN_BOUNCE_IMAP_URL.');
      if (o.once && !b.imapUrl) throw new AppError('BOUNCES_NOT_CONFIGURED', '--once polls the bounce mailbox: set DIALIN_BOUNCE_IMAP_URL.', { field: 'once' });
      const ctx = await holder.get();
      const [{ pino }, { startBounceReceivers }] = await Promise.all([import('pino'), import('../../main/bounces.ts')]);
      const log = pino({ level: holder.config.logLevel, base: { service: 'dialin-bounces' } }, pino.destination({ dest: 2, sync: true }));
      // --once reads the mailbox only: the listener belongs to the long-running process.
      const config = o.once ? { ...holder.config, bounces: { ...b, listen: null } } : holder.config;
      const receivers = await startBounceReceivers({ ctx, config, log });
      if (o.once) {
        await receivers.pollNow();
      } else {
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        });
      }
      await receivers.close();
      const c = receivers.counts();
      if (g().json) term.out(JSON.stringify(c));
      else term.err(Object.entries(c).map(([k, v]) => `${k}=${v}`).join(', '));
    });
}
