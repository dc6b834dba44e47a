import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { requestLoginLinks, redeemLoginLink, type PendingLoginLinks } from '../../../app/login-links.ts';
import { createSession, endSession, findSession, SESSION_LIMITS } from '../../../app/sessions.ts';
import { ownDialIn, ownInvitation, setOwnPin, type OwnDialIn } from '../../../app/self-service.ts';
import type { RenderedMail } from '../../../core/templates/engine.ts';
import { scopeOf } from '../../../app/tenants.ts';
import type { TenantScope } from '../../../app/context.ts';
import type { WebSessionsTable } from '../../db/schema.ts';
import { cookieName, cookieOptions } from '../auth.ts';
import { checkCsrf, checkSameOrigin } from '../csrf.ts';
import { html, raw } from '../html.ts';
import { WindowLimiter } from '../rate-limit.ts';
import { csrfField, errorBox, facts, input } from './kit.ts';
import { page, pageCtx, type PageCtx } from './layout.ts';
import { oneTap } from '../../../core/phone-number.ts';
import { sendPage, type PageDeps } from './routes.ts';

function signInPage(c: PageCtx, o: { sent?: boolean; error?: AppError | null }): string {
  const body = o.sent
    ? html`<div class="notice ok" role="status"><p>${c.t('dialin.linkSent')}</p></div><p><a href="/dialin">${c.t('dialin.again')}</a></p>`
    : html`${errorBox(c, o.error ?? null)}<p>${c.t('dialin.intro')}</p>
<form method="post" action="/dialin/sign-in-link" class="card narrow">
${input(c, 'email', c.t('dialin.email'), { type: 'email', required: true, autocomplete: 'email', maxlength: 320 })}
<button type="submit" class="primary">${c.t('dialin.sendLink')}</button></form>`;
  return page(c, c.t('dialin.title'), body, { area: 'dialin' });
}

/** A number formatted for its country, as a link that dials straight into the user's meeting. */
function tappable(e164: string | null, conferenceId: string | null) {
  if (!e164) return null;
  const tap = oneTap(e164, conferenceId);
  return html`<a href="${tap.tel}" class="tel">${tap.shown}</a>`;
}

/**
 * The invitation block with a copy button. The block is the tenant's template rendered by the
 * Liquid engine in HTML mode (every value escaped), so it is shown as markup; the button (shown by
 * app.js where the Clipboard API is) copies the text part, and the HTML beside it where it can.
 */
function invitationSection(c: PageCtx, inv: RenderedMail) {
  return html`<section aria-labelledby="inv-h" class="card"><h2 id="inv-h">${inv.subject}</h2>
<p class="hint">${c.t('dialin.invitationHint')}</p>
<div class="invitation" id="invitation-html" data-testid="invitation">${raw(inv.html ?? '')}</div>
<pre id="invitation-text" hidden>${inv.text}</pre>
<div class="actions"><button type="button" data-copy="invitation-text" data-copy-html="invitation-html" data-status="invitation-status" data-done="${c.t('dialin.copied')}" data-failed="${c.t('dialin.copyFailed')}" hidden>${c.t('dialin.copyInvitation')}</button>
<span id="invitation-status" role="status" class="hint"></span></div></section>`;
}

