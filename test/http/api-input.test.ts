import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb, type Dump } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { appFor, bearer, tokenFor } from './harness.ts';

interface Bad {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  body?: unknown;
  raw?: { payload: string | Buffer; type: string };
  code: string;
  field?: string;
}

const alice = 'alice0@contoso.com';
const u = (path: string) => `/api/v1/users/${encodeURIComponent(alice)}${path}`;

/** Bad inputs over the API: each must be refused with its stable code, never a 500, and change nothing. */
const BAD: Bad[] = [
  // tenant settings
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { PinLength: 3 }, code: 'SETTING_INVALID', field: 'PinLength' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { PinLength: 13 }, code: 'SETTING_INVALID', field: 'PinLength' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { PinLength: '5' }, code: 'INVALID_ARGUMENT', field: 'PinLength' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { PinLength: 5.5 }, code: 'INVALID_ARGUMENT', field: 'PinLength' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { AutomaticallySendEmailsToUsers: 'false' }, code: 'INVALID_ARGUMENT', field: 'AutomaticallySendEmailsToUsers' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { AutomaticallySendEmailsToUsers: null }, code: 'INVALID_ARGUMENT', field: 'AutomaticallySendEmailsToUsers' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromOverride: true }, code: 'SENDER_OVERRIDE_INCOMPLETE', field: 'SendEmailFromOverride' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromAddress: 'amos.marble' }, code: 'EMAIL_INVALID', field: 'SendEmailFromAddress' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromAddress: 'a@contoso.com\r\nBcc: evil@example.com' }, code: 'EMAIL_INVALID', field: 'SendEmailFromAddress' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromDisplayName: 'Amos\nBcc: evil@example.com' }, code: 'SETTING_INVALID', field: 'SendEmailFromDisplayName' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { EntryExitAnnouncementsType: 'Loud' }, code: 'SETTING_INVALID', field: 'EntryExitAnnouncementsType' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { DefaultLanguage: 'de' }, code: 'SETTING_INVALID', field: 'DefaultLanguage' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailOverride: true, SendEmailFromOverride: false }, code: 'CONFLICTING_PARAMETERS' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { MaskPstnNumbersType: 'NoMasking' }, code: 'UNKNOWN_PARAMETER', field: 'MaskPstnNumbersType' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { tenantId: 'someone-else', PinLength: 6 }, code: 'UNKNOWN_PARAMETER', field: 'tenantId' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: {}, code: 'MISSING_ARGUMENT' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: [], code: 'INVALID_ARGUMENT' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: '{"__proto__": {"admin": true}, "PinLength": 6}', type: 'application/json' }, code: 'INVALID_ARGUMENT' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: '{"constructor": {"prototype": {"x": 1}}}', type: 'application/json' }, code: 'INVALID_ARGUMENT' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: '{"PinLength": 6', type: 'application/json' }, code: 'INVALID_ARGUMENT' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: `{"PinLength": ${'['.repeat(1000)}${']'.repeat(1000)}}`, type: 'application/json' }, code: 'INVALID_ARGUMENT', field: 'PinLength' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: 'PinLength=6', type: 'text/plain' }, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: `{"SendEmailFromDisplayName": "${'x'.repeat(2 * 1024 * 1024)}"}`, type: 'application/json' }, code: 'REQUEST_TOO_LARGE' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: Buffer.from([0x7b, 0x22, 0x50, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), type: 'application/json' }, code: 'UNKNOWN_PARAMETER' },
  // directory
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'not a uri', DisplayName: 'X' }, code: 'USER_URI_INVALID', field: 'UserUri' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: '' }, code: 'DISPLAY_NAME_INVALID', field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'y'.repeat(300) }, code: 'DISPLAY_NAME_INVALID', field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', EmailAddress: 'x@contoso.com,y@contoso.com' }, code: 'EMAIL_INVALID', field: 'EmailAddress' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', Language: 'english please' }, code: 'LANGUAGE_INVALID', field: 'Language' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: alice, DisplayName: 'Again' }, code: 'USER_EXISTS', field: 'UserUri' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com' }, code: 'MISSING_ARGUMENT', field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', Role: 'admin' }, code: 'UNKNOWN_PARAMETER', field: 'Role' },
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: 'UserUri,DisplayName\nx@contoso.com,X\n', type: 'text/csv' }, code: 'CSV_INVALID' },
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: 'UserUri,DisplayName,EmailAddress,Language\nx@contoso.com,X,x@contoso.com,en\nbad,Y,y@contoso.com,en\n', type: 'text/csv' }, code: 'CSV_INVALID' },
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: Buffer.from('UserUri,DisplayName,EmailAddress,Language\nx@contoso.com,Ren\xe9,x@contoso.com,fr\n', 'latin1'), type: 'text/csv' }, code: 'CSV_INVALID' },
  { method: 'GET', url: '/api/v1/users?Limit=0', code: 'INVALID_ARGUMENT', field: 'Limit' },
  { method: 'GET', url: '/api/v1/users?Limit=abc', code: 'INVALID_ARGUMENT', field: 'Limit' },
  { method: 'GET', url: '/api/v1/users?Offset=-1', code: 'INVALID_ARGUMENT', field: 'Offset' },
  { method: 'GET', url: '/api/v1/users?Sort=name', code: 'UNKNOWN_PARAMETER', field: 'Sort' },
  { method: 'GET', url: '/api/v1/users/nobody@contoso.com', code: 'USER_NOT_FOUND', field: 'Identity' },
  { method: 'GET', url: '/api/v1/users/%0d%0a', code: 'INVALID_ARGUMENT', field: 'Identity' },
  // dial-in
  { method: 'POST', url: '/api/v1/users/nobody@contoso.com/dialin/reset-pin', code: 'USER_NOT_FOUND', field: 'Identity' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/reset-pin', code: 'USER_NOT_ENABLED', field: 'Identity' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { ConferenceId: '123' }, code: 'CONFERENCE_ID_INVALID', field: 'ConferenceId' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { ServiceNumber: 'call me' }, code: 'NUMBER_INVALID', field: 'ServiceNumber' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { ServiceNumber: '+18005550100' }, code: 'NUMBER_TYPE_MISMATCH', field: 'ServiceNumber' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { ServiceNumber: '+14255559999' }, code: 'NUMBER_NOT_ON_BRIDGE', field: 'ServiceNumber' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { BridgeName: 'No such bridge' }, code: 'BRIDGE_NOT_FOUND', field: 'BridgeName' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { SendEmailToAddress: 'x@contoso.com' }, code: 'CONFLICTING_PARAMETERS', field: 'SendEmailToAddress' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { AllowPstnOnlyMeetings: 'yes' }, code: 'INVALID_ARGUMENT', field: 'AllowPstnOnlyMeetings' },
  { method: 'POST', url: '/api/v1/dialin-users/enable', body: { Identities: [] }, code: 'INVALID_ARGUMENT', field: 'Identities' },
  { method: 'PATCH', url: u('/dialin'), body: { ConferenceId: '1234567' }, code: 'CONFERENCE_ID_INVALID', field: 'ConferenceId' },
  { method: 'PATCH', url: u('/dialin'), body: { TollFreeServiceNumber: '+14255550100' }, code: 'NUMBER_TYPE_MISMATCH', field: 'TollFreeServiceNumber' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: 'a@contoso.com, b@contoso.com' }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: 'a@contoso.com\r\nBcc: evil@example.com' }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: `${'a'.repeat(250)}@contoso.com` }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: 'nodomain' }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: '/api/v1/dialin-users/default-number', body: { FromNumber: '+14255550100', ToNumber: '+14255550100', NumberType: 'Toll' }, code: 'INVALID_ARGUMENT', field: 'ToNumber' },
  { method: 'POST', url: '/api/v1/dialin-users/default-number', body: { FromNumber: '+14255550100', ToNumber: '+14255550101', NumberType: 'Cheap' }, code: 'INVALID_ARGUMENT', field: 'NumberType' },
  // PINs
  { method: 'POST', url: u('/pin'), body: { Pin: '12a45' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '１２３４５' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '١٢٣٤٥' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: ' 13579' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '13579\n' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '+13579' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '1e4' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: 13579 }, code: 'INVALID_ARGUMENT', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: ['13579'] }, code: 'INVALID_ARGUMENT', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '135' }, code: 'PIN_TOO_SHORT', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '1357913579135' }, code: 'PIN_TOO_LONG', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '55555' }, code: 'PIN_COMMON_PATTERN', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '98765' }, code: 'PIN_COMMON_PATTERN', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '13579', PinHash: 'x' }, code: 'UNKNOWN_PARAMETER', field: 'PinHash' },
  { method: 'PATCH', url: '/api/v1/pin-policies/Global', body: { MinPasswordLength: 3 }, code: 'PIN_POLICY_INVALID', field: 'MinPasswordLength' },
  { method: 'PATCH', url: '/api/v1/pin-policies/Global', body: { PINLifetime: 30 }, code: 'PIN_POLICY_INVALID', field: 'PINHistoryCount' },
  { method: 'PATCH', url: '/api/v1/pin-policies/tag:Nope', body: { PINHistoryCount: 1 }, code: 'PIN_POLICY_NOT_FOUND', field: 'Identity' },
  { method: 'POST', url: '/api/v1/pin-policies', body: { Identity: 'tag:<script>' }, code: 'PIN_POLICY_INVALID', field: 'Identity' },
  { method: 'PUT', url: u('/pin-policy'), body: { PolicyName: 'site:Redmond' }, code: 'PIN_POLICY_INVALID', field: 'PolicyName' },
  // bridges and numbers
  { method: 'GET', url: '/api/v1/bridges/not-a-guid', code: 'INVALID_ARGUMENT', field: 'BridgeId' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: 'Conference Bridge' }, code: 'BRIDGE_EXISTS', field: 'Name' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: '' }, code: 'INVALID_ARGUMENT', field: 'Name' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '12' }, code: 'NUMBER_INVALID', field: 'Identity' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '+14255550100' }, code: 'NUMBER_EXISTS', field: 'Identity' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '+14255550177', PrimaryLanguage: 'xx-XX' }, code: 'LANGUAGE_INVALID', field: 'PrimaryLanguage' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '+14255550177', SecondaryLanguages: ['de-DE', 'fr-FR', 'it-IT', 'es-ES', 'ja-JP'] }, code: 'INVALID_ARGUMENT', field: 'SecondaryLanguages' },
  { method: 'DELETE', url: '/api/v1/service-numbers/%2B14255550100', code: 'NUMBER_IS_BRIDGE_DEFAULT', field: 'Identity' },
  { method: 'DELETE', url: '/api/v1/service-numbers/%2B19995550100', code: 'NUMBER_NOT_FOUND', field: 'Identity' },
  // third-party providers, mail
  { method: 'PUT', url: u('/acp'), body: { Name: 'X', Domain: 'not a domain' }, code: 'INVALID_ARGUMENT', field: 'Domain' },
  { method: 'PUT', url: u('/acp'), body: { Name: 'X', Domain: 'fabrikam.com', Url: 'javascript:alert(1)' }, code: 'INVALID_ARGUMENT', field: 'Url' },
  { method: 'GET', url: '/api/v1/outbox/00000000-0000-0000-0000-000000000000', code: 'OUTBOX_NOT_FOUND', field: 'Id' },
  { method: 'GET', url: '/api/v1/outbox?Limit=100000', code: 'INVALID_ARGUMENT', field: 'Limit' },
];

