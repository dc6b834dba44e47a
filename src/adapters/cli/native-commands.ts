import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { addTenant, listTenants, resolveTenant, scopeOf } from '../../app/tenants.ts';
import { addUser, listUsers, userListing } from '../../app/users.ts';
import { importError, importUsers } from '../../app/import-users.ts';
import { enableUsers } from '../../app/enable-users.ts';
import { getOutbox, listOutbox } from '../../app/outbox.ts';
import { listAudit } from '../../app/audit.ts';
import { readCsv } from '../files/csv-records.ts';
import { render } from './format.ts';
import { registerWebCommands } from './web-commands.ts';
import { registerMailCommands } from './mail-commands.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import { registerDeliverabilityCommands } from './deliverability-commands.ts';
import { registerDirectoryCommands } from './directory-commands.ts';
import { registerScimCommands } from './scim-commands.ts';
import { registerKeyCommands } from './key-commands.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerMigrateCommand } from './migrate-commands.ts';
import { registerSsoCommands } from './sso-commands.ts';
import type { ContextHolder } from './main.ts';
import { EXIT_SOME_SKIPPED, type Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

/** dialin's own commands (not cmdlets): migrate, tenant, users, outbox, audit. */
/** `status.code` is the exit status of a command that finished (EXIT_SOME_SKIPPED when it skipped lines). */
export function registerNativeCommands(program: Command, holder: ContextHolder, term: Terminal, status: { code: number }): void {
  registerWebCommands(program, holder, term);
  registerMailCommands(program, holder, term);
  registerDoctorCommand(program, holder, term);
  registerDeliverabilityCommands(program, holder, term);
  registerDirectoryCommands(program, holder, term);
  registerScimCommands(program, holder, term);
  registerKeyCommands(program, holder, term);
  registerBackupCommands(program, holder, term);
  registerMigrateCommand(program, holder, term);
  registerSsoCommands(program, holder, term);
  const g = () => program.opts<Globals>();
  const scope = async (tenantOpt?: string) => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, tenantOpt ?? g().tenant ?? null));
  };
  const print = (objs: Record<string, unknown>[], single = false) => {
    if (objs.length || g().json) term.out(render(objs, [], !!g().json, single));
  };


  const tenant = program.command('tenant').description('Tenants (organisations) of this deployment');
  tenant
    .command('add')
    .description('Create a tenant')
    .argument('<name>', 'short name, e.g. contoso')
    .option('--domain <domain>', 'its mail domain, e.g. contoso.com')
    .action(async (name: string, o: { domain?: string }) => {
      const t = await addTenant(await holder.get(), name, o.domain ?? null);
      print([{ Identity: t.id, Name: t.name, Domain: t.domain }], true);
    });
  tenant
    .command('list')
    .description('List tenants')
    .action(async () => {
      print((await listTenants(await holder.get())).map((t) => ({ Identity: t.id, Name: t.name, Domain: t.domain, Created: new Date(t.created_at).toISOString() })));
    });

  const users = program.command('users').description('The user directory');
  users
    .command('add')
    .description('Add one user to the directory')
    .requiredOption('--uri <sip>', 'SIP address or user@domain')
    .requiredOption('--name <displayName>', 'display name')
    .option('--email <address>', 'e-mail address (default: the SIP address)')
    .option('--language <tag>', 'preferred language, e.g. en or fr-CA')
    .option('--phone <number>', 'phone number')
    .option('--extension <digits>', 'extension')
    .action(async (o: { uri: string; name: string; email?: string; language?: string; phone?: string; extension?: string }) => {
      const u = await addUser(await scope(), { UserUri: o.uri, DisplayName: o.name, EmailAddress: o.email, Language: o.language, Phone: o.phone, Extension: o.extension });
      print([{ ...userListing(u) }], true);
    });
  users
    .command('import')
    .description('Import users from a CSV (UserUri,DisplayName,EmailAddress,Language[,Phone,Extension]); all or nothing unless --skip-invalid')
    .argument('<file>', 'CSV file, UTF-8')
    .option('--skip-invalid', 'import the valid lines and report the others')
    .option('--enable', 'also enable the new users for dial-in (as Enable-CsOnlineDialInConferencingUser), in the same transaction')
    .option('--bridge <name>', 'with --enable: the bridge (default: the tenant default bridge)')
    .action(async (file: string, o: { skipInvalid?: boolean; enable?: boolean; bridge?: string }) => {
      const s = await scope();
      const started = Date.now();
      const tty = process.stderr.isTTY;
      const res = await importUsers(s, readCsv(file, { required: ['UserUri', 'DisplayName', 'EmailAddress', 'Language'], optional: ['Phone', 'Extension'] }), {
        skipInvalid: !!o.skipInvalid,
        afterInsert: o.enable ? enableUsers(s, { bridge: { name: o.bridge ?? null } }) : undefined,
        onProgress: (n) => {
          if (n > 0) term.err(`${tty ? '\r' : ''}read ${n} lines…${tty ? '' : '\n'}`);
        },
      });
      if (res.rolledBack) throw importError(res);
      if (o.enable) s.onMailQueued?.();
      const secs = (Date.now() - started) / 1000;
      const lines = [`Imported${o.enable ? ' and enabled' : ''} ${res.imported} user(s) in ${secs.toFixed(1)} s${res.skipped ? `, skipped ${res.skipped} invalid line(s):` : '.'}`];
      for (const p of res.problems.slice(0, 20)) lines.push(`  line ${p.line}: ${p.message}`);
      term.err(lines.join('\n'));
      if (g().json) term.out(JSON.stringify({ Imported: res.imported, Skipped: res.skipped, Problems: res.problems }, null, 2));
      if (res.skipped > 0) status.code = EXIT_SOME_SKIPPED;
    });
  users
    .command('list')
    .description('List directory users')
    .option('--search <text>', 'part of the name, SIP address or e-mail')
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (o: { search?: string; limit: string; offset: string }) => {
      const res = await listUsers(await scope(), { search: o.search, limit: intOpt(o.limit, 'limit'), offset: intOpt(o.offset, 'offset') });
      print(res.users.map((u) => ({ ...userListing(u) })));
      if (!g().json) term.err(`${res.users.length} of ${res.total} user(s).`);
    });

  const outbox = program.command('outbox').description('Mail waiting to be sent or sent (never shows a PIN)');
  outbox
    .command('list')
    .description('List outbox messages, newest first')
    .option('--status <status>', 'queued, sending, sent, delayed, bounced, complained, failed, expired or superseded')
    .option('--kind <kind>', 'welcome, pin_changed, info_changed, turned_off, conference_info, sign_in_link or pin_changed_by_user')
    .option('--user <sip>', 'only this user')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { status?: string; kind?: string; user?: string; limit: string }) => {
      const rows = await listOutbox(await scope(), { status: o.status, kind: o.kind, user: o.user ? `sip:${o.user.replace(/^sip:/i, '').toLowerCase()}` : null, limit: intOpt(o.limit, 'limit') });
      if (g().json) print(rows.map((r) => ({ ...r })));
      else term.out(render(rows.map((r) => ({ Id: r.Id, Kind: r.Kind, Status: r.Status, Recipient: r.Recipient, Attempts: r.Attempts, CreatedAt: r.CreatedAt, LastReply: r.LastReply ?? r.LastError })), [{ kind: 'table', props: [] }], false, false));
    });
  outbox
    .command('show')
    .description('Show one outbox message')
    .argument('<id>')
    .action(async (id: string) => print([{ ...(await getOutbox(await scope(), id)) }], true));

  program
    .command('audit')
    .description('The audit log: who changed what, when (never a secret)')
    .option('--user <identity>', "only this user's entries (id)")
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { user?: string; limit: string }) => {
      const rows = await listAudit(await scope(), { limit: intOpt(o.limit, 'limit'), userId: o.user });
      if (g().json) print(rows.map((r) => ({ ...r })));
      else term.out(render(rows.map((r) => ({ ...r, Details: JSON.stringify(r.Details) })), [{ kind: 'table', props: [] }], false, false));
    });
}

function intOpt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new AppError('INVALID_ARGUMENT', `--${name} must be a whole number.`, { field: name });
  return n;
}
