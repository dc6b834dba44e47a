import type { Kysely } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { Database, TenantsTable } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import type { RandomInt } from '../core/pin.ts';
import type { Mailbox } from '../core/sender.ts';

/** What every use-case gets: the database, the keys, time and randomness as ports, and who acts. */
export interface AppContext {
  readonly db: Db;
  readonly keys: Keys;
  readonly now: () => number;
  readonly randomInt: RandomInt;
  readonly newId: () => string;
  /** Who makes the change, as recorded in the audit log: `cli:alice@host1`, `api:token-name`, `web:admin@x`. */
  readonly actor: string;
  /** The default sender (DIALIN_MAIL_FROM); a Message-ID is made on the domain of the mail's own sender. */
  readonly defaultFrom: Mailbox;
  /** The Dial-in Conferencing Settings page (DIALIN_PUBLIC_URL + /dialin), linked from every mail. */
  readonly settingsUrl: string;
  /** How long a mail is retried before it is marked expired. */
  readonly mailLifetimeMs: number;
  /** Called after a transaction that wrote outbox rows commits, so an in-process worker wakes up. */
  readonly onMailQueued?: () => void;
}

/** A use-case's view of one tenant. */
export interface TenantScope extends AppContext {
  readonly tenant: TenantsTable;
}

export type Trx = Kysely<Database>;
