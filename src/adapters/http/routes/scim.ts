import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../../core/errors.ts';
import { notUtf8Error } from '../../../core/text.ts';
import { ERROR_SCHEMA, LIST_SCHEMA, resourceTypes, schemaResources, serviceProviderConfig } from '../../../core/scim/schemas.ts';
import { parseProjection, project } from '../../../core/scim/attributes.ts';
import type { ResourceKind } from '../../../core/scim/schemas.ts';
import { createScimUser, deleteScimUser, getScimUser, listScimUsers, patchScimUser, replaceScimUser, type ScimList } from '../../../app/scim-users.ts';
import { createScimGroup, deleteScimGroup, getScimGroup, listScimGroups, patchScimGroup, replaceScimGroup } from '../../../app/scim-groups.ts';
import { TokenCache, scopeFor } from '../auth.ts';
import { httpStatusOf, toAppError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';

/** SCIM lives here, outside /api/v1: its own token role, media type and error format. */
export const SCIM_PREFIX = '/scim/v2';
const MEDIA = 'application/scim+json; charset=utf-8';

/** RFC 7644 §3.12 scimType for our codes. */
const SCIM_TYPE: Partial<Record<ErrorCode, string>> = {
  SCIM_INVALID_FILTER: 'invalidFilter',
  SCIM_INVALID_PATH: 'invalidPath',
  SCIM_INVALID_SYNTAX: 'invalidSyntax',
  SCIM_INVALID_VALUE: 'invalidValue',
  SCIM_TOO_MANY: 'tooMany',
  SCIM_UNIQUENESS: 'uniqueness',
  TEXT_INVALID: 'invalidValue',
  INVALID_ARGUMENT: 'invalidSyntax',
  UNKNOWN_PARAMETER: 'invalidSyntax',
};

export function scimError(e: AppError, status: number) {
  const scimType = SCIM_TYPE[e.code];
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail: `${e.message} (${e.code})` };
}

interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
}

function int(v: string | undefined, field: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^-?[0-9]{1,9}$/.test(v)) throw new AppError('SCIM_INVALID_VALUE', `${field} must be a whole number.`, { field });
  return Number(v);
}

function one(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AppError('SCIM_INVALID_VALUE', `${field} may be given once.`, { field });
  return v;
}

/**
 * SCIM 2.0 (RFC 7644) for Entra ID and Okta: Users, Groups, ServiceProviderConfig, ResourceTypes,
 * Schemas. A bearer token of role `scim` only (any other token is 403 here, and a scim token is 403
 * under /api/v1); answers and errors in application/scim+json with the SCIM error schema.
 */
