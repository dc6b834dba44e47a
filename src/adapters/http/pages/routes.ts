import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../core/errors.ts';
import { safeRedirect } from '../../../core/safe-redirect.ts';
import { allows, sessionPrincipal } from '../auth.ts';
import { checkCsrf, isUnsafe } from '../csrf.ts';
import type { ApiDeps } from '../routes/api-deps.ts';
import { pageCtx, type PageCtx } from './layout.ts';
import { LANGUAGE_COOKIE, isLang } from './i18n.ts';
import { adminAuthPages } from './admin-auth.ts';
import { adminSettingsPages } from './admin-settings.ts';
import { adminUsersPages } from './admin-users.ts';
import { adminUserPages } from './admin-user.ts';
import { adminBridgesPages } from './admin-bridges.ts';
import { adminDirectoriesPages } from './admin-directories.ts';
import { adminMailPages } from './admin-mail.ts';
import { adminAuditPages } from './admin-audit.ts';
import { adminDashboardPages } from './admin-dashboard.ts';
import { adminTemplatesPages } from './admin-templates.ts';
import { dialinPages } from './dialin.ts';
import { localNumbersPages } from './local-numbers.ts';

export interface PageDeps extends ApiDeps {
  secure: boolean;
  publicOrigin: string;
}

/** The page context of an admin-center request that passed the guard. */
export function adminCtx(req: FastifyRequest): PageCtx {
  const p = req.principal!;
  return pageCtx(req, { csrf: p.session?.csrf_token ?? null, admin: { email: p.email ?? '', role: p.role } });
}

export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/**
 * The admin center (/admin/…) and the end user's settings page (/dialin). Admin pages declare
 * `config.access`; the guard signs in (or redirects to the sign-in page), checks the role and,
 * for a form post, the anti-forgery token.
 */
export async function pageRoutes(app: FastifyInstance, deps: PageDeps): Promise<void> {
  app.addHook('preHandler', async (req, reply) => {
    const access = req.routeOptions.config.access;
    if (!access) return;
    const p = await sessionPrincipal(deps.ctx, req, deps.secure);
    if (!p) {
      if (req.method === 'GET') return reply.redirect(`/admin/login?next=${encodeURIComponent(req.url)}`);
      throw new AppError('UNAUTHENTICATED', 'Your session has ended; sign in again.');
    }
    if (!allows(access, p.role)) throw new AppError('FORBIDDEN', 'Your role may not open this page.');
    if (isUnsafe(req.method)) checkCsrf(req, deps.publicOrigin, p.session!.csrf_token);
    req.principal = p;
  });

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/admin'));
  app.get<{ Params: { lang: string }; Querystring: { back?: string } }>('/lang/:lang', { schema: { hide: true } }, async (req, reply) => {
    if (!isLang(req.params.lang)) throw new AppError('LANGUAGE_INVALID', 'Choose en or fr.', { field: 'lang' });
    reply.setCookie(LANGUAGE_COOKIE, req.params.lang, { path: '/', sameSite: 'lax', secure: deps.secure, maxAge: 365 * 86400 });
    return reply.redirect(safeRedirect(req.query.back, '/admin'));
  });

  adminAuthPages(app, deps);
  adminSettingsPages(app, deps);
  adminUsersPages(app, deps);
  adminUserPages(app, deps);
  adminBridgesPages(app, deps);
  adminDirectoriesPages(app, deps);
  adminMailPages(app, deps);
  adminAuditPages(app, deps);
  adminDashboardPages(app, deps);
  adminTemplatesPages(app, deps);
  dialinPages(app, deps);
  localNumbersPages(app, deps);
}
