import type { WebSessionsTable } from '../adapters/db/schema.ts';
import { newToken, tokenDigest } from '../adapters/crypto/secrets.ts';
import type { AppContext, Trx } from './context.ts';

export type SessionKind = 'admin' | 'user';

/**
 * Session lifetimes (ASVS 7.3): an administrator's session ends after 30 idle minutes or 12
 * hours; an end user's (who signed in by a mailed link to change a PIN) after 15 idle minutes or one hour.
 */
export const SESSION_LIMITS: Readonly<Record<SessionKind, { idleMs: number; absoluteMs: number }>> = Object.freeze({
  admin: { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 },
  user: { idleMs: 15 * 60_000, absoluteMs: 3600_000 },
});

/** Activity is written back at most this often, so browsing does not write on every request. */
const TOUCH_EVERY_MS = 60_000;

export interface OpenSession {
  /** The cookie value: shown to the browser only; the database keeps its digest. */
  token: string;
  csrfToken: string;
}

/** Starts a session with a fresh random id (a new id at every sign-in: no fixation). */
export async function createSession(ctx: AppContext, kind: SessionKind, tenantId: string, subjectId: string, absoluteMs = SESSION_LIMITS[kind].absoluteMs): Promise<OpenSession> {
  const token = newToken();
  const csrfToken = newToken();
  const now = ctx.now();
  await ctx.db.kysely
    .insertInto('web_sessions')
    .values({ id_hash: tokenDigest(token), kind, tenant_id: tenantId, subject_id: subjectId, csrf_token: csrfToken, created_at: now, last_seen_at: now, expires_at: now + absoluteMs })
    .execute();
  // Housekeeping: sessions past their absolute end are of no use to anyone.
  await ctx.db.kysely.deleteFrom('web_sessions').where('expires_at', '<', now).execute();
  return { token, csrfToken };
}

/** The live session of that kind for a cookie value, or null (unknown, idle too long, or past its end). */
export async function findSession(ctx: AppContext, kind: SessionKind, token: string | undefined): Promise<WebSessionsTable | null> {
  if (!token) return null;
  const id = tokenDigest(token);
  const row = await ctx.db.kysely.selectFrom('web_sessions').selectAll().where('id_hash', '=', id).where('kind', '=', kind).executeTakeFirst();
  if (!row) return null;
  const now = ctx.now();
  if (now >= row.expires_at || now - row.last_seen_at >= SESSION_LIMITS[kind].idleMs) {
    await ctx.db.kysely.deleteFrom('web_sessions').where('id_hash', '=', id).execute();
    return null;
  }
  if (now - row.last_seen_at >= TOUCH_EVERY_MS) {
    await ctx.db.kysely.updateTable('web_sessions').set({ last_seen_at: now }).where('id_hash', '=', id).execute();
  }
  return row;
}

/** Signs out: the session is deleted server-side, so a copied cookie is worthless afterwards. */
export async function endSession(ctx: AppContext, token: string | undefined): Promise<void> {
  if (token) await ctx.db.kysely.deleteFrom('web_sessions').where('id_hash', '=', tokenDigest(token)).execute();
}

/** Ends every session of an account or user (account removed, user's dial-in turned off). */
export async function endSessionsOf(trx: Trx, kind: SessionKind, subjectId: string): Promise<void> {
  await trx.deleteFrom('web_sessions').where('kind', '=', kind).where('subject_id', '=', subjectId).execute();
}
