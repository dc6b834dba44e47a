import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb, type Dump } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { newPinPolicy } from '../../src/app/pin-policies.ts';
import { addDirectoryConnection } from '../../src/app/directory-connections.ts';
import type { TenantScope } from '../../src/app/context.ts';
import { appFor, bearer, otherTenant, tokenFor } from './harness.ts';

type Access = 'staff' | 'admin' | 'bridge';
type Role = 'admin' | 'helpdesk' | 'bridge';

interface Sample {
  identity: string;
  userId: string;
  bridgeId: string;
  number: string;
  policy: string;
  outboxId: string;
  conferenceId: string;
  pin: string;
}

interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** The OpenAPI path, e.g. /users/{identity}. */
  path: string;
  access: Access;
  body?: (x: Sample) => unknown;
  csv?: boolean;
}

/**
 * The expected access of every API route. The test fails when the API has a route this table
 * does not list (or the other way round), so a new route cannot escape the matrix.
 */
const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/tenant', access: 'staff' },
  { method: 'GET', path: '/tenant-settings', access: 'admin' },
  { method: 'PATCH', path: '/tenant-settings', access: 'admin', body: () => ({ PinLength: 6 }) },
  { method: 'DELETE', path: '/tenant-settings', access: 'admin' },
  { method: 'GET', path: '/users', access: 'staff' },
  { method: 'POST', path: '/users', access: 'admin', body: () => ({ UserUri: 'newcomer@contoso.com', DisplayName: 'Newcomer' }) },
  { method: 'POST', path: '/users/import', access: 'admin', csv: true },
  { method: 'GET', path: '/users/{identity}', access: 'staff' },
  { method: 'GET', path: '/dialin-users', access: 'staff' },
  { method: 'GET', path: '/users/{identity}/dialin', access: 'staff' },
  { method: 'POST', path: '/users/{identity}/dialin/enable', access: 'admin', body: () => ({}) },
  { method: 'POST', path: '/dialin-users/enable', access: 'admin', body: (x) => ({ Identities: [x.identity] }) },
  { method: 'PATCH', path: '/users/{identity}/dialin', access: 'admin', body: () => ({ AllowPstnOnlyMeetings: true }) },
  { method: 'POST', path: '/users/{identity}/dialin/reset-pin', access: 'staff' },
  { method: 'POST', path: '/users/{identity}/dialin/reset-conference-id', access: 'staff' },
  { method: 'POST', path: '/users/{identity}/dialin/send-conference-info', access: 'staff', body: () => ({}) },
  { method: 'POST', path: '/dialin-users/default-number', access: 'admin', body: (x) => ({ FromNumber: null, ToNumber: x.number, NumberType: 'Toll' }) },
  { method: 'GET', path: '/users/{identity}/pin', access: 'staff' },
  { method: 'POST', path: '/users/{identity}/pin', access: 'admin', body: () => ({}) },
  { method: 'POST', path: '/users/{identity}/pin/lock', access: 'admin' },
  { method: 'POST', path: '/users/{identity}/pin/unlock', access: 'admin' },
  { method: 'PUT', path: '/users/{identity}/pin-policy', access: 'admin', body: () => ({ PolicyName: null }) },
  { method: 'GET', path: '/pin-policies', access: 'admin' },
  { method: 'POST', path: '/pin-policies', access: 'admin', body: () => ({ Identity: 'tag:Another' }) },
  { method: 'GET', path: '/pin-policies/{policy}', access: 'admin' },
  { method: 'PATCH', path: '/pin-policies/{policy}', access: 'admin', body: () => ({ MinPasswordLength: 6 }) },
  { method: 'DELETE', path: '/pin-policies/{policy}', access: 'admin' },
  { method: 'GET', path: '/bridges', access: 'admin' },
  { method: 'POST', path: '/bridges', access: 'admin', body: () => ({ Name: 'Second bridge' }) },
  { method: 'GET', path: '/bridges/{bridgeId}', access: 'admin' },
  { method: 'PATCH', path: '/bridges/{bridgeId}', access: 'admin', body: () => ({ SetDefault: true }) },
  { method: 'GET', path: '/languages', access: 'admin' },
  { method: 'GET', path: '/service-numbers', access: 'admin' },
  { method: 'POST', path: '/service-numbers', access: 'admin', body: (x) => ({ Identity: '+14255550199', BridgeId: x.bridgeId }) },
  { method: 'GET', path: '/service-numbers/{number}', access: 'admin' },
  { method: 'PATCH', path: '/service-numbers/{number}', access: 'admin', body: () => ({ City: 'Redmond' }) },
  { method: 'DELETE', path: '/service-numbers/{number}', access: 'admin' },
  { method: 'GET', path: '/acp', access: 'admin' },
  { method: 'GET', path: '/users/{identity}/acp', access: 'admin' },
  { method: 'PUT', path: '/users/{identity}/acp', access: 'admin', body: () => ({ Name: 'Fabrikam ACP', Domain: 'fabrikam.com' }) },
  { method: 'DELETE', path: '/users/{identity}/acp', access: 'admin' },
  { method: 'GET', path: '/outbox', access: 'admin' },
  { method: 'GET', path: '/outbox/counts', access: 'admin' },
  { method: 'GET', path: '/outbox/{id}', access: 'admin' },
  { method: 'GET', path: '/mail/status', access: 'admin' },
  { method: 'POST', path: '/mail/resume', access: 'admin' },
  { method: 'POST', path: '/outbox/retry', access: 'admin', body: () => ({ Status: 'failed' }) },
  { method: 'POST', path: '/outbox/purge', access: 'admin', body: () => ({ OlderThanDays: 30 }) },
  { method: 'GET', path: '/templates', access: 'admin' },
  { method: 'GET', path: '/templates/{kind}/{language}/{part}', access: 'admin' },
  { method: 'PUT', path: '/templates/{kind}/{language}/{part}', access: 'admin', body: () => ({ Body: 'Your conference {{ conferenceId }}' }) },
  { method: 'DELETE', path: '/templates/{kind}/{language}', access: 'admin' },
  { method: 'POST', path: '/templates/preview', access: 'admin', body: (x) => ({ Kind: 'welcome', Language: 'fr', Identity: x.identity }) },
  { method: 'POST', path: '/templates/test-send', access: 'admin', body: () => ({ Kind: 'welcome', Language: 'en', To: 'me@contoso.com' }) },
  { method: 'GET', path: '/audit', access: 'admin' },
  { method: 'GET', path: '/directories', access: 'admin' },
  { method: 'POST', path: '/directories', access: 'admin', body: () => ({ Name: 'corp2', Url: 'ldaps://127.0.0.1:1', Base: 'dc=contoso,dc=com' }) },
  { method: 'GET', path: '/directories/{name}', access: 'admin' },
  { method: 'PUT', path: '/directories/{name}', access: 'admin', body: () => ({ Url: 'ldaps://127.0.0.1:2', Base: 'dc=contoso,dc=com' }) },
  { method: 'POST', path: '/directories/{name}/test', access: 'admin' },
  { method: 'POST', path: '/directories/{name}/sync', access: 'admin', body: () => ({ DryRun: true }) },
  { method: 'GET', path: '/directories/{name}/runs', access: 'admin' },
  { method: 'DELETE', path: '/directories/{name}', access: 'admin' },
  { method: 'POST', path: '/users/{identity}/dialin/disable', access: 'admin', body: () => ({}) },
  { method: 'POST', path: '/bridge/verify', access: 'bridge', body: (x) => ({ conferenceId: x.conferenceId, pin: x.pin }) },
];

