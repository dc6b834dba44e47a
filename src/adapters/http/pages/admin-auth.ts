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
import { completeSsoSignIn, signInChoices, ssoRedirectUri, ssoSignOutUrl, SSO_SESSION_MS, startSsoSignIn } from '../../../app/sso.ts';

/** Sign-in attempts per client address per minute, on top of the per-account pause. */
const ATTEMPTS_PER_MINUTE = 20;

/** The sign-in page: a "Sign in with <organisation>" button per tenant provider, then the password form. */
function loginPage(c: PageCtx, next: string, email: string, error: AppError | null, sso: { id: string; displayName: string }[] = [], notice: string | null = null): string {
  return page(
    c,
    c.t('auth.title'),
    html`${errorBox(c, error)}${notice ? html`<div class="notice ok" role="status">${notice}</div>` : html``}
${sso.map((p) => html`<p class="card narrow"><a class="button primary" href="/admin/sso/${p.id}/start?next=${encodeURIComponent(next)}">${c.t('auth.signInWith', { name: p.displayName })}</a></p>`)}
${sso.length ? html`<h2 class="narrow">${c.t('auth.orPassword')}</h2>` : html``}
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

  app.get<{ Querystring: { next?: string; 'signed-out'?: string } }>('/admin/login', { schema: { hide: true } }, async (req, reply) => {
    if (await sessionPrincipal(deps.ctx, req, deps.secure)) return reply.redirect(safeRedirect(req.query.next, '/admin'));
    const c = pageCtx(req);
    return sendPage(reply, loginPage(c, safeRedirect(req.query.next, '/admin'), '', null, await signInChoices(deps.ctx), req.query['signed-out'] === undefined ? null : c.t('auth.signedOut')));
  });

  // Single sign-on: to the IdP with a fresh state (its cookie binds the answer to this browser), and back.
  const stateCookie = `${deps.secure ? '__Host-' : ''}dialin-sso-state`;
  const redirectUri = ssoRedirectUri(deps.publicOrigin);
  app.get<{ Params: { id: string }; Querystring: { next?: string } }>('/admin/sso/:id/start', { schema: { hide: true } }, async (req, reply) => {
    const c = pageCtx(req);
    try {
      if (!perClient.take(req.ip)) throw new AppError('RATE_LIMITED', c.t('auth.tooMany'));
      const start = await startSsoSignIn(deps.ctx, req.params.id, safeRedirect(req.query.next, '/admin'), redirectUri);
      reply.setCookie(stateCookie, start.state, cookieOptions(deps.secure, 10 * 60_000));
      return reply.redirect(start.url, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      req.log.info({ event: 'authn_sso_fail', code: e.code }, 'SSO sign-in could not start');
      return sendPage(reply, loginPage(c, '/admin', '', e, await signInChoices(deps.ctx)), e.code === 'RATE_LIMITED' ? 429 : e.code === 'SSO_NOT_FOUND' ? 404 : 503);
    }
  });

  app.get('/admin/sso/callback', { schema: { hide: true } }, async (req, reply) => {
    const c = pageCtx(req);
    const state = req.cookies[stateCookie];
    reply.clearCookie(stateCookie, { path: '/' });
    try {
      const done = await completeSsoSignIn(deps.ctx, state, new URL(req.url, deps.publicOrigin));
      await endSession(deps.ctx, req.cookies[name]);
      const session = await createSession(deps.ctx, 'admin', done.tenant.id, done.identity.id, SSO_SESSION_MS);
      reply.setCookie(name, session.token, cookieOptions(deps.secure, SSO_SESSION_MS));
      return reply.redirect(done.next, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      req.log.info({ event: 'authn_sso_fail', code: e.code }, 'SSO sign-in refused');
      return sendPage(reply, loginPage(c, '/admin', '', e, await signInChoices(deps.ctx)), e.code === 'SSO_NO_ROLE' ? 403 : e.code === 'SSO_UNAVAILABLE' ? 503 : 401);
    }
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
      return sendPage(reply, loginPage(c, next, email, e, await signInChoices(deps.ctx)), e.code === 'RATE_LIMITED' ? 429 : e.code === 'CSRF_INVALID' || e.code === 'LOCAL_PASSWORDS_OFF' ? 403 : 401);
    }
  });

  app.post('/admin/logout', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    await endSession(deps.ctx, req.cookies[name]);
    reply.clearCookie(name, { path: '/' });
    // Signed in through the IdP: end its session too when it offers end_session (RP-initiated logout).
    const back = `${deps.publicOrigin}/admin/login?signed-out`;
    const idp = req.principal!.sso ? await ssoSignOutUrl(deps.ctx, req.principal!.id, back) : null;
    if (!idp) return reply.redirect('/admin/login?signed-out', 303);
    // Not a redirect: the form's CSP (form-action 'self') would stop one to another site; a refresh is a plain navigation.
    const c = pageCtx(req);
    return sendPage(reply, page(c, c.t('auth.signedOut'), html`<p><a href="${idp}">${c.t('auth.signOutIdp')}</a></p>`, { area: 'plain', refreshTo: idp }));
  });

  app.get('/admin', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => reply.redirect(req.principal!.role === 'admin' ? '/admin/dashboard' : '/admin/users'));
}
