import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import { getOutbox, listOutbox, outboxCounts } from '../../../app/outbox.ts';
import { deliveryStatus, purgeMail, resumeDeliveries, retryMail } from '../../../app/mail-admin.ts';
import { listAudit } from '../../../app/audit.ts';
import { findUser } from '../../../app/users.ts';
import { AuditEntry, Body, ERROR_RESPONSES, Nullable, OutboxMessage, Str } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

/** The outbox and delivery (`dialin outbox …`, `dialin mail list|show|status|retry|resume|purge`) and the audit log (`dialin audit`). */
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

  r.get('/mail/status', {
    config: { access: 'admin' },
    schema: {
      tags: ['Mail'],
      summary: 'Messages by status, and whether deliveries are paused (and why)',
      response: {
        200: Type.Object({ Counts: Type.Record(Type.String(), Type.Integer()), Paused: Type.Boolean(), PausedSince: Nullable(Type.String()), PauseReason: Nullable(Type.String()), NextTryAt: Nullable(Type.String()), OldestQueuedAt: Nullable(Type.String()) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (req) => deliveryStatus(scopeOfRequest(deps, req)));

  r.post('/mail/resume', {
    config: { access: 'admin' },
    schema: { tags: ['Mail'], summary: "End the tenant's delivery pause now (after fixing the relay's login or TLS)", response: { 200: Type.Object({ Resumed: Type.Boolean() }), ...ERROR_RESPONSES } },
  }, async (req) => ({ Resumed: await resumeDeliveries(scopeOfRequest(deps, req)) }));

  r.post('/outbox/retry', {
    config: { access: 'admin' },
    schema: {
      tags: ['Mail'],
      summary: 'Queue failed or expired messages again: by id, or every one of a status (never those that carried a PIN)',
      body: Body({ Ids: Type.Optional(Type.Array(Str(64), { minItems: 1, maxItems: 1000 })), Status: Type.Optional(Type.Union([Type.Literal('failed'), Type.Literal('expired')])) }),
      response: { 200: Type.Object({ Queued: Type.Integer() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    if (req.body.Ids && req.body.Status) throw new AppError('CONFLICTING_PARAMETERS', 'Give Ids or Status, not both.', { field: 'Ids' });
    return { Queued: await retryMail(scopeOfRequest(deps, req), { ids: req.body.Ids, status: req.body.Status }) };
  });

  r.post('/outbox/purge', {
    config: { access: 'admin' },
    schema: {
      tags: ['Mail'],
      summary: 'Delete finished messages (sent, delayed, bounced, complained, failed, expired, superseded) older than a number of days',
      body: Body({ OlderThanDays: Type.Number({ minimum: 0 }), Statuses: Type.Optional(Type.Array(Str(16), { maxItems: 4 })) }),
      response: { 200: Type.Object({ Deleted: Type.Integer() }), ...ERROR_RESPONSES },
    },
  }, async (req) => ({ Deleted: await purgeMail(scopeOfRequest(deps, req), { olderThanDays: req.body.OlderThanDays, statuses: req.body.Statuses }) }));

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