const ALLOWED: Record<Access, Role[]> = { staff: ['admin', 'helpdesk'], admin: ['admin'], bridge: ['bridge'] };

function url(r: RouteCase, x: Sample): string {
  const path = r.path
    .replace('{identity}', encodeURIComponent(x.identity))
    .replace('{bridgeId}', x.bridgeId)
    .replace('{number}', encodeURIComponent(x.number))
    .replace('{policy}', encodeURIComponent(x.policy))
    .replace('{id}', x.outboxId)
    .replace('{kind}', 'welcome')
    .replace('{language}', 'fr')
    .replace('{part}', 'subject')
    .replace('{name}', 'corp');
  return `/api/v1${path}`;
}

async function call(app: FastifyInstance, r: RouteCase, x: Sample, headers: Record<string, string>) {
  if (r.csv) return app.inject({ method: r.method, url: url(r, x), headers: { ...headers, 'content-type': 'text/csv' }, payload: 'UserUri,DisplayName,EmailAddress,Language\nimported@contoso.com,Imported,imported@contoso.com,en\n' });
  const body = r.body?.(x);
  return app.inject({ method: r.method, url: url(r, x), headers, ...(body === undefined ? {} : { payload: body as object }) });
}

/** Every row that belongs to the tenant, for an exact before/after comparison. */
function tenantRows(d: Dump, tenantId: string): Dump {
  return Object.fromEntries(Object.entries(d).map(([t, rows]) => [t, rows.filter((r) => r.tenant_id === tenantId || (t === 'tenants' && r.id === tenantId))]));
}

