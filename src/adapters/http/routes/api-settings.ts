import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import type { TenantSettings as Settings } from '../../../core/tenant-settings.ts';
import { getTenantSettings, removeTenantSettings, setTenantSettings } from '../../../app/tenant-settings.ts';
import { ERROR_RESPONSES, TenantSettings, TenantSettingsPatch } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Tenant settings'];

/** Who is calling, and Get-/Set-/Remove-CsOnlineDialInConferencingTenantSettings. */
export function settingsApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/tenant', {
    config: { access: 'staff' },
    schema: {
      tags,
      summary: 'The tenant and role of the caller',
      response: { 200: Type.Object({ Identity: Type.String(), Name: Type.String(), Domain: Type.Union([Type.String(), Type.Null()]), Role: Type.String(), Actor: Type.String() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const p = req.principal!;
    return { Identity: p.tenant.id, Name: p.tenant.name, Domain: p.tenant.domain, Role: p.role, Actor: p.actor };
  });

  r.get('/tenant-settings', {
    config: { access: 'admin' },
    schema: { tags, summary: "The tenant's dial-in conferencing settings", response: { 200: TenantSettings, ...ERROR_RESPONSES } },
  }, async (req) => getTenantSettings(scopeOfRequest(deps, req)));

  r.patch('/tenant-settings', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Change settings; the result is validated as a whole (an override needs both address and display name)', body: TenantSettingsPatch, response: { 200: TenantSettings, ...ERROR_RESPONSES } },
  }, async (req) => {
    const { SendEmailOverride, ...rest } = req.body;
    if (SendEmailOverride !== undefined && rest.SendEmailFromOverride !== undefined && SendEmailOverride !== rest.SendEmailFromOverride) {
      throw new AppError('CONFLICTING_PARAMETERS', 'SendEmailOverride and SendEmailFromOverride are the same setting and were given different values.', { field: 'SendEmailOverride' });
    }
    const patch: Partial<Settings> = { ...(rest as Partial<Settings>), ...(SendEmailOverride !== undefined ? { SendEmailFromOverride: SendEmailOverride } : {}) };
    if (Object.keys(patch).length === 0) throw new AppError('MISSING_ARGUMENT', 'Give at least one setting to change.');
    return setTenantSettings(scopeOfRequest(deps, req), patch);
  });

  r.delete('/tenant-settings', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Restore every setting to its default (Remove-CsOnlineDialInConferencingTenantSettings)', response: { 200: TenantSettings, ...ERROR_RESPONSES } },
  }, async (req) => removeTenantSettings(scopeOfRequest(deps, req)));
}
