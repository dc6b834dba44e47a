import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { AppContext } from '../../app/context.ts';
import type { Config } from '../../config/config.ts';
import { AppError } from '../../core/errors.ts';
import { notUtf8Error } from '../../core/text.ts';
import { apiGuard, cookieName, type Access } from './auth.ts';
import { httpStatusOf, toAppError } from './errors.ts';
import { NoBody } from './schemas.ts';
import type { Metrics } from './metrics.ts';
import { OutageLog } from './outage-log.ts';
import { securityHeaders } from './security-headers.ts';
import { textGuard } from './text-guard.ts';
import { healthRoutes } from './routes/health.ts';
import { staticRoutes } from './routes/static.ts';
import { usersApi } from './routes/api-users.ts';
import { dialInApi } from './routes/api-dialin.ts';
import { settingsApi } from './routes/api-settings.ts';
import { bridgesApi } from './routes/api-bridges.ts';
import { pinsApi } from './routes/api-pins.ts';
import { acpApi } from './routes/api-acp.ts';
import { mailApi } from './routes/api-mail.ts';
import { verifyApi } from './routes/api-verify.ts';
import { templatesApi } from './routes/api-templates.ts';
import { directoriesApi } from './routes/api-directories.ts';
import { scimRoutes, SCIM_PREFIX } from './routes/scim.ts';
import { pageRoutes } from './pages/routes.ts';
import { renderErrorPage } from './pages/error-page.ts';
import type { ApiDeps } from './routes/api-deps.ts';

export interface HttpDeps {
  ctx: AppContext;
  config: Readonly<Config>;
  log: Logger;
  metrics: Metrics;
}

const ROLES_OF: Readonly<Record<Access, string>> = { staff: 'admin, helpdesk', admin: 'admin', bridge: 'bridge' };

/** Methods whose requests may carry a body. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The REST API lives here; everything else is pages, static files and health. */
export const API_PREFIX = '/api/v1';

function isApi(req: FastifyRequest): boolean {
  return req.url.startsWith('/api/');
}

/**
 * The whole HTTP surface of `dialin serve` as one fastify app: REST API with OpenAPI, the admin
 * center, the end user's Dial-in Conferencing Settings page, health and metrics. Built without
 * listening, so tests drive it with `inject`.
 */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { ctx, config, metrics } = deps;
  const secure = config.publicUrl.startsWith('https:');
  const publicOrigin = new URL(config.publicUrl).origin;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Requests are logged by our onResponse hook with the route pattern only: a URL can carry a sign-in token.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // A path that is not valid percent-encoded UTF-8 gets the error format of every other refusal.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      const e = err.code === 'FST_ERR_BAD_URL' ? notUtf8Error('path') : toAppError(err);
      void reply.code(httpStatusOf(e)).send(e.toJSON());
    },
  });
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  textGuard(app);
  app.decorateRequest('principal', null);
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(swagger, {
    hideUntagged: true,
    openapi: {
      info: { title: 'dialin REST API', version: '1', description: 'Dial-in conferencing administration. Bodies use the cmdlet parameter names; errors are `{ "error": { "code", "message", "field" } }` with the codes of docs/errors.md.' },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API token from `dialin token create --role admin|helpdesk|bridge`.' },
          session: { type: 'apiKey', in: 'cookie', name: cookieName('admin', secure), description: 'An admin-center session; changes also need the X-CSRF-Token header.' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.addHook('onSend', securityHeaders(secure));
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // The bridge check is high-volume and counted in /metrics; log it only at debug level.
    const level = route === `${API_PREFIX}/bridge/verify` ? 'debug' : 'info';
    req.log[level]({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime), actor: req.principal?.actor }, 'request');
  });

  const outage = new OutageLog(10_000);
  app.setErrorHandler(async (err, req, reply) => {
    const e = toAppError(err);
    const status = httpStatusOf(e);
    if (status === 503) outage.note(req.log, e.code, e.cause instanceof Error ? e.cause.message : null);
    else if (status >= 500) req.log.error({ err, code: e.code }, 'request failed');
    else req.log.info({ code: e.code, field: e.field, route: req.routeOptions.url }, 'request refused');
    reply.code(status);
    if (isApi(req) || !req.method.match(/^(GET|POST)$/)) return reply.send(e.toJSON());
    return reply.type('text/html; charset=utf-8').send(renderErrorPage(req, e, status));
  });
  app.setNotFoundHandler(async (req, reply) => {
    const e = new AppError('ROUTE_NOT_FOUND', `Nothing at ${req.method} ${req.url.split('?')[0]}.`);
    reply.code(404);
    return isApi(req) ? reply.send(e.toJSON()) : reply.type('text/html; charset=utf-8').send(renderErrorPage(req, e, 404));
  });

  healthRoutes(app, deps);
  staticRoutes(app);
  const apiDeps: ApiDeps = { ctx, config, metrics };
  await app.register(
    async (api) => {
      // JSON only (and CSV for the import): a form or plain-text body is refused with 415.
      api.removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
      api.addContentTypeParser('text/csv', { parseAs: 'buffer', bodyLimit: 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      api.addHook('onRequest', apiGuard(ctx, { secure, publicOrigin }));
      // The OpenAPI document says who may call each route.
      api.addHook('onRoute', (route) => {
        const config = route.config as { access?: Access; rawBody?: boolean } | undefined;
        const access = config?.access;
        if (access && route.schema) route.schema.description = `Roles: ${ROLES_OF[access]}.${route.schema.description ? ` ${route.schema.description}` : ''}`;
        // A route that declares no body takes none: any field sent to it is refused (UNKNOWN_PARAMETER), never ignored.
        if ([route.method].flat().some((m) => BODY_METHODS.has(m)) && !config?.rawBody && !route.schema?.body) route.schema = { ...route.schema, body: NoBody };
      });
      // A request without a body means "no options": validate it as an empty object.
      api.addHook('preValidation', async (req) => {
        if (req.body === undefined && BODY_METHODS.has(req.method)) req.body = {};
      });
      for (const routes of [settingsApi, usersApi, dialInApi, pinsApi, bridgesApi, acpApi, mailApi, templatesApi, directoriesApi, verifyApi]) routes(api, apiDeps);
    },
    { prefix: API_PREFIX },
  );
  await app.register(
    async (scim) => {
      scim.removeContentTypeParser(['text/plain']);
      await scimRoutes(scim, apiDeps);
    },
    { prefix: SCIM_PREFIX },
  );
  await app.register(async (pages) => pageRoutes(pages, { ...apiDeps, secure, publicOrigin }));
  return app;
}
