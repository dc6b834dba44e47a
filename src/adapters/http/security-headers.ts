import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Our pages load only their own stylesheet and script: no inline code, no plug-ins, no framing,
 * forms post only to this site (ASVS 3.4).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Headers on every answer. Pages and API answers are never cached (they carry personal data,
 * and a PIN in the one answer that shows it); only /static/ files may be.
 */
export function securityHeaders(secure: boolean) {
  return async (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    // swagger-ui sets its own CSP for its bundled files; everything else gets ours.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
    if (secure) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    if (!req.url.startsWith('/static/') && !req.url.startsWith('/api/docs/static/')) reply.header('cache-control', 'no-store');
    return payload;
  };
}
