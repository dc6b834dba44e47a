import type { FastifyInstance } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { signInAdmin } from '../../../app/admins.ts';
import { createSession, endSession, SESSION_LIMITS } from '../../../app/sessions.ts';
import { cookieName, cookieOptions, sessionPrincipal } from '../auth.ts';
import { checkSameOrigin } from '../csrf.ts';
import { html } from '../html.ts';
import { WindowLimiter } from '../rate-limit.ts';
import { errorBox, input } from './kit.ts';
import { page, pageCtx, type PageCtx } from './layout.ts';
import { safeRedirect } from '../../../core/safe-redirect.ts';
import { sendPage, type PageDeps } from './routes.ts';

/** Sign-in attempts per client address per minute, on top of the per-account pause. */
const ATTEMPTS_PER_MINUTE = 20;

function loginPage(c: PageCtx, next: string, email: string, error: AppError | null): string {
  return page(
    c,
    c.t('auth.title'),
    html`${errorBox(c, error)}
<form method="post" action="/admin/login" class="card narrow">
<input type="hidden" name="next" value="${next}">
${input(c, 'email', c.t('auth.email'), { type: 'email', value: email, required: true, autocomplete: 'username' })}
${input(c, 'password', c.t('auth.password'), { type: 'password', required: true, autocomplete: 'current-password' })}
<button type="submit" class="primary">${c.t('auth.signIn')}</button>
</form>`,
    { area: 'plain' },
  );
}

/** Sign-in and sign-out of the admin center. */
export function adminAuthPages(app: FastifyInstance, deps: PageDeps): void {
  const perClient = new WindowLimiter(ATTEMPTS_PER_MINUTE, 60_000);
  const name = cookieName('admin', deps.secure);

  app.get<{ Querystring: { next?: string } }>('/admin/login', { schema: { hide: true } }, async (req, reply) => {
    if (await sessionPrincipal(deps.ctx, req, deps.secure)) return reply.redirect(safeRedirect(req.query.next, '/admin'));
    return sendPage(reply, loginPage(pageCtx(req), safeRedirect(req.query.next, '/admin'), '', null));
  });

  app.post<{ Body: { email?: string; password?: string; next?: string } }>('/admin/login', { schema: { hide: true } }, async (req, reply) => {
    const c = pageCtx(req);
    const next = safeRedirect(req.body?.next, '/admin');
    const email = String(req.body?.email ?? '').slice(0, 320);
    try {
      checkSameOrigin(req, deps.publicOrigin);
      if (!perClient.take(req.ip)) throw new AppError('RATE_LIMITED', c.t('auth.tooMany'));
      const { admin } = await signInAdmin(deps.ctx, email, String(req.body?.password ?? '').slice(0, 1024));
      // A fresh session id at every sign-in; the old one (if any) is ended.
      await endSession(deps.ctx, req.cookies[name]);
      const session = await createSession(deps.ctx, 'admin', admin.tenant_id, admin.id);
      reply.setCookie(name, session.token, cookieOptions(deps.secure, SESSION_LIMITS.admin.absoluteMs));
      return reply.redirect(next, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      req.log.info({ event: 'authn_login_fail', code: e.code }, 'admin sign-in refused');
      return sendPage(reply, loginPage(c, next, email, e), e.code === 'RATE_LIMITED' ? 429 : e.code === 'CSRF_INVALID' ? 403 : 401);
    }
  });

  app.post('/admin/logout', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    await endSession(deps.ctx, req.cookies[name]);
    reply.clearCookie(name, { path: '/' });
    return reply.redirect('/admin/login', 303);
  });

  app.get('/admin', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => reply.redirect(req.principal!.role === 'admin' ? '/admin/dashboard' : '/admin/users'));
}
