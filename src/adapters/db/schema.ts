/**
 * Row types of every table, as both dialects return them: booleans are 0/1 integers and times
 * are epoch milliseconds, so SQLite and PostgreSQL rows look the same to the code above.
 */
export interface TenantsTable {
  id: string;
  name: string;
  domain: string | null;
  created_at: number;
}

export interface TenantSettingsTable {
  tenant_id: string;
  /** JSON of the settings that differ from the defaults. */
  settings: string;
  updated_at: number;
}

export interface UsersTable {
  id: string;
  /** When the user's first mail was queued (0029; null: never, or not yet backfilled). */
  first_mail_at?: number | null;
  tenant_id: string;
  sip: string;
  display_name: string;
  email: string;
  language: string;
  phone: string | null;
  extension: string | null;
  /** 'None' | 'Microsoft' | 'ThirdParty' */
  provider: string;
  dialin_enabled: number;
  bridge_id: string | null;
  conference_id: string | null;
  service_number: string | null;
  toll_free_number: string | null;
  allow_pstn_only: number;
  pin_hash: string | null;
  /** The key version of pin_hash (migration 0015). */
  pin_key_version: number;
  pin_set_at: number | null;
  pin_policy: string | null;
  pin_fail_local: number;
  pin_window_start: number | null;
  pin_fail_global: number;
  pin_locked_until: number | null;
  pin_locked: number;
  created_at: number;
  updated_at: number;
  /** The directory connection the user comes from (migration 0006); null for CSV/CLI users. */
  directory_id?: string | null;
  /** The entry's stable key (entryUUID, objectGUID): a rename keeps the same user. */
  directory_key?: string | null;
  directory_dn?: string | null;
  /** JSON of the other mapped attributes (title, department, logon, …). */
  directory_attrs?: string | null;
  /** Whether the entry was in the licence group at the last pass that read the group (migration 0024); null: not known. */
  directory_licensed?: number | null;
  /** Where the user came from (migration 0012): 'csv' (import, CLI, API), 'directory' or 'scim'. */
  source?: string;
  /** SCIM (migration 0020): the identity provider's externalId, its active flag, the other SCIM attributes (JSON), the ETag version. */
  scim_external_id?: string | null;
  scim_active?: number | null;
  scim_attrs?: string | null;
  scim_version?: number;
}

/** A group pushed by SCIM (migration 0020); its display name can be the tenant's licence group. */
export interface ScimGroupsTable {
  id: string;
  tenant_id: string;
  display_name: string;
  display_name_key: string;
  external_id: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
  tenant_id: string;
}

/** The tenant's SCIM licence rule: 'none', 'group' (members of licence_group) or 'all-active'. */
export interface ScimConfigTable {
  tenant_id: string;
  licence: string;
  licence_group: string | null;
  max_disable: number | null;
  updated_at: number;
}

/** One dial-in disable caused by SCIM: the guard counts the last hour's. */
export interface ScimDisablesTable {
  tenant_id: string;
  user_id: string;
  at: number;
}

export interface UserAcpTable {
  tenant_id: string;
  user_id: string;
  name: string;
  domain: string;
  toll_number: string | null;
  toll_free_numbers: string; // JSON array
  participant_passcode: string | null;
  url: string | null;
}

export interface PinHistoryTable {
  tenant_id: string;
  user_id: string;
  pin_hash: string;
  pin_key_version: number;
  created_at: number;
}

export interface PinPoliciesTable {
  tenant_id: string;
  identity: string;
  description: string | null;
  min_password_length: number;
  pin_history_count: number;
  pin_lifetime: number;
  allow_common_patterns: number;
  maximum_logon_attempts: number | null;
}

export interface BridgesTable {
  id: string;
  tenant_id: string;
  name: string;
  is_default: number;
  default_service_number: string | null;
  /** The toll-free number users enabled afterwards get (migration 0008). */
  default_toll_free_number: string | null;
  region: string | null;
  created_at: number;
  /** The random part of the bridge's public "Find a local number" page (migration 0018). */
  local_numbers_token: string | null;
}

export interface ServiceNumbersTable {
  tenant_id: string;
  number: string;
  bridge_id: string;
  /** 'Toll' | 'TollFree' */
  type: string;
  city: string | null;
  primary_language: string | null;
  secondary_languages: string; // JSON array
  /** Lync's PrimaryUri (sip:…), unique in the tenant; null for numbers registered the online way (0019). */
  primary_uri?: string | null;
  /** Lync's DisplayNumber: the number as invitations show it (0019). */
  display_number?: string | null;
  /** Place in the bridge's list of numbers, 0 first (0019). */
  priority?: number;
}

export interface ReleasedConferenceIdsTable {
  tenant_id: string;
  conference_id: string;
  released_at: number;
}

