import { AppError } from '../core/errors.ts';
import type { TenantsTable, UsersTable } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import { tokenDigest } from '../adapters/crypto/secrets.ts';
import { audit } from './audit.ts';
import { mailData, bridgeNameOf } from './dialin-user-view.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { readSettings } from './tenant-settings.ts';
import { scopeOf } from './tenants.ts';
import type { AppContext } from './context.ts';

/** A sign-in link works once, for this long. */
export const LOGIN_LINK_LIFETIME_MS = 15 * 60_000;

const PURPOSE = 'login-link';

/** The link a sign_in_link mail carries: the settings page's sign-in step with the link's one-time token. */
export function loginLinkUrl(settingsUrl: string, keys: Keys, linkId: string): string {
  return `${settingsUrl}/sign-in?token=${keys.derivedToken(PURPOSE, linkId)}`;
}

/**
 * Mails a one-time sign-in link for the Dial-in Conferencing Settings page to every user enabled
 * for dial-in with this e-mail address (a hosting deployment may have them in several tenants).
 * The token is derived from the link id with a key outside the database and rendered only into
 * the mail; the outbox keeps the id and the link table the token's digest. Says nothing about
 * whether the address is known: the caller answers the same either way.
 */
export async function requestLoginLinks(ctx: AppContext, emailInput: string): Promise<number> {
  const email = String(emailInput ?? '').trim().toLowerCase();
  if (email === '' || email.length > 320) return 0;
  const users = await ctx.db.kysely
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email))
    .where('provider', '=', 'Microsoft')
    .where('dialin_enabled', '=', 1)
    .limit(10)
    .execute();
  for (const user of users) {
    await ctx.db.kysely.transaction().execute(async (trx) => {
      const tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', user.tenant_id).executeTakeFirstOrThrow();
      const s = scopeOf({ ...ctx, actor: `web:${user.sip}` }, tenant);
      const linkId = ctx.newId();
      const now = ctx.now();
      await trx
        .insertInto('login_links')
        .values({ id_hash: tokenDigest(ctx.keys.derivedToken(PURPOSE, linkId)), tenant_id: tenant.id, user_id: user.id, created_at: now, expires_at: now + LOGIN_LINK_LIFETIME_MS, used_at: null })
        .execute();
      const settings = await readSettings(trx, tenant.id);
      const row = mailRow(s, settings, { kind: 'sign_in_link', user, data: mailData(user, await bridgeNameOf(trx, user.bridge_id)), options: { loginLinkId: linkId } });
      if (row) await insertMailRows(trx, [row]);
      await audit(trx, s, 'user.sign-in-link', { userId: user.id, label: user.sip });
    });
  }
  if (users.length) ctx.onMailQueued?.();
  return users.length;
}

/**
 * Redeems a sign-in link: atomically marks it used (a second use, or one after 15 minutes,
 * fails) and returns its user, who must still be enabled for dial-in.
 */
export async function redeemLoginLink(ctx: AppContext, token: string): Promise<{ tenant: TenantsTable; user: UsersTable }> {
  const invalid = new AppError('LOGIN_LINK_INVALID', 'This sign-in link is unknown, older than 15 minutes or already used; ask for a new one.');
  if (typeof token !== 'string' || token.length < 20 || token.length > 100) throw invalid;
  const now = ctx.now();
  const link = await ctx.db.kysely
    .updateTable('login_links')
    .set({ used_at: now })
    .where('id_hash', '=', tokenDigest(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['tenant_id', 'user_id'])
    .executeTakeFirst();
  if (!link) throw invalid;
  const user = await ctx.db.kysely.selectFrom('users').selectAll().where('id', '=', link.user_id).where('tenant_id', '=', link.tenant_id).executeTakeFirst();
  if (!user || user.provider !== 'Microsoft' || user.dialin_enabled !== 1) throw invalid;
  const tenant = await ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', link.tenant_id).executeTakeFirstOrThrow();
  await audit(ctx.db.kysely, scopeOf({ ...ctx, actor: `web:${user.sip}` }, tenant), 'user.sign-in', { userId: user.id, label: user.sip });
  return { tenant, user };
}