for (const dialect of DIALECTS) {
  describe(`API access matrix: every route × role × tenant (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let other: TenantScope;
    const tokens = {} as Record<Role, string>;
    const otherTokens = {} as Record<Role, string>;
    let sample: Sample;

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      const bridgeId = await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550100']);
      const [alice] = await addUsers(t.scope, 'alice', 1);
      const res = await enable(t.scope, [alice!]);
      await newPinPolicy(t.scope, 'tag:Strict', { MinPasswordLength: 8 });
      await addDirectoryConnection(t.scope, { name: 'corp', url: 'ldaps://127.0.0.1:1', base: 'dc=contoso,dc=com' });
      const outbox = await t.ctx.db.kysely.selectFrom('outbox').select('id').where('tenant_id', '=', t.scope.tenant.id).executeTakeFirstOrThrow();
      const aliceRow = await t.ctx.db.kysely.selectFrom('users').select('id').where('sip', '=', alice!).executeTakeFirstOrThrow();
      sample = { identity: alice!, userId: aliceRow.id, bridgeId, number: '+14255550101', policy: 'tag:Strict', outboxId: outbox.id, conferenceId: res[0]!.output!.ConferenceId as string, pin: res[0]!.output!.LeaderPin as string };
      other = await otherTenant(t);
      await bridgeWithNumbers(other, 'Fabrikam Bridge', '+33123456789');
      for (const role of ['admin', 'helpdesk', 'bridge'] as Role[]) {
        tokens[role] = await tokenFor(t.scope, role);
        otherTokens[role] = await tokenFor(other, role);
      }
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('the table lists exactly the routes of the OpenAPI document', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
      const listed = ROUTES.map((r) => `${r.method} /api/v1${r.path}`).sort();
      assert.deepEqual(documented, listed);
    });

    it('without credentials every route answers 401 UNAUTHENTICATED, and a bad token too', async () => {
      for (const r of ROUTES) {
        for (const headers of [{}, bearer('dlt_not-a-real-token-at-all-000000000000000000')]) {
          const res = await call(app, r, sample, headers);
          assert.equal(res.statusCode, 401, `${r.method} ${r.path}`);
          assert.equal(res.json().error.code, 'UNAUTHENTICATED');
        }
      }
    });

    it("another tenant's credentials never reach this tenant's objects: 404 or their own (empty) data, and nothing here changes", async () => {
      const before = tenantRows(await dumpDb(t.ctx.db), t.scope.tenant.id);
      for (const r of ROUTES) {
        for (const role of ALLOWED[r.access]) {
          const res = await call(app, r, sample, bearer(otherTokens[role]));
          assert.notEqual(res.statusCode, 500, `${role} ${r.method} ${r.path}: ${res.body}`);
          if (/\{(identity|bridgeId|number|policy|id|name)\}/.test(r.path) || r.access === 'bridge' || r.path === '/dialin-users/enable') {
            if (r.access === 'bridge') assert.deepEqual(res.json(), { isLeader: false }, `${r.method} ${r.path}`);
            else if (r.path === '/dialin-users/enable') assert.equal(res.json().Skipped, 1);
            else assert.equal(res.statusCode, 404, `${role} ${r.method} ${r.path}: ${res.body}`);
          }
          // What the request itself names may be echoed in a 404 message; nothing else of this tenant may appear.
          const asked = decodeURIComponent(url(r, sample)) + JSON.stringify(r.body?.(sample) ?? '');
          for (const secret of [sample.identity, sample.userId, 'Alice 0', sample.bridgeId, sample.outboxId, sample.conferenceId, t.scope.tenant.id]) {
            if (!asked.includes(secret)) assert.ok(!res.body.includes(secret), `${role} ${r.method} ${r.path} leaked ${secret}`);
          }
        }
      }
      assert.deepEqual(tenantRows(await dumpDb(t.ctx.db), t.scope.tenant.id), before);
    });

    it('a role outside the route’s access gets 403 FORBIDDEN before anything runs; allowed roles get through', async () => {
      const unexpected: string[] = [];
      for (const r of ROUTES) {
        for (const role of ['bridge', 'helpdesk', 'admin'] as Role[]) {
          const allowed = ALLOWED[r.access].includes(role);
          const before = allowed ? null : await dumpDb(t.ctx.db);
          const res = await call(app, r, sample, bearer(tokens[role]));
          if (allowed) {
            if ([401, 403, 500].includes(res.statusCode)) unexpected.push(`${role} ${r.method} ${r.path} refused: ${res.statusCode} ${res.body}`);
          } else {
            if (res.statusCode !== 403 || res.json().error.code !== 'FORBIDDEN') unexpected.push(`${role} ${r.method} ${r.path} allowed: ${res.statusCode}`);
            const after = await dumpDb(t.ctx.db);
            // api_tokens.last_used_at moves on first use; nothing else may.
            delete (before as Dump).api_tokens;
            delete after.api_tokens;
            assert.deepEqual(after, before, `${role} ${r.method} ${r.path} changed data`);
          }
        }
      }
      assert.deepEqual(unexpected, []);
    });
  });
}