export interface OutboxTable {
  id: string;
  tenant_id: string;
  user_id: string | null;
  kind: string;
  recipient: string;
  language: string;
  /** JSON: the MailData and send options; never the PIN. */
  payload: string;
  /** base64 AES-256-GCM of the PIN (welcome and pin_changed only); wiped once the relay accepted. */
  pin_enc: string | null;
  /** The key version of pin_enc and of a sealed relay password in payload (migration 0015). */
  key_version: number;
  message_id: string;
  /** 'queued' | 'sending' | 'sent' | 'failed' | 'expired' | 'superseded', and after sent: 'delayed' | 'bounced' | 'complained' */
  status: string;
  attempts: number;
  run_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  last_error: string | null;
  last_reply: string | null;
  created_at: number;
  sent_at: number | null;
  expires_at: number;
  /** What the last report after delivery said (migration 0009): the DSN status (5.1.1) or 'abuse' for a complaint. */
  report_status?: string | null;
  report_diagnostic?: string | null;
  /** The MTA that reported it (Reporting-MTA of the DSN). */
  report_mta?: string | null;
  reported_at?: number | null;
}

export interface AuditTable {
  id: string;
  tenant_id: string;
  at: number;
  actor: string;
  action: string;
  target_user_id: string | null;
  target: string | null;
  /** JSON of what changed; never a secret. */
  details: string;
}

/** A key version this database was written with (migration 0015): its public fingerprint, never the key. */
export interface KeyVersionsTable {
  version: number;
  fingerprint: string;
  created_at: number;
  retired_at: number | null;
}

/** A running process and the key ring it holds (migration 0015), renewed as a heartbeat. */
export interface KeyHoldersTable {
  id: string;
  role: string;
  host: string;
  pid: number;
  ring_fingerprint: string;
  current_version: number;
  versions: string;
  seen_at: number;
}

export interface Database {
  key_versions: KeyVersionsTable;
  key_holders: KeyHoldersTable;
  tenants: TenantsTable;
  tenant_settings: TenantSettingsTable;
  users: UsersTable;
  user_acp: UserAcpTable;
  pin_history: PinHistoryTable;
  pin_policies: PinPoliciesTable;
  bridges: BridgesTable;
  service_numbers: ServiceNumbersTable;
  released_conference_ids: ReleasedConferenceIdsTable;
  outbox: OutboxTable;
  audit: AuditTable;
  mail_templates: MailTemplatesTable;
  mail_pauses: MailPausesTable;
  admins: AdminsTable;
  api_tokens: ApiTokensTable;
  web_sessions: WebSessionsTable;
  login_links: LoginLinksTable;
  dkim_keys: DkimKeysTable;
  directory_connections: DirectoryConnectionsTable;
  directory_sync_runs: DirectorySyncRunsTable;
  directory_sync_leases: DirectorySyncLeasesTable;
  verify_decoys: VerifyDecoysTable;
  user_jobs: UserJobsTable;
  user_job_items: UserJobItemsTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  scim_config: ScimConfigTable;
  scim_disables: ScimDisablesTable;
  sso_providers: SsoProvidersTable;
  sso_identities: SsoIdentitiesTable;
  sso_logins: SsoLoginsTable;
  dialin_backfills: BackfillsTable;
}

/** How far each backfill (db/backfills.ts) has got (migration 0028). */
export interface BackfillsTable {
  name: string;
  after_key: string;
  rows_done: number;
  done_at: number | null;
}

/** A tenant's OIDC provider for the admin center (migration 0021); the client secret sealed. */
export interface SsoProvidersTable {
  id: string;
  tenant_id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  key_version: number;
  groups_claim: string;
  admin_group: string | null;
  helpdesk_group: string | null;
  /** 1: admins may also sign in with a password; 0: only the break-glass account may. */
  local_passwords: number;
  break_glass_admin_id: string | null;
  created_at: number;
}

/** A person who signed in through a tenant's provider; `role` is that of their last sign-in (null: refused). */
export interface SsoIdentitiesTable {
  id: string;
  provider_id: string;
  tenant_id: string;
  subject: string;
  email: string | null;
  name: string | null;
  role: string | null;
  last_login_at: number | null;
  created_at: number;
}

/** An authorization request in flight, looked up by the digest of its state (one use). */
export interface SsoLoginsTable {
  state_hash: string;
  provider_id: string;
  nonce: string;
  code_verifier: string;
  next: string;
  expires_at: number;
}

