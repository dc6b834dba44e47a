import { Type, type TSchema, type TProperties } from 'typebox';

/**
 * JSON schemas of the REST API (TypeBox → JSON Schema → validation and OpenAPI). Bodies use the
 * cmdlet parameter names and answers the property names the CLI prints with --json, so a script
 * moves between the two without renaming. Request bodies reject unknown fields.
 */

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A request body: only the listed fields, anything else is refused with UNKNOWN_PARAMETER. */
export const Body = <P extends TProperties>(props: P, description?: string) => Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });

/**
 * The body of a route that takes none (POST …/reset-pin): only nothing or `{}`. Given to every
 * route without a body schema, so a body the route would ignore (`{"Pin":"…"}`) is refused, not
 * silently dropped while the route does something else.
 */
export const NoBody = Type.Object({}, { additionalProperties: false, description: 'No body (or an empty object).' });

/**
 * A string field. The bound only stops absurd inputs early: the real limits (a display name's
 * 256 characters, a PIN's digits…) are the core's, so the API answers with the same code as the CLI.
 */
export const Str = (maxLength = 4096, description?: string) => Type.String({ maxLength, ...(description ? { description } : {}) });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'Stable code from docs/errors.md, the same the CLI prints.' }),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'The parameter the error is about.' })),
  }),
});

export const IdentityParams = Type.Object({ identity: Str(4096, 'The user: sip:bob@contoso.com, bob@contoso.com, the id, domain\\logon or the display name.') });

export const UserListing = Type.Object({
  Identity: Type.String(),
  SipAddress: Type.String(),
  DisplayName: Type.String(),
  EmailAddress: Type.String(),
  Language: Type.String(),
  Provider: Type.String(),
  DialInEnabled: Type.Boolean(),
});

export const DialInUser = Type.Object({
  Identity: Type.String(),
  DisplayName: Type.String(),
  SipAddress: Type.String(),
  Tenant: Type.String(),
  Provider: Type.String(),
  BridgeId: Nullable(Type.String()),
  BridgeName: Nullable(Type.String()),
  ConferenceId: Nullable(Type.String()),
  ServiceNumber: Nullable(Type.String()),
  TollFreeServiceNumber: Nullable(Type.String()),
  AllowPstnOnlyMeetings: Type.Boolean(),
  AllowTollFreeDialIn: Type.Boolean(),
  LeaderPin: Type.String({ description: 'Masked (*****), except in the one answer to the PIN reset that set it.' }),
  IsPinSet: Type.Boolean(),
  LastMailStatus: Type.Optional(Nullable(Type.String({ description: "Status of the user's newest mail: queued, sent, delayed, bounced, complained, failed, expired, superseded." }))),
});

export const ServiceNumber = Type.Object({
  Number: Type.String(),
  Type: Type.String(),
  City: Nullable(Type.String()),
  PrimaryLanguage: Nullable(Type.String()),
  SecondaryLanguages: Type.Array(Type.String()),
  BridgeName: Type.String(),
  BridgeId: Type.String(),
  IsShared: Type.Boolean(),
});

export const Bridge = Type.Object({
  Identity: Type.String(),
  Name: Type.String(),
  Region: Nullable(Type.String()),
  DefaultServiceNumber: Nullable(Type.String()),
  DefaultTollFreeServiceNumber: Nullable(Type.String()),
  IsDefault: Type.Boolean(),
  LocalNumbersUrl: Type.String({ description: 'The public "Find a local number" page of the bridge: every number, nothing of any user.' }),
  ServiceNumbers: Type.Array(ServiceNumber),
});

export const TenantSettings = Type.Object({
  Identity: Type.String(),
  AutomaticallySendEmailsToUsers: Type.Boolean(),
  SendEmailFromOverride: Type.Boolean(),
  SendEmailFromAddress: Nullable(Type.String()),
  SendEmailFromDisplayName: Nullable(Type.String()),
  PinLength: Type.Integer(),
  AllowPSTNOnlyMeetingsByDefault: Type.Boolean(),
  ConferenceIdLength: Type.Integer(),
  EnableEntryExitNotifications: Type.Boolean(),
  EntryExitAnnouncementsType: Type.String(),
  EnableNameRecording: Type.Boolean(),
  DefaultLanguage: Type.String(),
});

