import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { getOutbox, listOutbox, outboxCounts } from '../../../app/outbox.ts';
import { listAudit } from '../../../app/audit.ts';
import { findUser } from '../../../app/users.ts';
import { AuditEntry, ERROR_RESPONSES, OutboxMessage, Str } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

/** The outbox (`dialin outbox list|show`) and the audit log (`dialin audit`). */
export function mailApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/outbox', {
    config: { access: 'admin' },
    schema: {
      tags: ['Mail'],
      summary: 'Outbox messages, newest first: status, attempts, last reply (never a PIN)',
      querystring: Type.Object(
        { Status: Type.Optional(Str()), Kind: Type.Optional(Str()), User: Type.Optional(Str()), Limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Array(OutboxMessage), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const user = req.query.User ? (await findUser(s.db.kysely, s.tenant.id, req.query.User)).sip : null;
    return listOutbox(s, { status: req.query.Status, kind: req.query.Kind, user, limit: req.query.Limit ?? 50 });
  });

  r.get('/outbox/counts', {
    config: { access: 'admin' },
    schema: { tags: ['Mail'], summary: 'Number of outbox messages by status', response: { 200: Type.Record(Type.String(), Type.Integer()), ...ERROR_RESPONSES } },
  }, async (req) => outboxCounts(scopeOfRequest(deps, req)));

  r.get('/outbox/:id', {
    config: { access: 'admin' },
    schema: { tags: ['Mail'], summary: 'One outbox message', params: Type.Object({ id: Str() }), response: { 200: OutboxMessage, ...ERROR_RESPONSES } },
  }, async (req) => getOutbox(scopeOfRequest(deps, req), req.params.id));

  r.get('/audit', {
    config: { access: 'admin' },
    schema: {
      tags: ['Audit'],
      summary: 'Who changed what, when (never a secret)',
      querystring: Type.Object({ User: Type.Optional(Str()), Limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })) }, { additionalProperties: false }),
      response: { 200: Type.Array(AuditEntry), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const userId = req.query.User ? (await findUser(s.db.kysely, s.tenant.id, req.query.User)).id : undefined;
    return listAudit(s, { limit: req.query.Limit ?? 50, userId });
  });
}
