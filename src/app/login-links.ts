import { AppError } from '../core/errors.ts';
import type { TenantsTable, UsersTable } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import { tokenDigest } from '../adapters/crypto/secrets.ts';
import { audit } from './audit.ts';
import { mailData, bridgeNameOf, numberCities } from './dialin-user-view.ts';
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

/** Sign-in links looked up and their tokens made, to be written once the answer is out. */
export interface PendingLoginLinks {
  /** Writes each link, its mail and audit row (one transaction per user); resolves to how many. */
  write(): Promise<number>;
}

/**
 * Mails a one-time sign-in link for the Dial-in Conferencing Settings page to every user enabled
 * for dial-in with this e-mail address (a hosting deployment may have them in several tenants).
 * The token is derived from the link id with a key outside the database and rendered only into
 * the mail; the outbox keeps the id and the link table the token's digest. Says nothing about
 * whether the address is known: the caller answers the same either way, and the work before the
 * answer is the same too (issue 10) — one lookup, and a link id and token for each user found or
 * for a decoy when none is. The writes, which only a known address has, are left to `write()`,
 * which the caller runs after it has answered.
 */
export async function requestLoginLinks(ctx: AppContext, emailInput: string): Promise<PendingLoginLinks> {
  const email = String(emailInput ?? '').trim().toLowerCase();
  if (email === '' || email.length > 320) return { write: async () => 0 };
  const users = await ctx.db.kysely
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email))
    .where('provider', '=', 'Microsoft')
    .where('dialin_enabled', '=', 1)
    .limit(10)
    .execute();
  const links = (users.length ? users : [null]).map((user) => {
    const id = ctx.newId();
    return { user, id, idHash: tokenDigest(ctx.keys.derivedToken(PURPOSE, id)) };
  });
  return {
    async write() {
      let n = 0;
      for (const { user, id, idHash } of links) {
        if (!user) continue;
        await writeLink(ctx, user, id, idHash);
        n++;
      }
      if (n) ctx.onMailQueued?.();
      return n;
    },
  };
}

async function writeLink(ctx: AppContext, user: UsersTable, linkId: string, idHash: string): Promise<void> {
  await ctx.db.kysely.transaction().execute(async (trx) => {
    const tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', user.tenant_id).executeTakeFirstOrThrow();
    const s = scopeOf({ ...ctx, actor: `web:${user.sip}` }, tenant);
    const now = ctx.now();
    await trx.insertInto('login_links').values({ id_hash: idHash, tenant_id: tenant.id, user_id: user.id, created_at: now, expires_at: now + LOGIN_LINK_LIFETIME_MS, used_at: null }).execute();
    const settings = await readSettings(trx, tenant.id);
    const row = mailRow(s, settings, { kind: 'sign_in_link', user, data: mailData(user, await bridgeNameOf(trx, user.bridge_id), await numberCities(trx, tenant.id)), options: { loginLinkId: linkId } });
    if (row) await insertMailRows(trx, [row]);
    await audit(trx, s, 'user.sign-in-link', { userId: user.id, label: user.sip });
  });
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
