import { lastMailStatus } from '../../../app/outbox.ts';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import { addUser, findUser, listUsers, userListing } from '../../../app/users.ts';
import { importError, importUsers, type ImportRecord } from '../../../app/import-users.ts';
import { enableUsers } from '../../../app/enable-users.ts';
import { bridgeNameOf, dialInUserView, listDialInUsers } from '../../../app/dialin-user-view.ts';
import { findBridge } from '../../../app/bridges.ts';
import { readCsvText } from '../../files/csv-records.ts';
import { Body, DialInUser, ERROR_RESPONSES, IdentityParams, Nullable, Str, UserListing } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Users'];

/** The user directory (`dialin users add|import|list`) and the dial-in view of users (Get-CsOnlineDialInConferencingUser). */
export function usersApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/users', {
    config: { access: 'staff' },
    schema: {
      tags,
      summary: 'Search and page through the directory',
      querystring: Type.Object({ Search: Type.Optional(Str()), Limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), Offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ Total: Type.Integer(), Users: Type.Array(UserListing) }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const res = await listUsers(scopeOfRequest(deps, req), { search: req.query.Search, limit: req.query.Limit ?? 50, offset: req.query.Offset ?? 0 });
    return { Total: res.total, Users: res.users.map(userListing) };
  });

  r.post('/users', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Add a user to the directory (dialin users add)',
      body: Body({ UserUri: Str(), DisplayName: Str(), EmailAddress: Type.Optional(Nullable(Str())), Language: Type.Optional(Nullable(Str())), Phone: Type.Optional(Nullable(Str())), Extension: Type.Optional(Nullable(Str())) }),
      response: { 201: UserListing, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const u = await addUser(scopeOfRequest(deps, req), req.body);
    return reply.code(201).send(userListing(u));
  });

  r.post('/users/import', {
    config: { access: 'admin', rawBody: true },
    schema: {
      tags,
      summary: 'Import users from CSV (UserUri,DisplayName,EmailAddress,Language[,Phone,Extension]); all or nothing unless SkipInvalid; Enable also enables them',
      description: 'Send the file as the body with Content-Type: text/csv.',
      querystring: Type.Object({ SkipInvalid: Type.Optional(Type.Boolean()), Enable: Type.Optional(Type.Boolean()), BridgeName: Type.Optional(Str()) }, { additionalProperties: false }),
      response: { 200: Type.Object({ Imported: Type.Integer(), Skipped: Type.Integer(), Problems: Type.Array(Type.Object({ line: Type.Integer(), code: Type.String(), message: Type.String() })) }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    if (!Buffer.isBuffer(req.body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV file as the body with Content-Type: text/csv.');
    const records = readCsvText(req.body, { required: ['UserUri', 'DisplayName', 'EmailAddress', 'Language'], optional: ['Phone', 'Extension'] }) as AsyncIterable<ImportRecord>;
    const s = scopeOfRequest(deps, req);
    // With Enable, the new users are enabled in the same transaction (`dialin users import --enable`).
    const res = await importUsers(s, records, { skipInvalid: !!req.query.SkipInvalid, afterInsert: req.query.Enable ? enableUsers(s, { bridge: { name: req.query.BridgeName ?? null } }) : undefined });
    if (res.rolledBack) throw importError(res);
    if (req.query.Enable) s.onMailQueued?.();
    return { Imported: res.imported, Skipped: res.skipped, Problems: res.problems };
  });

  r.get('/users/:identity', {
    config: { access: 'staff' },
    schema: { tags, summary: 'One directory entry', params: IdentityParams, response: { 200: UserListing, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return userListing(await findUser(s.db.kysely, s.tenant.id, req.params.identity));
  });

  r.get('/dialin-users', {
    config: { access: 'staff' },
    schema: {
      tags,
      summary: 'Users enabled for dial-in conferencing (Get-CsOnlineDialInConferencingUser), PIN masked',
      querystring: Type.Object({ BridgeName: Type.Optional(Str()), BridgeId: Type.Optional(Str()), ResultSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })) }, { additionalProperties: false }),
      response: { 200: Type.Array(DialInUser), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const { BridgeName, BridgeId, ResultSize } = req.query;
    const bridgeId = BridgeName || BridgeId ? (await findBridge(s.db.kysely, s.tenant.id, { name: BridgeName, id: BridgeId })).id : null;
    return listDialInUsers(s, { resultSize: ResultSize ?? 1000, bridgeId });
  });

  r.get('/users/:identity/dialin', {
    config: { access: 'staff' },
    schema: { tags, summary: "A user's dial-in properties (PIN masked)", params: IdentityParams, response: { 200: DialInUser, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const u = await findUser(s.db.kysely, s.tenant.id, req.params.identity);
    if (u.provider !== 'Microsoft' || u.dialin_enabled !== 1) {
      throw new AppError('USER_NOT_ENABLED', `${u.sip} is not enabled for dial-in conferencing (provider: ${u.provider}).`, { field: 'Identity' });
    }
    return { ...dialInUserView(s, u, await bridgeNameOf(s.db.kysely, u.bridge_id)), LastMailStatus: (await lastMailStatus(s.db.kysely, [u.id])).get(u.id) ?? null };
  });
}
