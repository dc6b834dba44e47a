import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { dumpDb, type Dump } from '../support/db-dump.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { appFor, bearer, signIn, tokenFor } from './harness.ts';

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
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromAddress: 'a@contoso.com\r\nBcc: evil@example.com' }, code: 'TEXT_INVALID', field: 'SendEmailFromAddress' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromDisplayName: 'Amos\nBcc: evil@example.com' }, code: 'TEXT_INVALID', field: 'SendEmailFromDisplayName' },
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
  { method: 'PATCH', url: '/api/v1/tenant-settings', raw: { payload: Buffer.from([0x7b, 0x22, 0x50, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), type: 'application/json' }, code: 'TEXT_INVALID', field: 'body' },
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
  { method: 'GET', url: '/api/v1/users/%0d%0a', code: 'TEXT_INVALID', field: 'Identity' },
  // dial-in
  { method: 'POST', url: '/api/v1/users/nobody@contoso.com/dialin/reset-pin', code: 'USER_NOT_FOUND', field: 'Identity' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/reset-pin', code: 'USER_NOT_ENABLED', field: 'Identity' },
  // a route that takes no body refuses one, rather than ignoring it and resetting to a random PIN (issue 10, defect 9)
  { method: 'POST', url: u('/dialin/reset-pin'), body: { Pin: '48213957' }, code: 'UNKNOWN_PARAMETER', field: 'Pin' },
  { method: 'POST', url: u('/pin/lock'), body: { Force: true }, code: 'UNKNOWN_PARAMETER', field: 'Force' },
  { method: 'DELETE', url: '/api/v1/tenant-settings', body: { PinLength: 6 }, code: 'UNKNOWN_PARAMETER', field: 'PinLength' },
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
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: 'a@contoso.com\r\nBcc: evil@example.com' }, code: 'TEXT_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: `${'a'.repeat(250)}@contoso.com` }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: 'nodomain' }, code: 'EMAIL_INVALID', field: 'SendEmailToAddress' },
  { method: 'POST', url: '/api/v1/dialin-users/default-number', body: { FromNumber: '+14255550100', ToNumber: '+14255550100', NumberType: 'Toll' }, code: 'INVALID_ARGUMENT', field: 'ToNumber' },
  { method: 'POST', url: '/api/v1/dialin-users/default-number', body: { FromNumber: '+14255550100', ToNumber: '+14255550101', NumberType: 'Cheap' }, code: 'INVALID_ARGUMENT', field: 'NumberType' },
  // PINs
  { method: 'POST', url: u('/pin'), body: { Pin: '12a45' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '１２３４５' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '١٢٣٤٥' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: ' 13579' }, code: 'PIN_NOT_DIGITS', field: 'Pin' },
  { method: 'POST', url: u('/pin'), body: { Pin: '13579\n' }, code: 'TEXT_INVALID', field: 'Pin' },
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
  { method: 'DELETE', url: '/api/v1/service-numbers/%2B14255550188', code: 'NUMBER_NOT_FOUND', field: 'Identity' },
  // +1 999 is no North American area code: not a number at all, before any lookup.
  { method: 'DELETE', url: '/api/v1/service-numbers/%2B19995550100', code: 'NUMBER_INVALID', field: 'Identity' },
  // third-party providers, mail
  { method: 'PUT', url: u('/acp'), body: { Name: 'X', Domain: 'not a domain' }, code: 'INVALID_ARGUMENT', field: 'Domain' },
  { method: 'PUT', url: u('/acp'), body: { Name: 'X', Domain: 'fabrikam.com', Url: 'javascript:alert(1)' }, code: 'INVALID_ARGUMENT', field: 'Url' },
  { method: 'GET', url: '/api/v1/outbox/00000000-0000-0000-0000-000000000000', code: 'OUTBOX_NOT_FOUND', field: 'Id' },
  { method: 'GET', url: '/api/v1/outbox?Limit=100000', code: 'INVALID_ARGUMENT', field: 'Limit' },
];

const T = 'TEXT_INVALID';
const NUL = '\u0000';
/**
 * Issue 10: a NUL in every string slot of the API (PostgreSQL cannot store one: it answered 500),
 * then C1 controls, bidi overrides and isolates, zero-width and other invisible characters, lone
 * surrogates and invalid UTF-8 — each refused with TEXT_INVALID naming the field, on both dialects.
 */
