import type { FastifyRequest } from 'fastify';
import type { AppError } from '../../../core/errors.ts';
import { html } from '../html.ts';
import { errorBox } from './kit.ts';
import { page, pageCtx } from './layout.ts';

/** A page for an error outside any form: the code, a message, and a way back. */
export function renderErrorPage(req: FastifyRequest, e: AppError, status: number): string {
  const c = pageCtx(req);
  const back = req.url.startsWith('/dialin') ? '/dialin' : '/admin';
  const signIn = status === 401 ? html`<p><a href="${back === '/admin' ? '/admin/login' : '/dialin'}">${c.t('auth.signIn')}</a></p>` : html`<p><a href="${back}">${c.t('error.back')}</a></p>`;
  return page(c, c.t('error.title'), html`${errorBox(c, e)}${signIn}`, { area: 'plain' });
}