export async function scimRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { ctx, config } = deps;
  const base = `${config.publicUrl.replace(/\/$/, '')}${SCIM_PREFIX}`;
  const tokens = new TokenCache(ctx.now);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.addContentTypeParser('application/scim+json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(notUtf8Error('body'), undefined);
      return;
    }
    parseJson(req, text, done);
  });

  app.setErrorHandler(async (err, req, reply) => {
    let e = toAppError(err);
    if (e.code === 'INVALID_ARGUMENT' && /valid JSON/.test(e.message)) e = new AppError('SCIM_INVALID_SYNTAX', 'The body is not valid JSON.', { field: 'body' });
    if (e.code === 'UNSUPPORTED_MEDIA_TYPE') e = new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/scim+json (or application/json).');
    const status = httpStatusOf(e);
    if (status >= 500) req.log.error({ err, code: e.code }, 'scim request failed');
    else req.log.info({ code: e.code, field: e.field, route: req.routeOptions.url }, 'scim request refused');
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="dialin scim"');
    return reply.code(status).type(MEDIA).send(scimError(e, status));
  });
  app.setNotFoundHandler(async (req, reply) => {
    const e = new AppError('ROUTE_NOT_FOUND', `Nothing at ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}.`);
    return reply.code(404).type(MEDIA).send(scimError(e, 404));
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) throw new AppError('UNAUTHENTICATED', 'Send a SCIM token as `Authorization: Bearer dlt_…` (`dialin token create --role scim`).');
    const p = await tokens.principal(ctx, m[1]!);
    if (!p) throw new AppError('UNAUTHENTICATED', 'The SCIM token is unknown, revoked or malformed.');
    if (p.role !== 'scim') throw new AppError('FORBIDDEN', `A ${p.role} token cannot call the SCIM API; create one with \`dialin token create --role scim\`.`);
    req.principal = p;
  });

  const send = (reply: FastifyReply, status: number, body: unknown) => {
    const meta = (body as { meta?: { version?: string } }).meta;
    if (meta?.version) reply.header('etag', meta.version);
    return reply.code(status).type(MEDIA).send(body);
  };
  const scope = (req: FastifyRequest) => scopeFor(ctx, req);
  const ifMatch = (req: FastifyRequest) => one(req.headers['if-match'], 'If-Match');
  const listed = (kind: ResourceKind, q: ListQuery, run: (p: { filter?: string; startIndex?: number; count?: number }) => Promise<ScimList>) => async () => {
    const projection = parseProjection(kind, one(q.attributes, 'attributes'), one(q.excludedAttributes, 'excludedAttributes'));
    const r = await run({ filter: one(q.filter, 'filter'), startIndex: int(one(q.startIndex, 'startIndex'), 'startIndex'), count: int(one(q.count, 'count'), 'count') });
    return { schemas: [LIST_SCHEMA], totalResults: r.totalResults, startIndex: r.startIndex, itemsPerPage: r.itemsPerPage, Resources: r.Resources.map((x) => project(x, projection)) };
  };
  const projected = (kind: ResourceKind, q: ListQuery, x: Record<string, unknown>) => project(x, parseProjection(kind, one(q.attributes, 'attributes'), one(q.excludedAttributes, 'excludedAttributes')));

  app.get('/ServiceProviderConfig', async (_req, reply) => send(reply, 200, serviceProviderConfig(base)));
  app.get('/ResourceTypes', async (_req, reply) => send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: 2, startIndex: 1, itemsPerPage: 2, Resources: resourceTypes(base) }));
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (req, reply) => {
    const hit = resourceTypes(base).find((r) => r.id === req.params.id);
    if (!hit) throw new AppError('SCIM_NOT_FOUND', `No resource type ${req.params.id.slice(0, 100)}.`, { field: 'id' });
    return send(reply, 200, hit);
  });
  app.get('/Schemas', async (_req, reply) => send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: 3, startIndex: 1, itemsPerPage: 3, Resources: schemaResources(base) }));
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (req, reply) => {
    const hit = schemaResources(base).find((r) => r.id === req.params.id);
    if (!hit) throw new AppError('SCIM_NOT_FOUND', `No schema ${req.params.id.slice(0, 200)}.`, { field: 'id' });
    return send(reply, 200, hit);
  });

  app.get<{ Querystring: ListQuery }>('/Users', async (req, reply) => send(reply, 200, await listed('User', req.query, (p) => listScimUsers(scope(req), p, base))()));
  app.post<{ Querystring: ListQuery }>('/Users', async (req, reply) => {
    const r = await createScimUser(scope(req), req.body, base);
    reply.header('location', (r.meta as { location: string }).location);
    return send(reply, 201, projected('User', req.query, r));
  });
  app.get<{ Params: { id: string }; Querystring: ListQuery }>('/Users/:id', async (req, reply) => send(reply, 200, projected('User', req.query, await getScimUser(scope(req), req.params.id, base))));
  app.put<{ Params: { id: string }; Querystring: ListQuery }>('/Users/:id', async (req, reply) => send(reply, 200, projected('User', req.query, await replaceScimUser(scope(req), req.params.id, req.body, ifMatch(req), base))));
  app.patch<{ Params: { id: string }; Querystring: ListQuery }>('/Users/:id', async (req, reply) => send(reply, 200, projected('User', req.query, await patchScimUser(scope(req), req.params.id, req.body, ifMatch(req), base))));
  app.delete<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
    await deleteScimUser(scope(req), req.params.id, ifMatch(req));
    return reply.code(204).send();
  });

  app.get<{ Querystring: ListQuery }>('/Groups', async (req, reply) => send(reply, 200, await listed('Group', req.query, (p) => listScimGroups(scope(req), p, base))()));
  app.post<{ Querystring: ListQuery }>('/Groups', async (req, reply) => {
    const r = await createScimGroup(scope(req), req.body, base);
    reply.header('location', (r.meta as { location: string }).location);
    return send(reply, 201, projected('Group', req.query, r));
  });
  app.get<{ Params: { id: string }; Querystring: ListQuery }>('/Groups/:id', async (req, reply) => send(reply, 200, projected('Group', req.query, await getScimGroup(scope(req), req.params.id, base))));
  app.put<{ Params: { id: string }; Querystring: ListQuery }>('/Groups/:id', async (req, reply) => send(reply, 200, projected('Group', req.query, await replaceScimGroup(scope(req), req.params.id, req.body, ifMatch(req), base))));
  app.patch<{ Params: { id: string }; Querystring: ListQuery }>('/Groups/:id', async (req, reply) => {
    const r = await patchScimGroup(scope(req), req.params.id, req.body, ifMatch(req), base);
    // As in Microsoft's tutorial: 204 (a 10,000-member group is not sent back), unless attributes are asked for.
    if (req.query.attributes === undefined && req.query.excludedAttributes === undefined) {
      reply.header('etag', (r.meta as { version: string }).version);
      return reply.code(204).send();
    }
    return send(reply, 200, projected('Group', req.query, r));
  });
  app.delete<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
    await deleteScimGroup(scope(req), req.params.id, ifMatch(req));
    return reply.code(204).send();
  });
}
