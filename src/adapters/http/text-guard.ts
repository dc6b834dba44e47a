import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notUtf8Error, textError, textProblem } from '../../core/text.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Body fields that are multi-line sources (template bodies): tab, LF and CR are allowed there. */
    multiline?: readonly string[];
  }
}

/** `identity` → `Identity`: a path parameter is named in errors like the cmdlet parameter it is. */
const asField = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** Checks every key and string of a parsed value; `field` is the nearest key (arrays keep their key's name). */
function checkValue(v: unknown, field: string, multiline: ReadonlySet<string>): void {
  if (typeof v === 'string') {
    const p = textProblem(v, { multiline: multiline.has(field) });
    if (p) throw textError(field, p);
  } else if (Array.isArray(v)) {
    for (const x of v) checkValue(x, field, multiline);
  } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    for (const [k, x] of Object.entries(v)) {
      const p = textProblem(k);
      if (p) throw textError(k, p);
      checkValue(x, k, multiline);
    }
  }
}

/**
 * The query parser turns a percent-escape that is not UTF-8 (`%ff`) into U+FFFD or leaves it as it
 * is; the raw query is checked first so such a value is refused instead of silently changed.
 */
function checkRawQuery(url: string): void {
  const q = url.indexOf('?');
  if (q < 0) return;
  for (const pair of url.slice(q + 1).split('&')) {
    try {
      decodeURIComponent(pair.replace(/\+/g, ' '));
    } catch {
      const key = pair.split('=')[0] ?? '';
      let field = 'query';
      try {
        field = decodeURIComponent(key) || field;
      } catch {
        // the key itself is the bad part: name the query
      }
      throw notUtf8Error(field);
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text that does not show as what it is (control characters, NUL, lone surrogates, invalid UTF-8,
 * bidi overrides, invisible format characters) is refused at the HTTP edge, before any route runs:
 * one hook over the path parameters, the query and every string and key of the body, and a JSON
 * parser that refuses invalid UTF-8 instead of replacing it. So PostgreSQL never sees a NUL (it
 * cannot store one) and SQLite never stores one: TEXT_INVALID (400) on both, nothing changed.
 * Routes whose body holds a multi-line source name those fields in `config.multiline`.
 */
export function textGuard(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(notUtf8Error('body'), undefined);
      return;
    }
    parseJson(req, text, done);
  });
  app.addHook('preValidation', async (req: FastifyRequest) => {
    checkRawQuery(req.url);
    for (const [k, v] of Object.entries((req.params ?? {}) as Record<string, unknown>)) checkValue(v, asField(k), new Set());
    checkValue(req.query, 'query', new Set());
    checkValue(req.body, 'body', new Set(req.routeOptions.config.multiline ?? []));
  });
}