/** A bulk action of the users list run in the background (migration 0012); never a PIN. */
export interface UserJobsTable {
  id: string;
  tenant_id: string;
  /** 'enable' | 'disable' | 'reset_pin' | 'send_info' | 'move' | 'import' */
  kind: string;
  /** JSON: the filter or the chosen ids and the action's options; an import's CSV until it is applied. */
  params: string;
  /** 'preview' | 'queued' | 'running' | 'done' | 'failed' */
  status: string;
  total: number;
  processed: number;
  done: number;
  unchanged: number;
  skipped: number;
  /** The last SIP address handled: where a resumed job goes on. */
  cursor: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  error: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** One user handled by a job: the lines of its report. */
export interface UserJobItemsTable {
  job_id: string;
  seq: number;
  input: string;
  user_sip: string | null;
  outcome: string;
  code: string | null;
  reason: string | null;
}

/** A row the bridge PIN check's refusals for unknown IDs write instead of a user's counters (migration 0013). */
export interface VerifyDecoysTable {
  id: string;
  pin_fail_local: number;
  pin_window_start: number | null;
  pin_fail_global: number;
  pin_locked_until: number | null;
  pin_locked: number;
}

/** A connection to an LDAP directory (migration 0006); the bind password sealed with the master key. */
export interface DirectoryConnectionsTable {
  id: string;
  tenant_id: string;
  name: string;
  /** 'openldap' | 'ad' */
  kind: string;
  url: string;
  base_dn: string;
  bind_dn: string | null;
  bind_password_sealed: string | null;
  key_version: number;
  licence_group: string | null;
  filter: string | null;
  ca_file: string | null;
  /** The CA certificate(s) as PEM, given in the admin center or the API (migration 0031); used instead of ca_file. */
  ca_pem?: string | null;
  insecure_plaintext: number;
  interval_ms: number;
  max_disable: number | null;
  /** JSON object field → attribute (overrides of the defaults). */
  mapping: string;
  /** Where the next incremental pass starts (OpenLDAP: the newest modifyTimestamp seen; AD: the DC's highestCommittedUSN before the last pass). */
  sync_mark: string | null;
  /** AD: JSON {dsServiceName, invocationId} of the DC that gave sync_mark (migration 0025); another DC or invocationId forces a full pass. OpenLDAP: JSON {entryCSN}, the newest read, which makes the mark exclusive once settled. */
  sync_source: string | null;
  /** A fingerprint of the directory's groups at the last applied pass (migration 0024): the same at the next pass, no membership changed. */
  group_mark?: string | null;
  last_full_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One sync of a connection (migration 0006). */
export interface DirectorySyncRunsTable {
  id: string;
  tenant_id: string;
  connection_id: string;
  started_at: number;
  finished_at: number;
  /** 'applied' | 'dry-run' | 'held' | 'failed' */
  status: string;
  /** 'full' | 'incremental' */
  mode: string;
  /** JSON of the counts. */
  counts: string;
  /** JSON array of { key, dn, sip, reason }. */
  skipped: string;
  error_code: string | null;
  error: string | null;
  actor: string;
}

/** Who syncs a connection now (migration 0006). */
export interface DirectorySyncLeasesTable {
  connection_id: string;
  owner: string;
  lease_until: number;
}

/** A DKIM signing key (migration 0009): the private key sealed with the master key. */
export interface DkimKeysTable {
  id: string;
  /** null: the deployment's (signs any mail from the domain); else only that tenant's mail. */
  tenant_id: string | null;
  domain: string;
  selector: string;
  /** 'rsa' | 'ed25519' */
  algorithm: string;
  private_key_sealed: string;
  key_version: number;
  /** The p= value of the DNS TXT record. */
  public_key: string;
  active: number;
  created_at: number;
  created_by: string;
}

/** An administrator account of the admin center (migration 0003). */
export interface AdminsTable {
  id: string;
  tenant_id: string;
  /** Lower-case; unique across the deployment (one account, one tenant). */
  email: string;
  /** 'admin' | 'helpdesk' */
  role: string;
  /** Argon2id PHC string. */
  password_hash: string;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
}

/** A bearer token for the REST API; only its SHA-256 digest is kept. */
export interface ApiTokensTable {
  id: string;
  tenant_id: string;
  name: string;
  /** 'admin' | 'helpdesk' | 'bridge' | 'scim' */
  role: string;
  token_hash: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A browser session (admin center or the end user's settings page), keyed by the digest of the cookie. */
export interface WebSessionsTable {
  id_hash: string;
  /** 'admin' | 'user' */
  kind: string;
  tenant_id: string;
  /** The admin's or the end user's id. */
  subject_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute end of the session, whatever the activity. */
  expires_at: number;
}

/** A one-time sign-in link for the Dial-in Conferencing Settings page, keyed by the digest of its token. */
export interface LoginLinksTable {
  id_hash: string;
  tenant_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** A tenant's override of one part of a mail template (migration 0002). */
export interface MailTemplatesTable {
  tenant_id: string;
  /** A MailKind. */
  kind: string;
  /** A MailLanguage. */
  language: string;
  /** 'subject' | 'html' | 'text' */
  part: string;
  /** The Liquid source, validated when saved. */
  body: string;
  updated_at: number;
  updated_by: string;
}

/** A tenant whose deliveries wait because the relay refused the login or TLS (migration 0002). */
export interface MailPausesTable {
  tenant_id: string;
  /** Why, with the relay's reply; shown by `dialin mail status`. */
  reason: string;
  paused_at: number;
  /** When the worker tries the relay again. */
  retry_at: number;
}
