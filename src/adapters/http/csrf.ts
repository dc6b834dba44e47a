import type { FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import { sameSecret } from '../crypto/secrets.ts';

/** Methods that change something; only these need anti-forgery checks (GET never changes state). */
export function isUnsafe(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * Refuses a request that a browser sent on behalf of another site: Fetch Metadata first
 * (`Sec-Fetch-Site` other than same-origin or none), then the Origin header, which must be this
 * service (its public URL, or the host the request came to). Our pages send no referrer, and with
 * that Chromium sends `Origin: null` on same-origin form posts; that is accepted only when Fetch
 * Metadata vouches for the request.
 */
export function checkSameOrigin(req: FastifyRequest, publicOrigin: string): void {
  const refuse = () => new AppError('CSRF_INVALID', 'This request came from another site and was refused.');
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') throw refuse();
  const origin = req.headers.origin;
  if (origin === 'null') {
    if (site !== 'same-origin') throw refuse();
  } else if (typeof origin === 'string') {
    const own = `${req.protocol}://${req.host}`;
    if (origin !== publicOrigin && origin !== own) throw refuse();
  }
}

/**
 * The synchronizer-token check for a request authenticated by a session cookie: the token of the
 * session must come back in the `X-CSRF-Token` header (scripts) or the `_csrf` form field (forms).
 */
export function checkCsrf(req: FastifyRequest, publicOrigin: string, sessionToken: string): void {
  checkSameOrigin(req, publicOrigin);
  const header = req.headers['x-csrf-token'];
  const field = (req.body as Record<string, unknown> | undefined)?._csrf;
  const given = typeof header === 'string' ? header : typeof field === 'string' ? field : '';
  if (!given || !sameSecret(given, sessionToken)) {
    throw new AppError('CSRF_INVALID', 'The form has expired or did not come from this site; reload the page and try again.');
  }
}
