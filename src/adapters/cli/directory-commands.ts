import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { addDirectoryConnection, listDirectoryConnections, removeDirectoryConnection, showDirectoryConnection } from '../../app/directory-connections.ts';
import { directoryStatus, syncDirectory, testDirectory, type SyncReport } from '../../app/directory-sync.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

interface AddOptions {
  url: string;
  base: string;
  bindDn?: string;
  passwordFile?: string;
  kind?: string;
  licenceGroup?: string;
  filter?: string;
  caFile?: string;
  interval?: string;
  maxDisable?: string;
  map: string[];
  insecurePlaintext?: boolean;
}

/** The bind password from its file: the first line, so a trailing newline is not part of it. */
function readPassword(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new AppError('FILE_NOT_FOUND', `Cannot read the password file ${file}.`, { field: 'password-file' });
  }
  const pw = text.split(/\r?\n/)[0] ?? '';
  if (!pw) throw new AppError('INVALID_ARGUMENT', `The password file ${file} is empty.`, { field: 'password-file' });
  return pw;
}

/** `dialin directory …`: connections to LDAP / Active Directory and their sync. */
export function registerDirectoryCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async () => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, g().tenant ?? null));
  };
  const print = (objs: Record<string, unknown>[], single = false) => term.out(render(objs, [], !!g().json, single));

  const dir = program.command('directory').description('Follow an LDAP directory (OpenLDAP, Active Directory): add a connection, test it, sync users and dial-in licences from it');
  dir
    .command('add')
    .description('Add a directory connection to the tenant (the bind password is sealed under the master key, never shown). ldap:// is upgraded with StartTLS; certificates are always verified.')
    .argument('<name>', 'a short name for the connection, e.g. corp')
    .requiredOption('--url <url>', 'ldaps://host[:port] or ldap://host[:port] (StartTLS)')
    .requiredOption('--base <dn>', 'where people are searched, e.g. ou=people,dc=contoso,dc=com')
    .option('--bind-dn <dn>', 'the account dialin binds as (read-only is enough)')
    .option('--password-file <file>', 'a file whose first line is the bind password')
    .option('--kind <kind>', 'openldap (default) or ad')
    .option('--licence-group <dn>', 'members of this group (nested groups too) are enabled for dial-in; leaving it disables')
    .option('--filter <filter>', 'LDAP filter selecting people (default: (objectClass=inetOrgPerson), AD: person users)')
    .option('--ca-file <pem>', 'the CA certificate(s) that signed the directory\'s certificate')
    .option('--interval <duration>', 'how often serve/worker sync it, e.g. 5m (default 5m)')
    .option('--max-disable <n>', 'the most users one sync may disable without --allow-mass-disable (default: min(500, 10 % of licensed users))')
    .option('--map <field=attribute>', 'override a mapped attribute (repeatable), e.g. --map sip=msRTCSIP-PrimaryUserAddress --map displayName=displayName|cn', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--insecure-plaintext', 'allow ldap:// without StartTLS (the password crosses the network in clear)')
    .action(async (name: string, o: AddOptions) => {
      const view = await addDirectoryConnection(await scope(), {
        name,
        url: o.url,
        base: o.base,
        bindDn: o.bindDn ?? null,
        password: o.passwordFile ? readPassword(o.passwordFile) : null,
        kind: o.kind ?? null,
        licenceGroup: o.licenceGroup ?? null,
        filter: o.filter ?? null,
        caFile: o.caFile ?? null,
        interval: o.interval ?? null,
        maxDisable: o.maxDisable ?? null,
        map: o.map,
        insecurePlaintext: !!o.insecurePlaintext,
      });
      print([{ ...view }], true);
      if (!g().json) term.err(`Added. Check it with \`dialin directory test ${view.Name}\`, preview with \`dialin directory sync ${view.Name} --dry-run\`.`);
    });
  dir
    .command('list')
    .description('The tenant\'s directory connections')
    .action(async () => {
      const rows = await listDirectoryConnections(await scope());
      if (g().json) print(rows.map((r) => ({ ...r })));
      else if (rows.length) term.out(render(rows.map((r) => ({ Name: r.Name, Kind: r.Kind, Url: r.Url, Transport: r.Transport, BaseDn: r.BaseDn, LicenceGroup: r.LicenceGroup, LastFullSync: r.LastFullSync })), [{ kind: 'table', props: [] }], false, false));
      else term.err('No directory connections: `dialin directory add NAME --url … --base …` adds one.');
    });
  dir
    .command('show')
    .description('One connection with its mapping (never the password)')
    .argument('<name>')
    .action(async (name: string) => print([{ ...(await showDirectoryConnection(await scope(), name)) }], true));
  dir
    .command('remove')
    .description('Delete a connection; its users stay (no longer linked to the directory) with their dial-in state')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await removeDirectoryConnection(await scope(), name);
      term.err(`Removed ${r.name}; ${r.unlinkedUsers} user(s) are no longer linked to it.`);
    });
  dir
    .command('test')
    .description('Connect, bind, count the entries the filter selects and the licence group\'s members, and print three users as they would be mapped; changes nothing')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await testDirectory(await scope(), name);
      if (g().json) return term.out(JSON.stringify(r, null, 2));
      term.out(render([{ Connection: r.Connection, Url: r.Url, Bind: r.Bind, Filter: r.Filter, Entries: r.Entries, LicenceGroup: r.LicenceGroup, LicenceGroupMembers: r.LicenceGroupMembers }], [], false, true));
      for (const smp of r.Samples) term.out(`\n${render([smp], [], false, true)}`);
      if (r.Unusable.length) term.out(`\nEntries that would be skipped:\n${r.Unusable.map((u) => `  ${u.Dn}: ${u.Reason}`).join('\n')}`);
    });
  dir
    .command('sync')
    .description('Sync users and licences from the directory now: incremental (changed entries) unless --full or the last full pass is older than 24 h; a full pass also finds deleted entries')
    .argument('<name>')
    .option('--dry-run', 'print what would change (enable, disable, update, adopt, skip, with reasons) and change nothing')
    .option('--full', 'read every entry (finds deletions)')
    .option('--allow-mass-disable', 'apply even if more users would be disabled than --max-disable allows')
    .action(async (name: string, o: { dryRun?: boolean; full?: boolean; allowMassDisable?: boolean }) => {
      // This process runs one sync and exits: a first sync holds the whole directory (about 110 MB of heap at
      // 100,000 entries) and V8 would let its heap grow to four times what is live before collecting (613 MB
      // RSS). A growth of 30 % keeps it under 300 MB for a few more collections (about 10 % slower). Read by V8 at each collection.
      (await import('node:v8')).setFlagsFromString('--heap-growing-percent=30');
      const r = await syncDirectory(await scope(), name, { dryRun: !!o.dryRun, full: !!o.full, allowMassDisable: !!o.allowMassDisable });
      printReport(r);
      if (r.Status === 'held') {
        throw new AppError('DIRECTORY_MASS_DISABLE_HELD', `${r.Connection}: the sync would disable ${r.Counts.disable} users, more than the limit of ${r.DisableLimit}; nothing changed. Check the list above, then run \`dialin directory sync ${r.Connection} --allow-mass-disable\`.`, { field: 'max-disable' });
      }
    });
  dir
    .command('status')
    .description('The last sync runs of the tenant\'s connections: counts, skipped entries with their reasons, errors')
    .argument('[name]', 'only this connection')
    .option('--limit <n>', 'at most this many runs', '10')
    .action(async (name: string | undefined, o: { limit: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new AppError('INVALID_ARGUMENT', '--limit must be a whole number of at least 1.', { field: 'limit' });
      const runs = await directoryStatus(await scope(), { name: name ?? null, limit });
      if (g().json) return term.out(JSON.stringify(runs, null, 2));
      if (!runs.length) return term.err('No sync has run yet: `dialin directory sync NAME`.');
      const c = (r: (typeof runs)[number]) => `entries ${r.Counts.entries}, created ${r.Counts.create}, adopted ${r.Counts.adopt}, updated ${r.Counts.update}, enabled ${r.Counts.enable}, disabled ${r.Counts.disable}, skipped ${r.Counts.skip}`;
      term.out(render(runs.map((r) => ({ Connection: r.Connection, StartedAt: r.StartedAt, Status: r.Status, Mode: r.Mode, Counts: c(r), Error: r.Error })), [{ kind: 'table', props: [] }], false, false));
      const last = runs[0]!;
      if (last.Skipped.length) term.out(`\nSkipped in the last run of ${last.Connection}:\n${last.Skipped.map((k) => `  ${k.Sip ?? k.Dn}${k.Dn && k.Sip ? ` (${k.Dn})` : ''}: ${k.Reason}`).join('\n')}`);
    });

  const printReport = (r: SyncReport) => {
    if (g().json) return term.out(JSON.stringify(r, null, 2));
    const verb = r.Status === 'applied' ? 'Applied' : r.Status === 'dry-run' ? 'Would apply (dry run, nothing changed)' : 'HELD, nothing changed';
    const k = r.Counts;
    const lines = [`${r.Connection}: ${r.Mode} pass, ${k.entries} entries${k.licensed ? `, ${k.licensed} licence group members` : ''}.`, `${verb}: create ${k.create}, adopt ${k.adopt}, update ${k.update}, enable ${k.enable}, disable ${k.disable} (limit ${r.DisableLimit}), gone ${k.gone}, skip ${k.skip}.`];
    for (const ch of r.Changes) lines.push(`  ${[ch.Action !== 'none' ? ch.Action : null, ch.Licence].filter(Boolean).join(' + ').padEnd(16)} ${ch.Sip ?? ''}  ${ch.Dn}${ch.Changes.length ? `  [${ch.Changes.join(', ')}]` : ''}`);
    if (r.ChangesNotListed) lines.push(`  … and ${r.ChangesNotListed} more changes (each one is in the audit trail once applied)`);
    for (const sk of r.Skipped) lines.push(`  ${'skip'.padEnd(16)} ${sk.Sip ?? ''}  ${sk.Dn}: ${sk.Reason}`);
    if (r.SkippedNotListed) lines.push(`  … and ${r.SkippedNotListed} more skipped`);
    term.out(lines.join('\n'));
  };
}