export const TenantSettingsPatch = Body(
  {
    AutomaticallySendEmailsToUsers: Type.Optional(Type.Boolean()),
    SendEmailFromOverride: Type.Optional(Type.Boolean()),
    SendEmailOverride: Type.Optional(Type.Boolean({ description: 'The seed’s spelling of SendEmailFromOverride.' })),
    SendEmailFromAddress: Type.Optional(Nullable(Str())),
    SendEmailFromDisplayName: Type.Optional(Nullable(Str())),
    PinLength: Type.Optional(Type.Integer()),
    AllowPSTNOnlyMeetingsByDefault: Type.Optional(Type.Boolean()),
    ConferenceIdLength: Type.Optional(Type.Integer()),
    EnableEntryExitNotifications: Type.Optional(Type.Boolean()),
    EntryExitAnnouncementsType: Type.Optional(Str()),
    EnableNameRecording: Type.Optional(Type.Boolean()),
    DefaultLanguage: Type.Optional(Str()),
  },
  'The settings to change (Set-CsOnlineDialInConferencingTenantSettings parameters).',
);

export const PinInfo = Type.Object({
  Identity: Type.String(),
  IsPinSet: Type.Boolean(),
  IsLockedOut: Type.Boolean(),
  LastPinChangeTime: Nullable(Type.String()),
  PinExpirationTime: Nullable(Type.String()),
});

export const PinPolicy = Type.Object({
  Identity: Type.String(),
  Description: Nullable(Type.String()),
  MinPasswordLength: Type.Integer(),
  PINHistoryCount: Type.Integer(),
  PINLifetime: Type.Integer(),
  AllowCommonPatterns: Type.Boolean(),
  MaximumLogonAttempts: Nullable(Type.Integer()),
});

export const PinPolicyFields = {
  Description: Type.Optional(Nullable(Str())),
  MinPasswordLength: Type.Optional(Type.Integer()),
  PINHistoryCount: Type.Optional(Type.Integer()),
  PINLifetime: Type.Optional(Type.Integer()),
  AllowCommonPatterns: Type.Optional(Type.Boolean()),
  MaximumLogonAttempts: Type.Optional(Nullable(Type.Integer())),
};

export const AcpInfo = Type.Object({
  Default: Type.Boolean(),
  Name: Type.String(),
  Domain: Type.String(),
  TollNumber: Nullable(Type.String()),
  TollFreeNumbers: Type.Array(Type.String()),
  ParticipantPassCode: Nullable(Type.String()),
  Url: Nullable(Type.String()),
});

export const UserAcp = Type.Object({ Identity: Type.String(), AcpInfo: Type.Array(AcpInfo) });

export const OutboxMessage = Type.Object({
  Id: Type.String(),
  Kind: Type.String(),
  Status: Type.String(),
  Recipient: Type.String(),
  Language: Type.String(),
  User: Nullable(Type.String()),
  Attempts: Type.Integer(),
  CreatedAt: Type.String(),
  NextAttemptAt: Nullable(Type.String()),
  SentAt: Nullable(Type.String()),
  LastError: Nullable(Type.String()),
  LastReply: Nullable(Type.String()),
  MessageId: Type.String(),
  CarriesPin: Type.Boolean({ description: 'Whether a sealed PIN still waits in the row (never the PIN itself).' }),
  ReportStatus: Type.Optional(Nullable(Type.String({ description: 'After delivery: the DSN status (5.1.1) of a bounce or delay, or the feedback type of a complaint.' }))),
  ReportDiagnostic: Type.Optional(Nullable(Type.String())),
  ReportedBy: Type.Optional(Nullable(Type.String({ description: 'The MTA that reported it.' }))),
  ReportedAt: Type.Optional(Nullable(Type.String())),
  Advice: Type.Optional(Nullable(Type.String({ description: 'What to do about a bounced, delayed or complained mail.' }))),
});

export const AuditEntry = Type.Object({
  At: Type.String(),
  Actor: Type.String(),
  Action: Type.String(),
  Target: Nullable(Type.String()),
  Details: Type.Record(Type.String(), Type.Unknown()),
});

/** The answer to a change applied to one user: done, or unchanged with the reason. */
export const Outcome = <T extends TSchema>(result: T) =>
  Type.Object({
    Outcome: Type.Union([Type.Literal('done'), Type.Literal('unchanged')]),
    Reason: Nullable(Type.String()),
    Result: Nullable(result),
  });

export const GroupSummary = Type.Object({
  Total: Type.Integer(),
  Done: Type.Integer(),
  Unchanged: Type.Integer(),
  Skipped: Type.Integer(),
  Results: Type.Array(
    Type.Object({
      Identity: Type.String(),
      User: Nullable(Type.String()),
      Outcome: Type.String(),
      Code: Nullable(Type.String()),
      Reason: Nullable(Type.String()),
      Result: Nullable(DialInUser),
    }),
  ),
});

/** Standard error answers, listed in the OpenAPI document of every protected route. */
export const ERROR_RESPONSES = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };
