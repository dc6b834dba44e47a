import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { configureScim, configView, readScimConfig } from '../../app/scim-licence.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };

/** `dialin scim …`: how SCIM provisioning (Entra ID, Okta) decides who has dial-in. */
export function registerScimCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async () => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, g().tenant ?? null));
  };
  const scim = program.command('scim').description('SCIM 2.0 provisioning from Entra ID or Okta (/scim/v2, a token from `dialin token create --role scim`)');
  scim
    .command('configure')
    .description('Which SCIM users have dial-in: the members of a SCIM group (--licence-group NAME) or every active user (--licence all-active); applied at once, and at every SCIM change (welcome when one joins, turned-off mail when one leaves)')
    .option('--licence-group <name>', 'the display name of the SCIM group whose active members are enabled for dial-in')
    .option('--licence <rule>', 'all-active (every active SCIM user) or none (SCIM does not touch dial-in)')
    .option('--max-disable <n>', 'the most dial-in disables SCIM may cause within an hour (default: min(500, 10 % of licensed SCIM users), at least 10)')
    .action(async (o: { licenceGroup?: string; licence?: string; maxDisable?: string }) => {
      if (o.licenceGroup === undefined && o.licence === undefined && o.maxDisable === undefined) throw new AppError('MISSING_ARGUMENT', 'Give --licence-group NAME, --licence all-active|none or --max-disable N.', { field: 'licence-group' });
      let maxDisable: number | null | undefined;
      if (o.maxDisable !== undefined) {
        if (!/^[0-9]{1,9}$/.test(o.maxDisable.trim())) throw new AppError('INVALID_ARGUMENT', '--max-disable must be a whole number, 0 or more.', { field: 'max-disable' });
        maxDisable = Number(o.maxDisable.trim());
      }
      const r = await configureScim(await scope(), { licenceGroup: o.licenceGroup ?? null, licence: o.licence ?? null, maxDisable });
      term.out(render([r as unknown as Record<string, unknown>], [], !!g().json, true));
    });
  scim
    .command('show')
    .description('The tenant\'s SCIM licence rule')
    .action(async () => {
      const s = await scope();
      term.out(render([configView(await readScimConfig(s.db.kysely, s.tenant.id)) as unknown as Record<string, unknown>], [], !!g().json, true));
    });
}