for (const dialect of DIALECTS) {
  describe(`API bad input (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let admin: string;
    let bridge: string;
    let cleanDump: (d: Dump) => Dump;

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550100']);
      await addUsers(t.scope, 'alice', 1);
      await addUsers(t.scope, 'bob', 1);
      await enable(t.scope, [`sip:${alice}`]);
      admin = await tokenFor(t.scope, 'admin');
      bridge = await tokenFor(t.scope, 'bridge');
      // Tokens record their last use: the only write a refused request may cause.
      cleanDump = (d) => ({ ...d, api_tokens: [] });
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it(`refuses ${BAD.length} bad requests with their stable code and field, never a 500, changing nothing`, async () => {
      const problems: string[] = [];
      for (const b of BAD) {
        const before = cleanDump(await dumpDb(t.ctx.db));
        const res = b.raw
          ? await app.inject({ method: b.method, url: b.url, headers: { ...bearer(admin), 'content-type': b.raw.type }, payload: b.raw.payload })
          : await app.inject({ method: b.method, url: b.url, headers: bearer(admin), ...(b.body === undefined ? {} : { payload: b.body as object }) });
        const label = `${b.method} ${b.url.slice(0, 60)} ${(JSON.stringify(b.body ?? b.raw?.type) ?? "").slice(0, 80)}`;
        const err = (() => {
          try {
            return res.json().error as { code: string; field?: string; message: string };
          } catch {
            return null;
          }
        })();
        if (res.statusCode < 400 || res.statusCode >= 500) problems.push(`${label}: status ${res.statusCode}`);
        if (!err || !(err.code in ERROR_CODES)) problems.push(`${label}: no registered code in ${res.body.slice(0, 200)}`);
        else if (err.code !== b.code) problems.push(`${label}: ${err.code} instead of ${b.code} (${err.message})`);
        else if (b.field && err.field !== b.field) problems.push(`${label}: field ${err.field} instead of ${b.field}`);
        if (JSON.stringify(cleanDump(await dumpDb(t.ctx.db))) !== JSON.stringify(before)) problems.push(`${label}: the database changed`);
      }
      assert.deepEqual(problems, []);
    });

    it('the bridge check refuses malformed bodies with a code, and anything it cannot read answers "not the leader"', async () => {
      for (const [body, code] of [
        [{ conferenceId: 1234567, pin: '13579' }, 'INVALID_ARGUMENT'],
        [{ conferenceId: '1234567' }, 'MISSING_ARGUMENT'],
        [{ conferenceId: '1234567', pin: '13579', tenant: 'x' }, 'UNKNOWN_PARAMETER'],
      ] as const) {
        const res = await app.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(bridge), payload: body });
        assert.equal(res.statusCode, 400);
        assert.equal(res.json().error.code, code);
      }
      for (const body of [{ conferenceId: '', pin: '' }, { conferenceId: 'abc', pin: '1' }, { conferenceId: '1234567', pin: '１２３４５' }]) {
        const res = await app.inject({ method: 'POST', url: '/api/v1/bridge/verify', headers: bearer(bridge), payload: body });
        assert.deepEqual(res.json(), { isLeader: false });
      }
    });

    if (dialect === DIALECTS[0]) {
      it('the CLI refuses the same inputs with the same codes', async () => {
        for (const [args, code] of [
          [['Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', '3'], 'SETTING_INVALID'],
          [['Set-CsClientPin', '-Identity', alice, '-Pin', '12a45'], 'PIN_NOT_DIGITS'],
          [['Set-CsOnlineDialInConferencingUser', '-Identity', alice, '-SendEmail', '-SendEmailToAddress', 'a@contoso.com, b@contoso.com'], 'EMAIL_INVALID'],
        ] as const) {
          const res = await runCli([...args], t.env);
          assert.match(res.stderr, new RegExp(`${code}:`), res.stderr);
          const api = BAD.find((b) => b.code === code);
          assert.ok(api, `the API battery covers ${code}`);
        }
      });
    }
  });
}
