import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { addAdmin, listAdmins, removeAdmin, toAdminRole } from '../../app/admins.ts';
import { createApiToken, listApiTokens, revokeApiToken, toTokenRole } from '../../app/api-tokens.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

/** `dialin serve`, `dialin token …` and `dialin admin …`: the web side of the CLI. */
export function registerWebCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async (tenantOpt?: string) => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, tenantOpt ?? g().tenant ?? null));
  };
  const print = (objs: Record<string, unknown>[], single = false) => {
    if (objs.length || g().json) term.out(render(objs, [], !!g().json, single));
  };

  program
    .command('serve')
    .description('Run the admin center, the Dial-in Conferencing Settings page, the REST API and (unless --no-worker) the mail delivery worker')
    .option('--no-worker', 'do not deliver mail in this process (run `dialin worker` elsewhere)')
    .option('--port <n>', 'port (default PORT or 8080)')
    .option('--host <address>', 'address to listen on (default HOST or 127.0.0.1)')
    .action(async (o: { worker: boolean; port?: string; host?: string }) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new AppError('INVALID_ARGUMENT', '--port must be a port number.', { field: 'port' });
      // Loaded here, not at the top: every other command would otherwise pay for fastify at start-up.
      const { serve } = await import('../../main/serve.ts');
      const server = await serve(holder.config, { worker: o.worker, port, host: o.host });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await server.close();
    });

  const token = program.command('token').description('API tokens (bearer) for scripts and bridges');
  token
    .command('create')
    .description('Create an API token; it is printed once and only its digest is stored')
    .requiredOption('--role <role>', 'admin, helpdesk, bridge or scim (an identity provider: /scim/v2 only)')
    .option('--name <name>', 'what it is for, e.g. "IVR node 1"')
    .option('--tenant <name>', 'tenant name or id (default: the default tenant)')
    .action(async (o: { role: string; name?: string; tenant?: string }) => {
      const s = await scope(o.tenant);
      const res = await createApiToken(s, { role: toTokenRole(o.role), name: o.name ?? null });
      print([{ Token: res.token, ...res.view }], true);
      term.err('Store the token now: it cannot be shown again (revoke it with `dialin token revoke ID`).');
    });
  token
    .command('list')
    .description("List the tenant's API tokens (never the secrets)")
    .option('--tenant <name>', 'tenant name or id')
    .action(async (o: { tenant?: string }) => print((await listApiTokens(await scope(o.tenant))).map((t) => ({ ...t }))));
  token
    .command('revoke')
    .description('Revoke an API token')
    .argument('<id>', 'the token id (Identity)')
    .option('--tenant <name>', 'tenant name or id')
    .action(async (id: string, o: { tenant?: string }) => print([{ ...(await revokeApiToken(await scope(o.tenant), id)) }], true));

  const admin = program.command('admin').description('Administrator accounts of the admin center');
  admin
    .command('add')
    .description('Create an administrator account; without --password-file a password is generated and printed once')
    .argument('<email>', 'e-mail address used to sign in')
    .option('--role <role>', 'admin or helpdesk', 'admin')
    .option('--password-file <file>', 'read the password from this file (first line)')
    .option('--tenant <name>', 'tenant name or id')
    .action(async (email: string, o: { role: string; passwordFile?: string; tenant?: string }) => {
      let password: string | null = null;
      if (o.passwordFile) {
        try {
          password = fs.readFileSync(o.passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
        } catch {
          throw new AppError('FILE_NOT_FOUND', `Cannot read the password file ${o.passwordFile}.`, { field: 'password-file' });
        }
      }
      const res = await addAdmin(await scope(o.tenant), { email, role: toAdminRole(o.role), password });
      print([{ ...res.admin, ...(res.generatedPassword ? { Password: res.generatedPassword } : {}) }], true);
      if (res.generatedPassword) term.err('Store the password now: it cannot be shown again.');
    });
  admin
    .command('list')
    .description("List the tenant's administrator accounts")
    .option('--tenant <name>', 'tenant name or id')
    .action(async (o: { tenant?: string }) => print((await listAdmins(await scope(o.tenant))).map((a) => ({ ...a }))));
  admin
    .command('remove')
    .description('Delete an administrator account and end its sessions')
    .argument('<email>')
    .option('--tenant <name>', 'tenant name or id')
    .action(async (email: string, o: { tenant?: string }) => print([{ ...(await removeAdmin(await scope(o.tenant), email)) }], true));
}
