import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { BRIDGE_LANGUAGES } from '../../../core/languages.ts';
import { getBridges, newBridge, setBridge } from '../../../app/bridges.ts';
import { getServiceNumbers, registerServiceNumber, setServiceNumber, unregisterServiceNumber } from '../../../app/service-numbers.ts';
import { Body, Bridge, ERROR_RESPONSES, Nullable, ServiceNumber, Str } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Bridges and numbers'];
const BridgeParams = Type.Object({ bridgeId: Str(4096, 'The bridge GUID.') });
const NumberParams = Type.Object({ number: Str(4096, 'The number in E.164, e.g. +14255551234.') });

/** New-/Get-/Set-CsOnlineDialInConferencingBridge and the service-number cmdlets. */
export function bridgesApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/bridges', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Bridges with their service numbers', querystring: Type.Object({ Name: Type.Optional(Str()) }, { additionalProperties: false }), response: { 200: Type.Array(Bridge), ...ERROR_RESPONSES } },
  }, async (req) => getBridges(scopeOfRequest(deps, req), { name: req.query.Name }));

  r.post('/bridges', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Create a bridge (the first is the tenant default)', body: Body({ Name: Str(), Region: Type.Optional(Nullable(Str())), SetDefault: Type.Optional(Type.Boolean()) }), response: { 201: Bridge, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const b = await newBridge(scopeOfRequest(deps, req), { name: req.body.Name, region: req.body.Region, setDefault: req.body.SetDefault ?? false });
    return reply.code(201).send(b);
  });

  r.get('/bridges/:bridgeId', {
    config: { access: 'admin' },
    schema: { tags, summary: 'One bridge', params: BridgeParams, response: { 200: Bridge, ...ERROR_RESPONSES } },
  }, async (req) => (await getBridges(scopeOfRequest(deps, req), { id: req.params.bridgeId }))[0]!);

  r.patch('/bridges/:bridgeId', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Set the default toll number, make it the default bridge, rename it, or give it a new "Find a local number" link; existing users keep their numbers',
      params: BridgeParams,
      body: Body({ DefaultServiceNumber: Type.Optional(Nullable(Str())), DefaultTollFreeServiceNumber: Type.Optional(Nullable(Str())), SetDefault: Type.Optional(Type.Boolean()), NewName: Type.Optional(Nullable(Str())), NewLocalNumbersLink: Type.Optional(Type.Boolean()) }),
      response: { 200: Bridge, ...ERROR_RESPONSES },
    },
  }, async (req) => setBridge(scopeOfRequest(deps, req), { id: req.params.bridgeId }, { defaultServiceNumber: req.body.DefaultServiceNumber, defaultTollFreeServiceNumber: req.body.DefaultTollFreeServiceNumber, setDefault: req.body.SetDefault ?? false, newName: req.body.NewName, newLocalNumbersLink: req.body.NewLocalNumbersLink ?? false }));

  r.get('/languages', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Languages a service number can announce in', response: { 200: Type.Array(Type.Object({ Id: Type.String() })), ...ERROR_RESPONSES } },
  }, async () => BRIDGE_LANGUAGES.map((l) => ({ Id: l })));

  r.get('/service-numbers', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Service numbers, by bridge or city',
      querystring: Type.Object({ BridgeName: Type.Optional(Str()), BridgeId: Type.Optional(Str()), City: Type.Optional(Str()), ResultSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) }, { additionalProperties: false }),
      response: { 200: Type.Array(ServiceNumber), ...ERROR_RESPONSES },
    },
  }, async (req) => getServiceNumbers(scopeOfRequest(deps, req), { bridge: { name: req.query.BridgeName, id: req.query.BridgeId }, city: req.query.City, resultSize: req.query.ResultSize }));

  r.post('/service-numbers', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Register a service number on a bridge',
      body: Body({ Identity: Str(), BridgeName: Type.Optional(Nullable(Str())), BridgeId: Type.Optional(Nullable(Str())), Type: Type.Optional(Nullable(Str())), City: Type.Optional(Nullable(Str())), PrimaryLanguage: Type.Optional(Nullable(Str())), SecondaryLanguages: Type.Optional(Type.Array(Str(), { maxItems: 8 })) }),
      response: { 201: ServiceNumber, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const b = req.body;
    const n = await registerServiceNumber(scopeOfRequest(deps, req), { number: b.Identity, bridge: { name: b.BridgeName, id: b.BridgeId }, type: b.Type, city: b.City, primaryLanguage: b.PrimaryLanguage, secondaryLanguages: b.SecondaryLanguages });
    return reply.code(201).send(n);
  });

  r.get('/service-numbers/:number', {
    config: { access: 'admin' },
    schema: { tags, summary: 'One service number', params: NumberParams, response: { 200: ServiceNumber, ...ERROR_RESPONSES } },
  }, async (req) => (await getServiceNumbers(scopeOfRequest(deps, req), { number: req.params.number }))[0]!);

  r.patch('/service-numbers/:number', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: "Set a number's languages or city",
      params: NumberParams,
      body: Body({ PrimaryLanguage: Type.Optional(Nullable(Str())), SecondaryLanguages: Type.Optional(Type.Array(Str(), { maxItems: 8 })), RestoreDefaultLanguages: Type.Optional(Type.Boolean()), City: Type.Optional(Nullable(Str())) }),
      response: { 200: ServiceNumber, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const b = req.body;
    return setServiceNumber(scopeOfRequest(deps, req), { number: req.params.number, primaryLanguage: b.PrimaryLanguage, secondaryLanguages: b.SecondaryLanguages, restoreDefaultLanguages: b.RestoreDefaultLanguages ?? false, city: b.City });
  });

  r.delete('/service-numbers/:number', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Unregister a number (refused while it is a bridge default or a user default)',
      params: NumberParams,
      querystring: Type.Object({ RemoveDefaultServiceNumber: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 200: ServiceNumber, ...ERROR_RESPONSES },
    },
  }, async (req) => unregisterServiceNumber(scopeOfRequest(deps, req), { number: req.params.number, bridge: {}, removeDefault: req.query.RemoveDefaultServiceNumber ?? false }));
}
