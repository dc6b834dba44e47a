import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { addSsoProvider, listSsoProviders, removeSsoProvider, setLocalPasswords, showSsoProvider } from '../../app/sso.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

/** The client secret from its file: the first line, so a trailing newline is not part of it. */
function readSecret(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new AppError('FILE_NOT_FOUND', `Cannot read the client secret file ${file}.`, { field: 'client-secret-file' });
  }
  const secret = text.split(/\r?\n/)[0] ?? '';
  if (!secret) throw new AppError('SSO_CONFIG_INVALID', `The client secret file ${file} is empty.`, { field: 'client-secret-file' });
  return secret;
}

/** `dialin sso …`: the tenant's OpenID Provider for the admin center, and whether passwords still work. */
export function registerSsoCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async (tenantOpt?: string) => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, tenantOpt ?? g().tenant ?? null));
  };
  const publicUrl = () => holder.config.publicUrl;
  const print = (objs: Record<string, unknown>[], single = false) => term.out(render(objs, [], !!g().json, single));

  const sso = program.command('sso').description("Single sign-on to the admin center with the organisation's OpenID Provider (OIDC: authorization code, PKCE, state, nonce)");
  sso
    .command('add')
    .description("Add the tenant's OpenID Provider (its discovery document is fetched now; the client secret is sealed under the key ring, never shown). Register the RedirectUri it prints at the IdP.")
    .requiredOption('--issuer <url>', 'the issuer, e.g. https://login.contoso.com/realms/staff (https; http only on loopback)')
    .requiredOption('--client-id <id>', 'the client id registered at the IdP')
    .requiredOption('--client-secret-file <file>', 'a file whose first line is the client secret')
    .option('--groups-claim <claim>', 'the ID-token or UserInfo claim listing the groups (default groups)')
    .option('--admin-group <group>', 'members of this group sign in as administrators')
    .option('--helpdesk-group <group>', 'members of this group sign in as helpdesk')
    .option('--display-name <name>', 'the organisation on the "Sign in with …" button (default: the tenant name)')
    .option('--tenant <name>', 'tenant name or id (default: the default tenant)')
    .action(async (o: { issuer: string; clientId: string; clientSecretFile: string; groupsClaim?: string; adminGroup?: string; helpdeskGroup?: string; displayName?: string; tenant?: string }) => {
      const view = await addSsoProvider(
        await scope(o.tenant),
        { issuer: o.issuer, clientId: o.clientId, clientSecret: readSecret(o.clientSecretFile), groupsClaim: o.groupsClaim ?? null, adminGroup: o.adminGroup ?? null, helpdeskGroup: o.helpdeskGroup ?? null, displayName: o.displayName ?? null },
        publicUrl(),
      );
      print([{ ...view }], true);
      if (!g().json) term.err(`Added. Register ${view.RedirectUri} as a redirect URI of the client at the IdP (and ${new URL(publicUrl()).origin}/admin/login?signed-out as a post-logout redirect URI).`);
    });
  sso
    .command('list')
    .description("The tenant's single sign-on provider (never the secret)")
    .option('--tenant <name>', 'tenant name or id')
    .action(async (o: { tenant?: string }) => {
      const rows = await listSsoProviders(await scope(o.tenant), publicUrl());
      if (rows.length || g().json) print(rows.map((r) => ({ ...r })));
      else term.err('No single sign-on provider: `dialin sso add --issuer … --client-id … --client-secret-file …` adds one.');
    });
  sso
    .command('show')
    .description("The tenant's provider with its group mapping, redirect URI and password sign-in state (never the secret)")
    .option('--tenant <name>', 'tenant name or id')
    .action(async (o: { tenant?: string }) => print([{ ...(await showSsoProvider(await scope(o.tenant), publicUrl())) }], true));
  sso
    .command('remove')
    .description('Remove the provider: the sessions opened through it end now and password sign-in is on again')
    .option('--tenant <name>', 'tenant name or id')
    .action(async (o: { tenant?: string }) => {
      const r = await removeSsoProvider(await scope(o.tenant));
      term.err(`Removed ${r.issuer}; ${r.endedSessions} session(s) ended. Password sign-in is on again.`);
    });
  sso
    .command('local-passwords')
    .description('Turn password sign-in to the admin center off (single sign-on only, except the one break-glass account) or on again')
    .argument('<state>', 'off or on')
    .option('--break-glass <email>', 'with off: the admin account that keeps its password, for when the IdP is down')
    .option('--tenant <name>', 'tenant name or id')
    .action(async (state: string, o: { breakGlass?: string; tenant?: string }) => {
      const v = state.toLowerCase();
      if (v !== 'on' && v !== 'off') throw new AppError('INVALID_ARGUMENT', 'Say off or on.', { field: 'state' });
      if (v === 'on' && o.breakGlass) throw new AppError('CONFLICTING_PARAMETERS', '--break-glass goes with off only.', { field: 'break-glass' });
      const r = await setLocalPasswords(await scope(o.tenant), v === 'on', o.breakGlass ?? null);
      print([{ ...r }], true);
    });
}