const TEXT: Bad[] = [
  // NUL in query strings
  { method: 'GET', url: '/api/v1/users?Search=%00', code: T, field: 'Search' },
  { method: 'GET', url: '/api/v1/outbox?Status=%00', code: T, field: 'Status' },
  { method: 'GET', url: '/api/v1/outbox?Kind=%00', code: T, field: 'Kind' },
  { method: 'GET', url: `/api/v1/outbox?User=${encodeURIComponent(alice)}%00`, code: T, field: 'User' },
  { method: 'GET', url: '/api/v1/bridges?Name=%00', code: T, field: 'Name' },
  { method: 'GET', url: '/api/v1/service-numbers?City=%00', code: T, field: 'City' },
  { method: 'GET', url: '/api/v1/service-numbers?BridgeName=Conference%20Bridge%00', code: T, field: 'BridgeName' },
  { method: 'GET', url: '/api/v1/dialin-users?BridgeName=%00', code: T, field: 'BridgeName' },
  { method: 'GET', url: '/api/v1/audit?User=%00', code: T, field: 'User' },
  { method: 'GET', url: '/api/v1/pin-policies?Filter=%00', code: T, field: 'Filter' },
  { method: 'DELETE', url: `${u('/acp')}?Name=%00`, code: T, field: 'Name' },
  { method: 'DELETE', url: '/api/v1/templates/welcome/en?Part=text%00', code: T, field: 'Part' },
  { method: 'GET', url: '/api/v1/users?Se%00arch=ken', code: T, field: 'Se\\u{0}arch' },
  // NUL in path parameters
  { method: 'GET', url: '/api/v1/users/%00', code: T, field: 'Identity' },
  { method: 'GET', url: `/api/v1/users/${encodeURIComponent(alice)}%00/dialin`, code: T, field: 'Identity' },
  { method: 'POST', url: `/api/v1/users/${encodeURIComponent(alice)}%00/dialin/reset-pin`, code: T, field: 'Identity' },
  { method: 'GET', url: '/api/v1/bridges/%00', code: T, field: 'BridgeId' },
  { method: 'GET', url: '/api/v1/service-numbers/%2B14255550101%00', code: T, field: 'Number' },
  { method: 'GET', url: '/api/v1/pin-policies/Global%00', code: T, field: 'Policy' },
  { method: 'GET', url: '/api/v1/outbox/%00', code: T, field: 'Id' },
  { method: 'GET', url: '/api/v1/templates/welcome/en%00/text', code: T, field: 'Language' },
  // NUL in bodies
  { method: 'POST', url: '/api/v1/bridges', body: { Name: `B${NUL}` }, code: T, field: 'Name' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: 'Other', Region: `R${NUL}` }, code: T, field: 'Region' },
  { method: 'PATCH', url: '/api/v1/bridges/{bridge}', body: { NewName: `N${NUL}` }, code: T, field: 'NewName' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '+14255550177', City: `C${NUL}` }, code: T, field: 'City' },
  { method: 'POST', url: '/api/v1/service-numbers', body: { Identity: '+14255550177', SecondaryLanguages: ['fr-FR', `de-DE${NUL}`] }, code: T, field: 'SecondaryLanguages' },
  { method: 'PATCH', url: '/api/v1/service-numbers/%2B14255550101', body: { City: NUL }, code: T, field: 'City' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: `x${NUL}@contoso.com`, DisplayName: 'X' }, code: T, field: 'UserUri' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: `X${NUL}` }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', EmailAddress: `x@contoso.com${NUL}` }, code: T, field: 'EmailAddress' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', Language: `en${NUL}` }, code: T, field: 'Language' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', Phone: `+1425${NUL}` }, code: T, field: 'Phone' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', Extension: `12${NUL}` }, code: T, field: 'Extension' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { BridgeName: `Conference Bridge${NUL}` }, code: T, field: 'BridgeName' },
  { method: 'POST', url: '/api/v1/users/bob0@contoso.com/dialin/enable', body: { ConferenceId: NUL }, code: T, field: 'ConferenceId' },
  { method: 'POST', url: '/api/v1/dialin-users/enable', body: { Identities: [`bob0@contoso.com${NUL}`] }, code: T, field: 'Identities' },
  { method: 'PATCH', url: u('/dialin'), body: { ServiceNumber: `+14255550101${NUL}` }, code: T, field: 'ServiceNumber' },
  { method: 'POST', url: u('/dialin/disable'), body: { SendEmail: true, SendEmailToAddress: `a@contoso.com${NUL}` }, code: T, field: 'SendEmailToAddress' },
  { method: 'POST', url: u('/dialin/send-conference-info'), body: { SendEmailToAddress: `a@contoso.com${NUL}` }, code: T, field: 'SendEmailToAddress' },
  { method: 'POST', url: '/api/v1/dialin-users/default-number', body: { FromNumber: '+14255550100', ToNumber: `+14255550101${NUL}`, NumberType: 'Toll' }, code: T, field: 'ToNumber' },
  { method: 'POST', url: u('/pin'), body: { Pin: `13579${NUL}` }, code: T, field: 'Pin' },
  { method: 'PUT', url: u('/pin-policy'), body: { PolicyName: `tag:X${NUL}` }, code: T, field: 'PolicyName' },
  { method: 'POST', url: '/api/v1/pin-policies', body: { Identity: `tag:X${NUL}` }, code: T, field: 'Identity' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromDisplayName: `Amos${NUL}` }, code: T, field: 'SendEmailFromDisplayName' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromAddress: `amos${NUL}@contoso.com` }, code: T, field: 'SendEmailFromAddress' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { DefaultLanguage: `en${NUL}` }, code: T, field: 'DefaultLanguage' },
  { method: 'PUT', url: '/api/v1/templates/welcome/en/text', body: { Body: `hi${NUL}` }, code: T, field: 'Body' },
  { method: 'PUT', url: '/api/v1/templates/welcome/en/subject', body: { Body: `Welcome${NUL}` }, code: T, field: 'Body' },
  { method: 'POST', url: '/api/v1/templates/preview', body: { Kind: 'welcome', Language: 'en', Draft: { text: `hi${NUL}` } }, code: T, field: 'text' },
  { method: 'POST', url: '/api/v1/templates/preview', body: { Kind: `welcome${NUL}`, Language: 'en' }, code: T, field: 'Kind' },
  { method: 'POST', url: '/api/v1/templates/test-send', body: { Kind: 'welcome', Language: 'en', To: `a@contoso.com${NUL}` }, code: T, field: 'To' },
  { method: 'PUT', url: u('/acp'), body: { Name: `X${NUL}`, Domain: 'fabrikam.com' }, code: T, field: 'Name' },
  { method: 'PUT', url: u('/acp'), body: { Name: 'X', Domain: 'fabrikam.com', TollFreeNumbers: [`+18005550100${NUL}`] }, code: T, field: 'TollFreeNumbers' },
  { method: 'POST', url: '/api/v1/outbox/retry', body: { Ids: [NUL] }, code: T, field: 'Ids' },
  { method: 'POST', url: '/api/v1/outbox/purge', body: { OlderThanDays: 1, Statuses: [`failed${NUL}`] }, code: T, field: 'Statuses' },
  { method: 'POST', url: '/api/v1/bridges', raw: { payload: '{"Na\\u0000me": "x"}', type: 'application/json' }, code: T, field: 'Na\\u{0}me' },
  // C1 controls (an 8-bit CSI recolours a terminal), other C0 controls, DEL, line separators
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u009b31mMyer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u0085Myer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u001b[31mMyer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u007f' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u2028Myer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: 'Bridge\tTwo' }, code: T, field: 'Name' },
  { method: 'GET', url: '/api/v1/users?Search=%C2%9B', code: T, field: 'Search' },
  // bidi overrides and isolates
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken \u202Ereyм' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken \u202Dx' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: 'Bridge', Region: 'EU\u2066W\u2069' }, code: T, field: 'Region' },
  { method: 'PATCH', url: '/api/v1/tenant-settings', body: { SendEmailFromDisplayName: 'IT \u202Bdesk' }, code: T, field: 'SendEmailFromDisplayName' },
  { method: 'GET', url: '/api/v1/users/%E2%80%AE', code: T, field: 'Identity' },
  { method: 'PUT', url: '/api/v1/templates/welcome/en/text', body: { Body: 'Your PIN\u202E' }, code: T, field: 'Body' },
  // zero-width and other invisible formatting
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'ad\u200Bmin' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'ad\u200Dmin' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u200EMyer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: '\uFEFFKen' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u2060Myer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\u00ADMyer' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'X', EmailAddress: 'x\u200B@contoso.com' }, code: T, field: 'EmailAddress' },
  { method: 'POST', url: '/api/v1/bridges', body: { Name: 'Conference\u200BBridge' }, code: T, field: 'Name' },
  // lone surrogates (JSON escapes) and invalid UTF-8 (raw bytes)
  { method: 'POST', url: '/api/v1/users', body: { UserUri: 'x@contoso.com', DisplayName: 'Ken\uD800' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', raw: { payload: '{"UserUri":"x@contoso.com","DisplayName":"\\udc00Ken"}', type: 'application/json' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users', raw: { payload: Buffer.concat([Buffer.from('{"UserUri":"x@contoso.com","DisplayName":"Ren'), Buffer.from([0xe9]), Buffer.from('"}')]), type: 'application/json' }, code: T, field: 'body' },
  { method: 'POST', url: '/api/v1/users', raw: { payload: Buffer.concat([Buffer.from('{"UserUri":"x@contoso.com","DisplayName":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), type: 'application/json' }, code: T, field: 'body' },
  { method: 'POST', url: '/api/v1/users', raw: { payload: Buffer.concat([Buffer.from('{"UserUri":"x@contoso.com","DisplayName":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), type: 'application/json' }, code: T, field: 'body' },
  { method: 'POST', url: '/api/v1/users', raw: { payload: Buffer.concat([Buffer.from('{"UserUri":"x@contoso.com","DisplayName":"'), Buffer.from([0xf0, 0x9f, 0x98])]), type: 'application/json' }, code: T, field: 'body' },
  { method: 'PUT', url: '/api/v1/templates/welcome/en/text', raw: { payload: Buffer.concat([Buffer.from('{"Body":"hi '), Buffer.from([0xff]), Buffer.from('"}')]), type: 'application/json' }, code: T, field: 'body' },
  { method: 'GET', url: '/api/v1/users?Search=%ff', code: T, field: 'Search' },
  { method: 'GET', url: '/api/v1/users?Search=%C0%AF', code: T, field: 'Search' },
  { method: 'GET', url: '/api/v1/users/%ff', code: T, field: 'path' },
  { method: 'GET', url: '/api/v1/users/%ED%A0%80', code: T, field: 'path' },
  // the same over the CSV import
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: 'UserUri,DisplayName,EmailAddress,Language\nx@contoso.com,Ken \u202Ereym,x@contoso.com,en\n', type: 'text/csv' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: 'UserUri,DisplayName,EmailAddress,Language\nx@contoso.com,Ken\u0000,x@contoso.com,en\n', type: 'text/csv' }, code: T, field: 'DisplayName' },
  { method: 'POST', url: '/api/v1/users/import', raw: { payload: 'UserUri,DisplayName,EmailAddress,Language\nx@contoso.com,Ken,x@contoso.com,en\ny@contoso.com,Y\u009b,y@contoso.com,en\n', type: 'text/csv' }, code: T, field: 'DisplayName' },
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

    const battery = (name: string, list: Bad[]) => it(`refuses ${list.length} ${name} with their stable code and field, never a 500, changing nothing`, async () => {
      const problems: string[] = [];
      const bridgeId = (await app.inject({ method: 'GET', url: '/api/v1/bridges', headers: bearer(admin) })).json()[0].Identity as string;
      for (const b0 of list) {
        const b = { ...b0, url: b0.url.replace('{bridge}', bridgeId) };
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
    battery('bad requests', BAD);
    battery('requests with text that does not show as what it is (issue 10)', TEXT);

    it('a back/next parameter redirects only to a path on this origin, and a control character in it is a 400, never a 500', async () => {
      const { cookie } = await signIn(app, t.scope, 'redirects@contoso.com');
      // [the parameter as sent, where the redirect goes — or null: refused with TEXT_INVALID]
      const cases: [string, string | null][] = [
        ['/%09/evil.example', null],
        ['/%0a/evil.example', null],
        ['%0d%0a//evil.example', null],
        ['/%0d%0aSet-Cookie:%20x=1', null],
        ['/%00', null],
        ['/admin%C2%9B', null],
        ['/%E2%80%AE', null],
        ['/%E2%80%8B/evil.example', null],
        ['/%ff', null],
        ['/%5Cevil.example', '/admin'],
        ['%5C%5Cevil.example', '/admin'],
        ['//evil.example', '/admin'],
        ['/.//evil.example', '/admin'],
        ['/admin/..//evil.example', '/admin'],
        ['https://evil.example/', '/admin'],
        ['https:evil.example', '/admin'],
        ['javascript:alert(1)', '/admin'],
        ['/admin/users%3Fq%3D%C5%81%C3%B3d%C5%BA', '/admin/users?q=%C5%81%C3%B3d%C5%BA'],
        ['/%F0%9F%98%80', '/%F0%9F%98%80'],
        ['/admin/users%3Fpage%3D2', '/admin/users?page=2'],
      ];
      const clean = (d: Dump) => ({ ...cleanDump(d), web_sessions: [] });
      const before = clean(await dumpDb(t.ctx.db));
      const problems: string[] = [];
      for (const [param, to] of cases) {
        for (const url of [`/lang/fr?back=${param}`, `/admin/login?next=${param}`]) {
          const res = await app.inject({ method: 'GET', url, headers: { cookie } });
          const got = `${res.statusCode} ${res.headers.location ?? res.body.match(/<code>(\w+)<\/code>/)?.[1] ?? res.body.slice(0, 100)}`;
          if (to === null ? got !== '400 TEXT_INVALID' : got !== `302 ${to}`) problems.push(`${url}: ${got}, expected ${to ?? '400 TEXT_INVALID'}`);
        }
      }
      assert.deepEqual(problems, []);
      // After sign-in, the form's next is checked the same way.
      const post = (next: string) => app.inject({ method: 'POST', url: '/admin/login', payload: `email=redirects%40contoso.com&password=${encodeURIComponent('correct horse battery staple')}&next=${next}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const refused = await post('/%09/evil.example');
      assert.equal(refused.statusCode, 400);
      assert.match(refused.body, /<code>TEXT_INVALID<\/code>/);
      assert.equal(refused.cookies.length, 0);
      assert.deepEqual(clean(await dumpDb(t.ctx.db)), before);
      for (const next of ['/%5Cevil.example', '%5C%5Cevil.example', '/.//evil.example', '//evil.example']) {
        const res = await post(next);
        assert.equal(res.statusCode, 303, next);
        assert.equal(res.headers.location, '/admin', next);
      }
    });

    it('keeps letters of every script, and tabs and line breaks in template bodies', async () => {
      const names = ['Zoë Ünal-Øster', 'Đặng Thị Ngọc Hân', 'محمد الأحمد', 'نام\u200cخانوادگی', '李小龙', 'देवनागरी क्\u200dष', 'Ελένη Παπαδοπούλου', 'Łódź 😀'];
      for (const [i, name] of names.entries()) {
        const res = await app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(admin), payload: { UserUri: `script${i}@contoso.com`, DisplayName: name } });
        assert.equal(res.statusCode, 201, `${name}: ${res.body}`);
        const back = await app.inject({ method: 'GET', url: `/api/v1/users/script${i}@contoso.com`, headers: bearer(admin) });
        assert.equal(back.json().DisplayName, name);
      }
      const current = (await app.inject({ method: 'GET', url: '/api/v1/templates/welcome/en/text', headers: bearer(admin) })).json().Body as string;
      const body = `${current}\r\n\tThank you.\n`;
      const put = await app.inject({ method: 'PUT', url: '/api/v1/templates/welcome/en/text', headers: bearer(admin), payload: { Body: body } });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().Body, body);
    });

    it('the bridge check refuses malformed bodies with a code, and anything it cannot read answers "not the leader"', async () => {
      for (const [body, code] of [
        [{ conferenceId: 1234567, pin: '13579' }, 'INVALID_ARGUMENT'],
        [{ conferenceId: '1234567' }, 'MISSING_ARGUMENT'],
        [{ conferenceId: '1234567', pin: '13579', tenant: 'x' }, 'UNKNOWN_PARAMETER'],
        [{ conferenceId: '1234567', pin: '13579\u0000' }, 'TEXT_INVALID'],
        [{ conferenceId: '1234567\u202E', pin: '13579' }, 'TEXT_INVALID'],
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
