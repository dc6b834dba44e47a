import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email-address.ts';
import { checkAdminPassword } from '../core/admin-password.ts';
import type { AdminsTable, TenantsTable } from '../adapters/db/schema.ts';
import { decoyPasswordHash, generatePassword, hashPassword, passwordMatches } from '../adapters/crypto/secrets.ts';
import { commonPasswords } from '../adapters/crypto/common-passwords.ts';
import { audit } from './audit.ts';
import { endSessionsOf } from './sessions.ts';
import { scopeOf } from './tenants.ts';
import { passwordSignInAllowed } from './sso.ts';
import type { AppContext, TenantScope } from './context.ts';

export const ADMIN_ROLES = ['admin', 'helpdesk'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Failed sign-ins before the account pauses; each further failure doubles the pause, up to an hour. */
export const LOGIN_FAILURES_BEFORE_PAUSE = 5;
const PAUSE_BASE_MS = 60_000;
const PAUSE_MAX_MS = 60 * 60_000;

export interface AdminView {
  Identity: string;
  Email: string;
  Role: string;
  LastLoginAt: string | null;
  CreatedAt: string;
}

export function adminView(a: AdminsTable): AdminView {
  return {
    Identity: a.id,
    Email: a.email,
    Role: a.role,
    LastLoginAt: a.last_login_at ? new Date(a.last_login_at).toISOString() : null,
    CreatedAt: new Date(a.created_at).toISOString(),
  };
}

export function toAdminRole(v: string | null | undefined): AdminRole {
  const r = ADMIN_ROLES.find((x) => x === String(v ?? '').toLowerCase());
  if (!r) throw new AppError('INVALID_ARGUMENT', `Role must be ${ADMIN_ROLES.join(' or ')}.`, { field: 'Role' });
  return r;
}

/** The admin's chosen password, checked by the core rule against the shipped list. */
async function checkPassword(pw: string): Promise<string> {
  const common = await commonPasswords();
  return checkAdminPassword(pw, (p) => common.has(p));
}

/**
 * Creates an administrator account of the tenant. Without a password one is generated and
 * returned (to be shown once); either way only its Argon2id hash is stored.
 */
export async function addAdmin(s: TenantScope, input: { email: string; role: AdminRole; password: string | null }): Promise<{ admin: AdminView; generatedPassword: string | null }> {
  const email = normalizeEmail(input.email, 'Email').toLowerCase();
  const generated = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(generated ?? (await checkPassword(input.password!)));
  const row: AdminsTable = { id: s.newId(), tenant_id: s.tenant.id, email, role: input.role, password_hash: passwordHash, failed_logins: 0, locked_until: null, last_login_at: null, created_at: s.now() };
  await s.db.kysely.transaction().execute(async (trx) => {
    const exists = await trx.selectFrom('admins').select('id').where('email', '=', email).executeTakeFirst();
    if (exists) throw new AppError('ADMIN_EXISTS', `An administrator account ${email} already exists.`, { field: 'Email' });
    await trx.insertInto('admins').values(row).execute();
    await audit(trx, s, 'admin.add', { label: email }, { role: input.role });
  });
  return { admin: adminView(row), generatedPassword: generated };
}

export async function listAdmins(s: TenantScope): Promise<AdminView[]> {
  const rows = await s.db.kysely.selectFrom('admins').selectAll().where('tenant_id', '=', s.tenant.id).orderBy('email').execute();
  return rows.map(adminView);
}

/** Deletes an account and ends its sessions at once. */
export async function removeAdmin(s: TenantScope, emailInput: string): Promise<AdminView> {
  const email = normalizeEmail(emailInput, 'Email').toLowerCase();
  return s.db.kysely.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('admins').selectAll().where('tenant_id', '=', s.tenant.id).where('email', '=', email).executeTakeFirst();
    if (!row) throw new AppError('ADMIN_NOT_FOUND', `No administrator account ${email} in this tenant.`, { field: 'Email' });
    await endSessionsOf(trx, 'admin', row.id);
    await trx.deleteFrom('admins').where('id', '=', row.id).execute();
    await audit(trx, s, 'admin.remove', { label: email });
    return adminView(row);
  });
}

/** The account behind a session, with its tenant; null once it was removed. */
export async function findAdmin(ctx: AppContext, id: string): Promise<{ admin: AdminsTable; tenant: TenantsTable } | null> {
  const row = await ctx.db.kysely.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', row.tenant_id).executeTakeFirstOrThrow();
  return { admin: row, tenant };
}

const loginFailed = () =>
  new AppError('LOGIN_FAILED', `The e-mail address or password is wrong. After ${LOGIN_FAILURES_BEFORE_PAUSE} failed attempts sign-in pauses for a few minutes.`);

/**
 * Checks an administrator's e-mail and password. Every refusal (unknown address, wrong password,
 * paused account) gives the same error after the same Argon2id work, so nothing tells whether an
 * account exists. Failures are counted per account; past the threshold sign-in pauses, doubling.
 */
export async function signInAdmin(ctx: AppContext, emailInput: string, password: string): Promise<{ admin: AdminsTable; tenant: TenantsTable }> {
  const email = String(emailInput ?? '').trim().toLowerCase();
  const found = email ? await ctx.db.kysely.selectFrom('admins').selectAll().where('email', '=', email).executeTakeFirst() : undefined;
  const now = ctx.now();
  if (!found || (found.locked_until !== null && now < found.locked_until)) {
    await passwordMatches(await decoyPasswordHash(), String(password ?? ''));
    if (found) await auditFor(ctx, found, 'admin.login-refused', { reason: 'paused' });
    throw loginFailed();
  }
  if (!(await passwordMatches(found.password_hash, String(password ?? '')))) {
    const updated = await ctx.db.kysely
      .updateTable('admins')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
      .where('id', '=', found.id)
      .returning('failed_logins')
      .executeTakeFirstOrThrow();
    const failures = updated.failed_logins;
    let pausedUntil: number | null = null;
    if (failures >= LOGIN_FAILURES_BEFORE_PAUSE) {
      pausedUntil = now + Math.min(PAUSE_BASE_MS * 2 ** (failures - LOGIN_FAILURES_BEFORE_PAUSE), PAUSE_MAX_MS);
      await ctx.db.kysely.updateTable('admins').set({ locked_until: pausedUntil }).where('id', '=', found.id).execute();
    }
    await auditFor(ctx, found, 'admin.login-failed', { failures, ...(pausedUntil ? { pausedUntil: new Date(pausedUntil).toISOString() } : {}) });
    throw loginFailed();
  }
  if (!(await passwordSignInAllowed(ctx, found.tenant_id, found.id))) {
    // Told only after the right password, so it says nothing about which accounts exist.
    await auditFor(ctx, found, 'admin.login-refused', { reason: 'local-passwords-off' });
    throw new AppError('LOCAL_PASSWORDS_OFF', 'Password sign-in is turned off for this organisation (single sign-on only); use the "Sign in with …" button.');
  }
  await ctx.db.kysely.updateTable('admins').set({ failed_logins: 0, locked_until: null, last_login_at: now }).where('id', '=', found.id).execute();
  await auditFor(ctx, found, 'admin.login');
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', found.tenant_id).executeTakeFirstOrThrow();
  return { admin: found, tenant };
}

async function auditFor(ctx: AppContext, a: AdminsTable, action: string, details: Record<string, unknown> = {}): Promise<void> {
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', a.tenant_id).executeTakeFirstOrThrow();
  await audit(ctx.db.kysely, scopeOf({ ...ctx, actor: `web:${a.email}` }, tenant), action, { label: a.email }, details);
}
