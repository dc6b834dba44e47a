import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { enableUsers } from '../../../app/enable-users.ts';
import { disableUsers } from '../../../app/disable-user.ts';
import { setDialInUsers } from '../../../app/set-dialin-user.ts';
import { swapDefaultNumber } from '../../../app/default-number.ts';
import { toNumberType } from '../../../app/service-numbers.ts';
import { runInBatches } from '../../../app/bulk.ts';
import type { DialInUserView } from '../../../app/dialin-user-view.ts';
import { Body, DialInUser, ERROR_RESPONSES, GroupSummary, IdentityParams, Nullable, Outcome, Str } from '../schemas.ts';
import { runOne, scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Dial-in users'];

const EnableFields = {
  BridgeName: Type.Optional(Nullable(Str())),
  BridgeId: Type.Optional(Nullable(Str())),
  ServiceNumber: Type.Optional(Nullable(Str())),
  TollFreeServiceNumber: Type.Optional(Nullable(Str())),
  ReplaceProvider: Type.Optional(Type.Boolean()),
  AllowPstnOnlyMeetings: Type.Optional(Nullable(Type.Boolean())),
  SendEmail: Type.Optional(Type.Boolean()),
  SendEmailToAddress: Type.Optional(Nullable(Str())),
};

const SendInfoBody = Body({ SendEmailToAddress: Type.Optional(Nullable(Str())) });

/**
 * Enable-, Disable- and Set-CsOnlineDialInConferencingUser and the default-number swap. The
 * helpdesk's three actions (reset PIN, reset conference ID, send conference info) are their own
 * routes, so the role check is per route and the body can never smuggle in another change.
 */
export function dialInApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);
  const one = Outcome(DialInUser);

  r.post('/users/:identity/dialin/enable', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Enable a user (Enable-CsOnlineDialInConferencingUser); the answer shows the new PIN once',
      params: IdentityParams,
      body: Body({ ...EnableFields, ConferenceId: Type.Optional(Nullable(Str())) }),
      response: { 200: one, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const b = req.body;
    return runOne<DialInUserView>(s, req.params.identity, enableUsers(s, { bridge: { name: b.BridgeName, id: b.BridgeId }, serviceNumber: b.ServiceNumber, tollFreeServiceNumber: b.TollFreeServiceNumber, conferenceId: b.ConferenceId, replaceProvider: b.ReplaceProvider ?? false, allowPstnOnlyMeetings: b.AllowPstnOnlyMeetings, sendEmail: b.SendEmail ?? false, sendEmailToAddress: b.SendEmailToAddress, returnPin: true }));
  });

  r.post('/dialin-users/enable', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Enable up to 1,000 users in one call (batched, resumable); PINs go out in the welcome mails only',
      body: Body({ Identities: Type.Array(Str(), { minItems: 1, maxItems: 1000 }), ...EnableFields }),
      response: { 200: GroupSummary, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const b = req.body;
    const results: { Identity: string; User: string | null; Outcome: string; Code: string | null; Reason: string | null; Result: DialInUserView | null }[] = [];
    const summary = await runInBatches(s, b.Identities, enableUsers(s, { bridge: { name: b.BridgeName, id: b.BridgeId }, serviceNumber: b.ServiceNumber, tollFreeServiceNumber: b.TollFreeServiceNumber, replaceProvider: b.ReplaceProvider ?? false, allowPstnOnlyMeetings: b.AllowPstnOnlyMeetings, sendEmail: b.SendEmail ?? false, sendEmailToAddress: b.SendEmailToAddress }), {
      onResult: (x) => results.push({ Identity: x.input, User: x.user ?? null, Outcome: x.outcome, Code: x.code ?? null, Reason: x.reason ?? null, Result: (x.output as DialInUserView | undefined) ?? null }),
    });
    return { Total: b.Identities.length, Done: summary.done, Unchanged: summary.unchanged, Skipped: summary.skipped, Results: results };
  });

  r.post('/users/:identity/dialin/disable', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Take dial-in away from a user (Disable-CsOnlineDialInConferencingUser)',
      params: IdentityParams,
      body: Body({ SendEmail: Type.Optional(Type.Boolean()), SendEmailToAddress: Type.Optional(Nullable(Str())) }),
      response: { 200: Outcome(Type.Object({ Identity: Type.String(), Provider: Type.String(), ConferenceId: Type.Null() })), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<{ Identity: string; Provider: string; ConferenceId: null }>(s, req.params.identity, disableUsers(s, { sendEmail: req.body.SendEmail ?? false, sendEmailToAddress: req.body.SendEmailToAddress }));
  });

  r.patch('/users/:identity/dialin', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: "Change a user's bridge, default numbers, conference ID or AllowPstnOnlyMeetings (Set-CsOnlineDialInConferencingUser)",
      params: IdentityParams,
      body: Body({
        BridgeName: Type.Optional(Nullable(Str())),
        BridgeId: Type.Optional(Nullable(Str())),
        ServiceNumber: Type.Optional(Nullable(Str())),
        TollFreeServiceNumber: Type.Optional(Nullable(Str())),
        ConferenceId: Type.Optional(Nullable(Str())),
        AllowPstnOnlyMeetings: Type.Optional(Nullable(Type.Boolean())),
      }),
      response: { 200: one, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const b = req.body;
    return runOne<DialInUserView>(s, req.params.identity, setDialInUsers(s, { bridge: { name: b.BridgeName, id: b.BridgeId }, serviceNumber: b.ServiceNumber, tollFreeServiceNumber: b.TollFreeServiceNumber, conferenceId: b.ConferenceId, allowPstnOnlyMeetings: b.AllowPstnOnlyMeetings }));
  });

  r.post('/users/:identity/dialin/reset-pin', {
    config: { access: 'staff' },
    schema: { tags, summary: 'Reset the leader PIN (-ResetLeaderPin): the new PIN is in this answer only', params: IdentityParams, response: { 200: one, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<DialInUserView>(s, req.params.identity, setDialInUsers(s, { resetLeaderPin: true }));
  });

  r.post('/users/:identity/dialin/reset-conference-id', {
    config: { access: 'staff' },
    schema: { tags, summary: 'Give the user a new conference ID (-ResetConferenceId)', params: IdentityParams, response: { 200: one, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<DialInUserView>(s, req.params.identity, setDialInUsers(s, { resetConferenceId: true }));
  });

  r.post('/users/:identity/dialin/send-conference-info', {
    config: { access: 'staff' },
    schema: { tags, summary: 'Mail the conference ID and numbers, never the PIN (-SendEmail [-SendEmailToAddress])', params: IdentityParams, body: SendInfoBody, response: { 200: one, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<DialInUserView>(s, req.params.identity, setDialInUsers(s, { sendEmail: true, sendEmailToAddress: req.body?.SendEmailToAddress ?? null }));
  });

  r.post('/dialin-users/default-number', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Move every user of a bridge from one default number to another (Set-CsOnlineDialInConferencingUserDefaultNumber)',
      body: Body({ FromNumber: Nullable(Str()), ToNumber: Str(), NumberType: Str(), BridgeName: Type.Optional(Nullable(Str())), BridgeId: Type.Optional(Nullable(Str())) }),
      response: { 200: Type.Object({ MovedUsers: Type.Integer(), FromNumber: Nullable(Type.String()), ToNumber: Type.String(), NumberType: Type.String(), BridgeName: Type.String() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const b = req.body;
    return swapDefaultNumber(scopeOfRequest(deps, req), { bridge: { name: b.BridgeName, id: b.BridgeId }, fromNumber: b.FromNumber, toNumber: b.ToNumber, numberType: toNumberType(b.NumberType, 'NumberType') });
  });
}