function settingsPage(c: PageCtx, me: OwnDialIn, inv: RenderedMail, o: { newPin?: string; error?: AppError | null }): string {
  const byCity = new Map<string, OwnDialIn['AccessNumbers']>();
  for (const n of me.AccessNumbers) byCity.set(n.City ?? c.t('dialin.otherCity'), [...(byCity.get(n.City ?? c.t('dialin.otherCity')) ?? []), n]);
  return page(
    c,
    c.t('dialin.title'),
    html`${o.newPin ? html`<div class="notice pin" role="alert"><p>${c.t('dialin.newPin')}</p><p class="pin-value" data-testid="new-pin">${o.newPin}</p><p>${c.t('dialin.newPinOnce')}</p></div>` : ''}
<section aria-labelledby="me-h" class="card"><h2 id="me-h">${c.t('dialin.yourMeeting')}</h2>
${facts([
  [c.t('user.conferenceId'), html`<span data-testid="conference-id">${me.ConferenceId}</span>`],
  [c.t('user.tollNumber'), tappable(me.ServiceNumber, me.ConferenceId)],
  [c.t('user.tollFreeNumber'), tappable(me.TollFreeServiceNumber, me.ConferenceId)],
  [c.t('user.pin'), me.IsPinSet ? c.t('dialin.pinIsSet') : c.t('user.pinNotSet')],
])}</section>
<section aria-labelledby="num-h" class="card"><h2 id="num-h">${c.t('dialin.numbers')}</h2>
${me.AccessNumbers.length === 0 ? html`<p>${c.t('bridges.noNumbers')}</p>` : html`<div class="table-wrap"><table><thead><tr><th scope="col">${c.t('bridges.city')}</th><th scope="col">${c.t('bridges.number')}</th><th scope="col">${c.t('bridges.type')}</th><th scope="col">${c.t('bridges.languages')}</th></tr></thead>
<tbody>${[...byCity.entries()].map(([city, list]) =>
  list.map((n, i) => html`<tr>${i === 0 ? html`<th scope="rowgroup" rowspan="${list.length}">${city}</th>` : ''}<td>${tappable(n.Number, me.ConferenceId)}</td><td>${n.Type === 'TollFree' ? c.t('bridges.tollFree') : c.t('bridges.toll')}</td><td>${[n.PrimaryLanguage, ...n.SecondaryLanguages].filter(Boolean).join(', ')}</td></tr>`),
)}</tbody></table></div>`}</section>
${invitationSection(c, inv)}
<section aria-labelledby="pin-h" class="card"><h2 id="pin-h">${c.t('dialin.pinTitle')}</h2>
${errorBox(c, o.error ?? null)}
<p>${c.t('dialin.pinRules', { min: me.MinPinLength })}${me.PinHistoryCount > 0 ? ` ${c.t('dialin.pinHistory', { n: me.PinHistoryCount })}` : ''}</p>
<form method="post" action="/dialin/pin" novalidate>${csrfField(c)}
${input(c, 'pin', c.t('dialin.newPinLabel'), { type: 'password', inputmode: 'numeric', autocomplete: 'new-password', maxlength: 24, error: o.error, fields: ['Pin'] })}
${input(c, 'pin2', c.t('dialin.confirmPin'), { type: 'password', inputmode: 'numeric', autocomplete: 'new-password', maxlength: 24, error: o.error, fields: ['PinConfirmation'] })}
<div class="actions"><button type="submit" class="primary" name="action" value="set">${c.t('dialin.setPin')}</button>
<button type="submit" name="action" value="generate">${c.t('dialin.generatePin')}</button></div>
</form></section>`,
    { area: 'dialin' },
  );
}

/**
 * The end user's Dial-in Conferencing Settings page: sign-in by a one-time mailed link, the
 * conference ID and every access number, and setting the leader PIN (chosen twice, or generated),
 * shown once and never mailed. The session is the user's own: nothing here names another user.
 */
