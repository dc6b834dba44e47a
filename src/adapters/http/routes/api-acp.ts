import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { getUserAcp, removeUserAcp, setUserAcp, type AcpInfo } from '../../../app/acp.ts';
import { findUser } from '../../../app/users.ts';
import { perUser } from '../../../app/bulk.ts';
import { Body, ERROR_RESPONSES, IdentityParams, Nullable, Outcome, Str, UserAcp } from '../schemas.ts';
import { runOne, scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Third-party providers'];

/** Set-, Get- and Remove-CsUserAcp. */
export function acpApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/acp', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Every user with a third-party provider', response: { 200: Type.Array(UserAcp), ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return getUserAcp(s.db.kysely, s);
  });

  r.get('/users/:identity/acp', {
    config: { access: 'admin' },
    schema: { tags, summary: "A user's third-party provider", params: IdentityParams, response: { 200: UserAcp, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return (await getUserAcp(s.db.kysely, s, await findUser(s.db.kysely, s.tenant.id, req.params.identity)))[0]!;
  });

  r.put('/users/:identity/acp', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Put the user on a third-party provider (a dialin user loses dial-in and gets the "turned off" mail)',
      params: IdentityParams,
      body: Body({ Name: Str(), Domain: Str(), TollNumber: Type.Optional(Nullable(Str())), TollFreeNumbers: Type.Optional(Type.Array(Str(), { maxItems: 20 })), ParticipantPasscode: Type.Optional(Nullable(Str())), Url: Type.Optional(Nullable(Str())) }),
      response: { 200: UserAcp, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const b = req.body;
    const input = { name: b.Name, domain: b.Domain, tollNumber: b.TollNumber, tollFreeNumbers: b.TollFreeNumbers, participantPasscode: b.ParticipantPasscode, url: b.Url };
    const res = await runOne<{ Identity: string; AcpInfo: AcpInfo[] }>(s, req.params.identity, perUser(async (trx, u) => ({ outcome: 'done', output: { Identity: u.sip, AcpInfo: [await setUserAcp(trx, s, u, input)] } })));
    return res.Result!;
  });

  r.delete('/users/:identity/acp', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: "Remove the user's third-party provider (provider None)",
      params: IdentityParams,
      querystring: Type.Object({ Name: Type.Optional(Str()) }, { additionalProperties: false }),
      response: { 200: Outcome(Type.Object({ Identity: Type.String(), Provider: Type.String() })), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<{ Identity: string; Provider: string }>(s, req.params.identity, perUser(async (trx, u) => {
      const outcome = await removeUserAcp(trx, s, u, req.query.Name ?? null);
      return outcome === 'done' ? { outcome, output: { Identity: u.sip, Provider: 'None' } } : { outcome, reason: 'no third-party provider' };
    }));
  });
}
