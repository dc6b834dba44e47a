import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import type { PinPolicy as Policy } from '../../../core/pin-policy.ts';
import { lockPin, pinInfo, setClientPin, unlockPin, type PinInfo as PinInfoView } from '../../../app/pins.ts';
import { getPinPolicies, grantPinPolicy, newPinPolicy, removePinPolicy, setPinPolicy } from '../../../app/pin-policies.ts';
import { perUser } from '../../../app/bulk.ts';
import { Body, ERROR_RESPONSES, IdentityParams, Nullable, Outcome, PinInfo, PinPolicy, PinPolicyFields, Str } from '../schemas.ts';
import { runOne, scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['PINs'];
const PolicyParams = Type.Object({ policy: Str(4096, 'Global, site:NAME or tag:NAME.') });

/** Set-CsClientPin, Get-CsClientPinInfo, Lock-/Unlock-CsClientPin and the CsPinPolicy cmdlets. */
export function pinsApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/users/:identity/pin', {
    config: { access: 'staff' },
    schema: { tags, summary: 'Whether the PIN is set or locked out, when it changed and expires (never the PIN)', params: IdentityParams, response: { 200: PinInfo, ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return (await runOne<PinInfoView>(s, req.params.identity, perUser(async (trx, u) => ({ outcome: 'unchanged', output: { ...(await pinInfo(trx, s, u)) } })))).Result!;
  });

  r.post('/users/:identity/pin', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Set a chosen or generated PIN without any mail (Set-CsClientPin); the PIN is in this answer only',
      params: IdentityParams,
      body: Body({ Pin: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))) }),
      response: { 200: Type.Object({ Identity: Type.String(), Pin: Type.String() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const pin = req.body?.Pin ?? null;
    return (await runOne<{ Identity: string; Pin: string }>(s, req.params.identity, perUser(async (trx, u) => ({ outcome: 'done', output: { Identity: u.sip, Pin: (await setClientPin(trx, s, u, pin)).pin } })))).Result!;
  });

  r.post('/users/:identity/pin/lock', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Lock the PIN: the bridge refuses it until unlocked (Lock-CsClientPin)', params: IdentityParams, response: { 200: Outcome(PinInfo), ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<PinInfoView>(s, req.params.identity, perUser(async (trx, u) => {
      if (u.pin_locked === 1) return { outcome: 'unchanged', reason: 'PIN already locked', output: { ...(await pinInfo(trx, s, u)) } };
      await lockPin(trx, s, u);
      return { outcome: 'done', output: { ...(await pinInfo(trx, s, { ...u, pin_locked: 1 })) } };
    }));
  });

  r.post('/users/:identity/pin/unlock', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Unlock the PIN and clear the failure counters (Unlock-CsClientPin)', params: IdentityParams, response: { 200: Outcome(PinInfo), ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    return runOne<PinInfoView>(s, req.params.identity, perUser(async (trx, u) => {
      await unlockPin(trx, s, u);
      return { outcome: 'done', output: { ...(await pinInfo(trx, s, { ...u, pin_locked: 0, pin_locked_until: null })) } };
    }));
  });

  r.put('/users/:identity/pin-policy', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Grant a per-user (tag:) policy, or null for the global one (Grant-CsPinPolicy)', params: IdentityParams, body: Body({ PolicyName: Nullable(Str()) }), response: { 200: Type.Object({ Identity: Type.String(), PinPolicy: Type.String() }), ...ERROR_RESPONSES } },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const name = req.body.PolicyName;
    return (await runOne<{ Identity: string; PinPolicy: string }>(s, req.params.identity, perUser(async (trx, u) => {
      await grantPinPolicy(trx, s, u, name);
      return { outcome: 'done', output: { Identity: u.sip, PinPolicy: name ?? 'Global' } };
    }))).Result!;
  });

  r.get('/pin-policies', {
    config: { access: 'admin' },
    schema: { tags, summary: 'PIN policies (the global one always exists)', querystring: Type.Object({ Filter: Type.Optional(Str()) }, { additionalProperties: false }), response: { 200: Type.Array(PinPolicy), ...ERROR_RESPONSES } },
  }, async (req) => getPinPolicies(scopeOfRequest(deps, req), { filter: req.query.Filter }));

  r.post('/pin-policies', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Create a site or per-user PIN policy (New-CsPinPolicy)', body: Body({ Identity: Str(), ...PinPolicyFields }), response: { 201: PinPolicy, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const { Identity, ...fields } = req.body;
    return reply.code(201).send(await newPinPolicy(scopeOfRequest(deps, req), Identity, fields as Partial<Policy>));
  });

  r.get('/pin-policies/:policy', {
    config: { access: 'admin' },
    schema: { tags, summary: 'One PIN policy', params: PolicyParams, response: { 200: PinPolicy, ...ERROR_RESPONSES } },
  }, async (req) => (await getPinPolicies(scopeOfRequest(deps, req), { identity: req.params.policy }))[0]!);

  r.patch('/pin-policies/:policy', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Change a PIN policy (Set-CsPinPolicy)', params: PolicyParams, body: Body(PinPolicyFields), response: { 200: PinPolicy, ...ERROR_RESPONSES } },
  }, async (req) => {
    if (Object.keys(req.body).length === 0) throw new AppError('MISSING_ARGUMENT', 'Give at least one policy value to change.');
    return setPinPolicy(scopeOfRequest(deps, req), req.params.policy, req.body as Partial<Policy>);
  });

  r.delete('/pin-policies/:policy', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Remove a PIN policy (removing Global restores its defaults)', params: PolicyParams, response: { 200: Type.Object({ Identity: Type.String(), Removed: Type.Boolean() }), ...ERROR_RESPONSES } },
  }, async (req) => {
    await removePinPolicy(scopeOfRequest(deps, req), req.params.policy);
    return { Identity: req.params.policy, Removed: true };
  });
}
