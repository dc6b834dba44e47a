import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { addDirectoryConnection, editDirectoryConnection, listDirectoryConnections, removeDirectoryConnection, showDirectoryConnection, type NewDirectoryConnection } from '../../../app/directory-connections.ts';
import { directoryStatus, syncDirectory, testDirectory } from '../../../app/directory-sync.ts';
import { Body, ERROR_RESPONSES, Nullable, Str } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['Directory'];
const NameParams = Type.Object({ name: Str(64, 'The connection name.') });
/** Answers are the objects `dialin directory … --json` prints. */
const Loose = Type.Object({}, { additionalProperties: true });

/** The settings of a connection, in a POST (with its Name) and in a PUT (which replaces them). */
const SETTINGS = {
  Url: Str(1024, 'ldaps://host[:port] or ldap://host[:port] (StartTLS)'),
  Base: Str(),
  BindDn: Type.Optional(Nullable(Str())),
  Password: Type.Optional(Nullable(Str(1024, 'Sealed under the master key, never answered. In a PUT, left out: the kept one stays (same BindDn)'))),
  Kind: Type.Optional(Nullable(Str(16, 'openldap or ad'))),
  LicenceGroup: Type.Optional(Nullable(Str())),
  Filter: Type.Optional(Nullable(Str())),
  CaFile: Type.Optional(Nullable(Str(1024, 'A PEM file on the server'))),
  CaPem: Type.Optional(Nullable(Str(65536, 'The CA certificate(s) as PEM text, kept with the connection'))),
  Interval: Type.Optional(Nullable(Str(16, 'e.g. 5m'))),
  MaxDisable: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  Map: Type.Optional(Type.Array(Str(256, 'field=attribute'), { maxItems: 32 })),
  InsecurePlaintext: Type.Optional(Type.Boolean()),
};
const SettingsBody = Type.Object(SETTINGS);

function settingsOf(b: Static<typeof SettingsBody>): Omit<NewDirectoryConnection, 'name'> {
  return {
    url: b.Url,
    base: b.Base,
    bindDn: b.BindDn,
    password: b.Password,
    kind: b.Kind,
    licenceGroup: b.LicenceGroup,
    filter: b.Filter,
    caFile: b.CaFile,
    caPem: b.CaPem,
    interval: b.Interval,
    maxDisable: b.MaxDisable === undefined || b.MaxDisable === null ? null : String(b.MaxDisable),
    map: b.Map ?? [],
    insecurePlaintext: b.InsecurePlaintext ?? false,
  };
}

/** The same use-cases as `dialin directory add|list|show|remove|test|sync|status`. */
export function directoriesApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);

  r.get('/directories', {
    config: { access: 'admin' },
    schema: { tags, summary: 'The tenant\'s directory connections (never the bind password)', response: { 200: Type.Array(Loose), ...ERROR_RESPONSES } },
  }, async (req) => listDirectoryConnections(scopeOfRequest(deps, req)));

  r.post('/directories', {
    config: { access: 'admin', multiline: ['CaPem'] },
    schema: {
      tags,
      summary: 'Add a directory connection; the password is sealed under the master key and never answered',
      body: Body({ Name: Str(64), ...SETTINGS }),
      response: { 201: Loose, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const view = await addDirectoryConnection(scopeOfRequest(deps, req), { name: req.body.Name, ...settingsOf(req.body) });
    return reply.code(201).send(view);
  });

  r.get('/directories/:name', {
    config: { access: 'admin' },
    schema: { tags, summary: 'One connection with its mapping', params: NameParams, response: { 200: Loose, ...ERROR_RESPONSES } },
  }, async (req) => showDirectoryConnection(scopeOfRequest(deps, req), req.params.name));

  r.put('/directories/:name', {
    config: { access: 'admin', multiline: ['CaPem'] },
    schema: { tags, summary: 'Replace the settings of a connection; a change of server, base, kind, filter, licence group or mapping makes the next sync a full one', params: NameParams, body: Body(SETTINGS), response: { 200: Loose, ...ERROR_RESPONSES } },
  }, async (req) => editDirectoryConnection(scopeOfRequest(deps, req), req.params.name, settingsOf(req.body)));

  r.delete('/directories/:name', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Remove a connection; its users stay, no longer linked', params: NameParams, response: { 200: Loose, ...ERROR_RESPONSES } },
  }, async (req) => removeDirectoryConnection(scopeOfRequest(deps, req), req.params.name));

  r.post('/directories/:name/test', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Bind, count entries and licence group members, map three samples; changes nothing', params: NameParams, response: { 200: Loose, ...ERROR_RESPONSES } },
  }, async (req) => testDirectory(scopeOfRequest(deps, req), req.params.name));

  r.post('/directories/:name/sync', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Sync now. Status is applied, dry-run, or held (more disables than the limit: nothing changed; send AllowMassDisable to approve)',
      params: NameParams,
      body: Body({ DryRun: Type.Optional(Type.Boolean()), Full: Type.Optional(Type.Boolean()), AllowMassDisable: Type.Optional(Type.Boolean()) }),
      response: { 200: Loose, ...ERROR_RESPONSES },
    },
  }, async (req) => syncDirectory(scopeOfRequest(deps, req), req.params.name, { dryRun: req.body.DryRun ?? false, full: req.body.Full ?? false, allowMassDisable: req.body.AllowMassDisable ?? false }));

  r.get('/directories/:name/runs', {
    config: { access: 'admin' },
    schema: { tags, summary: 'The last sync runs: counts, skipped entries with reasons, errors', params: NameParams, querystring: Type.Object({ Limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }), response: { 200: Type.Array(Loose), ...ERROR_RESPONSES } },
  }, async (req) => directoryStatus(scopeOfRequest(deps, req), { name: req.params.name, limit: req.query.Limit ?? 10 }));
}
