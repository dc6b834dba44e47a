/**
 * The one error registry. Every error dialin reports to a person or a script carries one of these
 * codes; a code never changes meaning once shipped. `docs/errors.md` lists exactly these codes
 * (checked by test/unit/errors-doc.test.ts). The kind decides the CLI exit status and HTTP status
 * in the adapters; the core never speaks HTTP.
 */
export type ErrorKind =
  | 'validation' // the input is wrong: fix the command
  | 'not_found' // the thing named does not exist
  | 'conflict' // the input is fine but clashes with the current state
  | 'forbidden' // the caller may not do this
  | 'unauthenticated' // the caller is not signed in
  | 'rate_limited' // too many attempts
  | 'unavailable' // a dependency (database, relay) is down
  | 'internal'; // a bug

export const ERROR_CODES = {
  // generic input
  INVALID_ARGUMENT: { kind: 'validation', description: 'A parameter has a value of the wrong form.' },
  MISSING_ARGUMENT: { kind: 'validation', description: 'A mandatory parameter is missing.' },
  UNKNOWN_PARAMETER: { kind: 'validation', description: 'The cmdlet has no parameter of that name.' },
  UNKNOWN_COMMAND: { kind: 'validation', description: 'There is no cmdlet or command of that name.' },
  PARAMETER_NOT_SUPPORTED: { kind: 'validation', description: 'A Microsoft parameter that has no effect in dialin; refused rather than silently stored.' },
  PIPELINE_NOT_SUPPORTED: { kind: 'validation', description: 'A PowerShell construct dialin does not understand (only | fl, | ft, | Select-Object are).' },
  CONFLICTING_PARAMETERS: { kind: 'validation', description: 'Two parameters that cannot be used together.' },
  CONFIRMATION_DECLINED: { kind: 'conflict', description: 'The change was not confirmed at the -Confirm prompt.' },
  TEXT_INVALID: { kind: 'validation', description: 'A text has a character that does not show as what it is: a control character (C0, C1, NUL), a lone surrogate, invalid UTF-8, a bidirectional override or isolate, or a zero-width or other invisible formatting character.' },
  UNSUPPORTED_SYNTAX: { kind: 'validation', description: 'A script uses PowerShell outside the subset dialin reads (the message names the construct, its line and column); nothing in the script ran.' },
  SCRIPT_ERROR: { kind: 'validation', description: 'A line of a script run with `dialin run` failed.' },
  // tenants and settings
  TENANT_NOT_FOUND: { kind: 'not_found', description: 'No tenant has that name or id.' },
  TENANT_EXISTS: { kind: 'conflict', description: 'A tenant with that name already exists.' },
  SETTING_INVALID: { kind: 'validation', description: 'A tenant setting is out of range or of the wrong type.' },
  SENDER_OVERRIDE_INCOMPLETE: { kind: 'validation', description: 'SendEmailFromOverride $true needs both SendEmailFromAddress and SendEmailFromDisplayName.' },
  // users and identities
  USER_NOT_FOUND: { kind: 'not_found', description: 'No user matches the identity.' },
  IDENTITY_AMBIGUOUS: { kind: 'conflict', description: 'More than one user matches the identity (use the SIP address or id).' },
  USER_EXISTS: { kind: 'conflict', description: 'A user with that SIP address already exists in the tenant.' },
  LDAP_FILTER_INVALID: { kind: 'validation', description: 'Get-CsUser -LdapFilter is not an RFC 4515 filter (or uses an extensible match); the message says where.' },
  USER_FILTER_INVALID: { kind: 'validation', description: 'Get-CsUser -Filter is not a filter of the form {Property -eq "value"} (joined by -and / -or); the message says what is wrong.' },
  USER_URI_INVALID: { kind: 'validation', description: 'A UserUri is not a sip: address or user@domain.' },
  EMAIL_INVALID: { kind: 'validation', description: 'An e-mail address is malformed (control characters, commas, no domain, too long…).' },
  DISPLAY_NAME_INVALID: { kind: 'validation', description: 'A display name is empty, too long or has control characters.' },
  LANGUAGE_INVALID: { kind: 'validation', description: 'A language is not a language tag dialin knows.' },
  CSV_INVALID: { kind: 'validation', description: 'A CSV file is malformed: missing column, bad encoding, duplicate or bad row.' },
  FILE_NOT_FOUND: { kind: 'not_found', description: 'A file named on the command line cannot be read.' },
  // dial-in state
  USER_NOT_ENABLED: { kind: 'conflict', description: 'The user is not enabled for dial-in conferencing with Microsoft (dialin) as provider.' },
  USER_HAS_THIRD_PARTY_PROVIDER: { kind: 'conflict', description: 'The user is on a third-party audio conferencing provider; use -ReplaceProvider.' },
  BRIDGE_NOT_FOUND: { kind: 'not_found', description: 'No bridge has that name or id.' },
  LOCAL_NUMBERS_NOT_FOUND: { kind: 'not_found', description: 'No bridge has that "Find a local number" link (unknown, malformed or regenerated).' },
  BRIDGE_EXISTS: { kind: 'conflict', description: 'A bridge with that name already exists.' },
  NO_BRIDGE: { kind: 'conflict', description: 'The tenant has no bridge to put the user on.' },
  NUMBER_INVALID: { kind: 'validation', description: 'A phone number is not in E.164 form.' },
  NUMBER_NOT_FOUND: { kind: 'not_found', description: 'The service number is not registered.' },
  NUMBER_EXISTS: { kind: 'conflict', description: 'The service number is already registered.' },
  NUMBER_NOT_ON_BRIDGE: { kind: 'conflict', description: 'The number is not a service number of that bridge.' },
  NUMBER_TYPE_MISMATCH: { kind: 'conflict', description: 'The number is of the wrong type (toll vs toll-free) for this use.' },
  NUMBER_IS_BRIDGE_DEFAULT: { kind: 'conflict', description: 'The number is a bridge default and cannot be unregistered that way.' },
  NUMBER_IN_USE: { kind: 'conflict', description: 'Users still have the number as their default.' },
  ACCESS_NUMBER_URI_INVALID: { kind: 'validation', description: 'A Lync access number\'s PrimaryUri is not a lowercase sip: address, or its LineUri is not tel: and an E.164 number.' },
  ACCESS_NUMBER_NOT_FOUND: { kind: 'not_found', description: 'No access number has that PrimaryUri (or tel: LineUri).' },
  ACCESS_NUMBER_EXISTS: { kind: 'conflict', description: 'The PrimaryUri or LineUri is already used by an access number.' },
  CONFIGURATION_VALUE_UNSUPPORTED: { kind: 'validation', description: 'A Lync dial-in conferencing configuration value or scope dialin does not have (PinAuthType Everyone, a site: scope); nothing was changed.' },
  CONFERENCE_ID_INVALID: { kind: 'validation', description: 'A conference ID has the wrong length, non-digits or a bad check digit.' },
  CONFERENCE_ID_TAKEN: { kind: 'conflict', description: 'The conference ID is in use or was released less than 30 days ago.' },
  CONFERENCE_ID_SPACE_EXHAUSTED: { kind: 'conflict', description: 'No free conference ID of the configured length could be found.' },
  // PINs
  PIN_NOT_DIGITS: { kind: 'validation', description: 'A PIN has characters other than the ASCII digits 0-9.' },
  PIN_TOO_SHORT: { kind: 'validation', description: 'A PIN is shorter than the PIN policy minimum.' },
  PIN_TOO_LONG: { kind: 'validation', description: 'A PIN is longer than the maximum.' },
  PIN_COMMON_PATTERN: { kind: 'validation', description: 'A PIN is a common pattern (repeated or consecutive digits, phone number, extension).' },
  PIN_REUSED: { kind: 'validation', description: 'A PIN was used recently (PIN policy history).' },
  PIN_LOCKED: { kind: 'conflict', description: 'The PIN is locked; unlock it first.' },
  PIN_NOT_SET: { kind: 'conflict', description: 'The user has no PIN.' },
  PIN_POLICY_NOT_FOUND: { kind: 'not_found', description: 'No PIN policy has that identity.' },
  PIN_POLICY_EXISTS: { kind: 'conflict', description: 'A PIN policy with that identity already exists.' },
  PIN_POLICY_INVALID: { kind: 'validation', description: 'A PIN policy value is out of range.' },
  // third-party providers
  ACP_NOT_FOUND: { kind: 'not_found', description: 'The user has no third-party provider (of that name).' },
  // mail
  JOB_NOT_FOUND: { kind: 'not_found', description: 'No bulk job of the tenant has that id (admin center, users list).' },
  OUTBOX_NOT_FOUND: { kind: 'not_found', description: 'No outbox message has that id.' },
  TEMPLATE_INVALID: { kind: 'validation', description: 'An e-mail template has a syntax error or an unknown variable.' },
  TEMPLATE_NOT_FOUND: { kind: 'not_found', description: 'No such template kind, language or part.' },
  SMTP_CONFIG_INVALID: { kind: 'validation', description: 'The SMTP relay URL or its options are malformed.' },
  SMTP_UNAVAILABLE: { kind: 'unavailable', description: 'The SMTP relay cannot be reached or refused the login.' },
  TEMPLATE_LIMIT_EXCEEDED: { kind: 'validation', description: 'An e-mail template is too long, renders too slowly or renders too much text.' },
  MAIL_NOT_RETRYABLE: { kind: 'conflict', description: 'Only a failed or expired message without a PIN can be queued again (a PIN is never re-sent: reset it).' },
  MAIL_NOT_DELIVERED: { kind: 'unavailable', description: 'Set-CsPinSendCAWelcomeMail: some welcome mails were refused by the relay or are left to `dialin worker` to retry; the report says which.' },
  // deliverability: DKIM, checked defaults, bounces (issue 14)
  DKIM_DOMAIN_INVALID: { kind: 'validation', description: 'A DKIM domain is not a domain name (letters, digits, hyphens and dots, at least two labels).' },
  DKIM_SELECTOR_INVALID: { kind: 'validation', description: 'A DKIM selector is not one or more DNS labels (letters, digits, hyphens; dots between labels).' },
  DKIM_KEY_EXISTS: { kind: 'conflict', description: 'The domain already has a DKIM key with that selector.' },
  DKIM_KEY_NOT_FOUND: { kind: 'not_found', description: 'No DKIM key has that domain and selector (for this tenant).' },
  DKIM_TOO_MANY_KEYS: { kind: 'conflict', description: 'The domain already has two keys of that algorithm (one signing, one for rotation): remove one first.' },
  DKIM_DOMAIN_TAKEN: { kind: 'conflict', description: 'The domain\'s DKIM keys belong to another tenant (or to the deployment).' },
  BOUNCES_NOT_CONFIGURED: { kind: 'validation', description: '`dialin bounces` needs DIALIN_BOUNCE_LISTEN or DIALIN_BOUNCE_IMAP_URL (and DIALIN_BOUNCE_DOMAIN).' },
  BOUNCE_MAILBOX_UNAVAILABLE: { kind: 'unavailable', description: 'The bounce mailbox (DIALIN_BOUNCE_IMAP_URL) cannot be reached or refused the login.' },
  RUN_INTERRUPTED: { kind: 'conflict', description: 'A run over a group was interrupted (Ctrl-C); run the same command again to finish what is left.' },
  // directory connections and sync (issue 11)
  DIRECTORY_NOT_FOUND: { kind: 'not_found', description: 'No directory connection of the tenant has that name.' },
  DIRECTORY_EXISTS: { kind: 'conflict', description: 'The tenant already has a directory connection of that name.' },
  DIRECTORY_CONFIG_INVALID: { kind: 'validation', description: 'A directory connection setting is malformed (URL, DN, filter, interval, mapping, plaintext without --insecure-plaintext…); the message names it.' },
  DIRECTORY_UNAVAILABLE: { kind: 'unavailable', description: 'The directory cannot be reached, its certificate is not trusted, or it stopped answering; nothing was applied.' },
  DIRECTORY_BIND_FAILED: { kind: 'validation', description: 'The directory refused the bind DN or password; nothing was applied.' },
  DIRECTORY_SEARCH_FAILED: { kind: 'validation', description: 'The directory refused a search (base DN or licence group that does not exist, a filter it rejects); the message names the setting; nothing was applied.' },
  DIRECTORY_MASS_DISABLE_HELD: { kind: 'conflict', description: 'The sync would disable more users than the connection\'s --max-disable allows; nothing changed: check, then run it again with --allow-mass-disable.' },
  DIRECTORY_SYNC_BUSY: { kind: 'conflict', description: 'Another process is syncing this directory connection right now.' },
  // access
  FORBIDDEN: { kind: 'forbidden', description: 'The caller may not do this.' },
  UNAUTHENTICATED: { kind: 'unauthenticated', description: 'Sign in or give an API token.' },
  RATE_LIMITED: { kind: 'rate_limited', description: 'Too many attempts; wait and try again.' },
  DATABASE_UNAVAILABLE: { kind: 'unavailable', description: 'The database cannot be reached.' },
  KEY_INVALID: { kind: 'validation', description: 'The key file or DIALIN_PIN_KEY is malformed.' },
  KEY_VERSION_MISSING: { kind: 'unavailable', description: 'The key ring of this process lacks a key version the database uses (or has another key under its number); the process does not start. Give every process the same key ring.' },
  KEY_VERSION_IN_USE: { kind: 'conflict', description: '`dialin key retire` refused: PIN hashes or sealed secrets still use the version (the message says how many); re-seal first, or pass --force-pin-reset to reset those PINs.' },
  KEY_VERSION_UNKNOWN: { kind: 'not_found', description: 'No key version of that number in the key ring, or it is the current version (which cannot be retired).' },
  KEY_RING_READONLY: { kind: 'conflict', description: 'The key ring comes from DIALIN_PIN_KEY (and DIALIN_PIN_KEYS_FILE), which dialin cannot change: rotate by editing them (see the README, key ring).' },
  BACKUP_CORRUPT: { kind: 'validation', description: 'The backup file is truncated, altered or not a dialin backup (a tar header, a size or a SHA256SUMS checksum does not match); nothing was restored.' },
  BACKUP_KEY_MISMATCH: { kind: 'conflict', description: 'The key ring of this process lacks a key version the backup was written with, or has another key under its number (fingerprints differ): its PINs and sealed secrets could not be checked or opened; nothing was restored. Restore the key ring of the deployment the backup comes from first.' },
  BACKUP_TARGET_NOT_EMPTY: { kind: 'conflict', description: '`dialin restore` refused: the database already has users, mail, bridges, administrators or audit entries; restore into an empty database, or pass --force to replace its contents.' },
  BACKUP_DIALECT_MISMATCH: { kind: 'validation', description: 'The backup is of SQLite and the target is PostgreSQL, or the other way round.' },
  BACKUP_FAILED: { kind: 'unavailable', description: 'The snapshot could not be taken or loaded (pg_dump or pg_restore failed or is missing, the disk is full); the message says why; a partial file is removed.' },
  SCHEMA_NEWER_THAN_CODE: { kind: 'conflict', description: 'The database (or backup) has migrations this version of dialin does not know: it was written by a newer dialin. Downgrades are refused; run the newer version (or restore a backup made before the upgrade).' },
  DOCTOR_FOUND_PROBLEMS: { kind: 'conflict', description: '`dialin doctor` found something wrong with the deployment; each problem is printed with what to fix.' },
  INTERNAL_ERROR: { kind: 'internal', description: 'An unexpected error; see the server log.' },
  // web and API access
  CSRF_INVALID: { kind: 'forbidden', description: 'A browser request changing something came from another site or without its anti-forgery token.' },
  LOGIN_FAILED: { kind: 'unauthenticated', description: 'The e-mail address or password is wrong, or sign-in is paused after repeated failures (the same answer for every case).' },
  LOGIN_LINK_INVALID: { kind: 'unauthenticated', description: 'The sign-in link is unknown, older than 15 minutes or already used.' },
  ADMIN_EXISTS: { kind: 'conflict', description: 'An administrator account with that e-mail address already exists.' },
  ADMIN_NOT_FOUND: { kind: 'not_found', description: 'No administrator account has that e-mail address.' },
  PASSWORD_INVALID: { kind: 'validation', description: 'A password is shorter than 12 or longer than 256 characters.' },
  PASSWORD_TRIVIAL: { kind: 'validation', description: 'An administrator password is one character repeated (or only spaces).' },
  PASSWORD_COMMON: { kind: 'validation', description: 'An administrator password is in the shipped list of common or breached passwords (NIST SP 800-63B §5.1.1.2).' },
  SSO_CONFIG_INVALID: { kind: 'validation', description: 'A single sign-on setting is malformed (issuer URL, client id, secret file, group claim or group names); the message names it.' },
  SSO_EXISTS: { kind: 'conflict', description: 'The tenant already has a single sign-on provider (remove it first).' },
  SSO_NOT_FOUND: { kind: 'not_found', description: 'The tenant has no single sign-on provider (or none with that id).' },
  SSO_UNAVAILABLE: { kind: 'unavailable', description: 'The identity provider\'s discovery document or token endpoint cannot be reached or is malformed.' },
  SSO_SIGN_IN_FAILED: { kind: 'unauthenticated', description: 'The identity provider\'s answer was refused: wrong state, an ID token with the wrong issuer, audience or nonce, expired, or a bad signature; nobody was signed in.' },
  SSO_NO_ROLE: { kind: 'forbidden', description: 'The person signed in at the identity provider but is in neither the admin group nor the helpdesk group.' },
  LOCAL_PASSWORDS_OFF: { kind: 'forbidden', description: 'Password sign-in is turned off for the tenant (single sign-on only); only its break-glass account may use a password.' },
  TOKEN_NOT_FOUND: { kind: 'not_found', description: 'No API token has that id.' },
  ROUTE_NOT_FOUND: { kind: 'not_found', description: 'There is no page or API endpoint at that path for that method.' },
  REQUEST_TOO_LARGE: { kind: 'validation', description: 'The request body is larger than the server accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { kind: 'validation', description: 'The request body has a Content-Type the endpoint does not accept (use application/json).' },
  // SCIM 2.0 provisioning (the SCIM error body carries the scimType in parentheses)
  SCIM_INVALID_FILTER: { kind: 'validation', description: 'A SCIM filter has a syntax error or names an attribute dialin does not filter on (scimType invalidFilter).' },
  SCIM_INVALID_PATH: { kind: 'validation', description: 'A SCIM PATCH path is malformed or names an unknown attribute (scimType invalidPath).' },
  SCIM_INVALID_SYNTAX: { kind: 'validation', description: 'A SCIM request body is not valid JSON, lacks the right schemas, or is not a SCIM message (scimType invalidSyntax).' },
  SCIM_INVALID_VALUE: { kind: 'validation', description: 'A SCIM attribute has a value of the wrong form, e.g. a userName that is not an address (scimType invalidValue).' },
  SCIM_TOO_MANY: { kind: 'validation', description: 'A SCIM PATCH has more operations, or a list asks for more results, than dialin takes at once (scimType tooMany).' },
  SCIM_UNIQUENESS: { kind: 'conflict', description: 'A SCIM user with that userName (SIP address) already exists (scimType uniqueness).' },
  SCIM_NOT_FOUND: { kind: 'not_found', description: 'No SCIM user or group of this tenant has that id.' },
  SCIM_VERSION_MISMATCH: { kind: 'conflict', description: 'The If-Match version is not the resource\'s current version: read it again (HTTP 412).' },
  SCIM_MASS_DISABLE_HELD: { kind: 'conflict', description: 'The SCIM change would turn dial-in off for more users within an hour than the guard allows; nothing was changed (raise it with `dialin scim configure --max-disable N`).' },
} as const satisfies Record<string, { kind: ErrorKind; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code, a message for people, and the field it is about. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
  }

  get kind(): ErrorKind {
    return ERROR_CODES[this.code].kind;
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