export function dialinPages(app: FastifyInstance, deps: PageDeps): void {
  const name = cookieName('user', deps.secure);
  const perClient = new WindowLimiter(10, 60_000);
  const perAddress = new WindowLimiter(3, 15 * 60_000);

  const session = async (req: FastifyRequest): Promise<{ s: TenantScope; userId: string; session: WebSessionsTable } | null> => {
    const row = await findSession(deps.ctx, 'user', req.cookies[name]);
    if (!row) return null;
    const tenant = await deps.ctx.db.kysely.selectFrom('tenants').selectAll().where('id', '=', row.tenant_id).executeTakeFirstOrThrow();
    const user = await deps.ctx.db.kysely.selectFrom('users').select('sip').where('id', '=', row.subject_id).executeTakeFirst();
    return { s: scopeOf({ ...deps.ctx, actor: `web:${user?.sip ?? row.subject_id}` }, tenant), userId: row.subject_id, session: row };
  };
  const showSettings = async (req: FastifyRequest, reply: FastifyReply, me: { s: TenantScope; userId: string; session: WebSessionsTable }, o: { newPin?: string; error?: AppError }, status = 200) => {
    const c = pageCtx(req, { csrf: me.session.csrf_token });
    const own = await ownDialIn(me.s, me.userId);
    const inv = await ownInvitation(me.s, me.userId, c.lang);
    return sendPage(reply, settingsPage({ ...c, user: { displayName: own.DisplayName } }, own, inv, o), status);
  };

  app.get('/dialin', { schema: { hide: true } }, async (req, reply) => {
    const me = await session(req);
    if (!me) return sendPage(reply, signInPage(pageCtx(req), {}));
    try {
      return await showSettings(req, reply, me, {});
    } catch (e) {
      if (!isAppError(e) || e.code !== 'USER_NOT_ENABLED') throw e;
      await endSession(deps.ctx, req.cookies[name]);
      return sendPage(reply, signInPage(pageCtx(req), { error: e }), 403);
    }
  });

  // Links found for a request, written once its answer is out (onResponse): a known address then
  // answers as fast as an unknown one.
  const pendingLinks = new WeakMap<FastifyRequest, PendingLoginLinks>();
  const writeLinks = async (req: FastifyRequest) => {
    const pending = pendingLinks.get(req);
    pendingLinks.delete(req);
    await pending?.write().catch((err: unknown) => req.log.error({ err }, 'a sign-in link could not be written'));
  };
  app.post<{ Body: { email?: string } }>('/dialin/sign-in-link', { schema: { hide: true }, onResponse: writeLinks }, async (req, reply) => {
    const c = pageCtx(req);
    const email = String(req.body?.email ?? '').trim().toLowerCase().slice(0, 320);
    try {
      checkSameOrigin(req, deps.publicOrigin);
      if (!perClient.take(req.ip) || !perAddress.take(email)) throw new AppError('RATE_LIMITED', c.t('dialin.tooMany'));
    } catch (e) {
      if (!isAppError(e)) throw e;
      return sendPage(reply, signInPage(c, { error: e }), e.code === 'RATE_LIMITED' ? 429 : 403);
    }
    pendingLinks.set(req, await requestLoginLinks(deps.ctx, email));
    // The same answer whether or not the address belongs to a dial-in user.
    return sendPage(reply, signInPage(c, { sent: true }));
  });

  // The mailed link opens a page with a button: a mail scanner that follows links cannot use up the one-time link.
  app.get<{ Querystring: { token?: string } }>('/dialin/sign-in', { schema: { hide: true } }, async (req, reply) => {
    const c = pageCtx(req);
    const body = html`<form method="post" action="/dialin/sign-in" class="card narrow"><input type="hidden" name="token" value="${String(req.query.token ?? '').slice(0, 100)}">
<p>${c.t('dialin.confirmSignIn')}</p><button type="submit" class="primary">${c.t('auth.signIn')}</button></form>`;
    return sendPage(reply, page(c, c.t('dialin.title'), body, { area: 'dialin' }));
  });

  app.post<{ Body: { token?: string } }>('/dialin/sign-in', { schema: { hide: true } }, async (req, reply) => {
    try {
      checkSameOrigin(req, deps.publicOrigin);
      const { tenant, user } = await redeemLoginLink(deps.ctx, String(req.body?.token ?? ''));
      await endSession(deps.ctx, req.cookies[name]);
      const s = await createSession(deps.ctx, 'user', tenant.id, user.id);
      reply.setCookie(name, s.token, cookieOptions(deps.secure, SESSION_LIMITS.user.absoluteMs));
      return reply.redirect('/dialin', 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return sendPage(reply, signInPage(pageCtx(req), { error: e }), e.code === 'CSRF_INVALID' ? 403 : 401);
    }
  });

  app.post<{ Body: { pin?: string; pin2?: string; action?: string; _csrf?: string } }>('/dialin/pin', { schema: { hide: true } }, async (req, reply) => {
    const me = await session(req);
    if (!me) throw new AppError('UNAUTHENTICATED', pageCtx(req).t('dialin.sessionEnded'));
    checkCsrf(req, deps.publicOrigin, me.session.csrf_token);
    const generate = req.body?.action === 'generate';
    try {
      const res = await setOwnPin(me.s, me.userId, generate ? { pin: null, confirmation: null } : { pin: String(req.body?.pin ?? ''), confirmation: String(req.body?.pin2 ?? '') });
      return await showSettings(req, reply, me, { newPin: res.pin });
    } catch (e) {
      if (!isAppError(e) || e.code === 'USER_NOT_ENABLED') throw e;
      return showSettings(req, reply, me, { error: e }, e.kind === 'validation' ? 400 : 409);
    }
  });

  app.post('/dialin/sign-out', { schema: { hide: true } }, async (req, reply) => {
    const me = await session(req);
    if (me) {
      checkCsrf(req, deps.publicOrigin, me.session.csrf_token);
      await endSession(deps.ctx, req.cookies[name]);
    }
    reply.clearCookie(name, { path: '/' });
    return reply.redirect('/dialin', 303);
  });
}
