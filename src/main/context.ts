import os from 'node:os';
import type { Config } from '../config/config.ts';
import { migrate, openDb, type Db } from '../adapters/db/database.ts';
import { loadKeys, secureRandomInt } from '../adapters/crypto/keys.ts';
import { uuidv7 } from '../adapters/crypto/ids.ts';
import type { AppContext } from '../app/context.ts';
import { checkRing } from '../app/key-ring.ts';
import { parseMailbox } from '../core/sender.ts';
import { cliActorName } from '../core/actor.ts';

/** Composition root: config → database (migrated) → keys → the context every use-case gets. */
export async function createContext(config: Readonly<Config>, opts: { actor: string; poolSize?: number; onMailQueued?: () => void }): Promise<AppContext> {
  const db: Db = openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: opts.poolSize });
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  let keys;
  try {
    keys = loadKeys({ dataDir: config.dataDir, pinKey: config.pinKey, pinKeysFile: config.pinKeysFile });
    // A ring that lacks a version the database uses (or has another key under its number) refuses to start.
    await checkRing(db, keys, Date.now());
  } catch (e) {
    await db.close();
    throw e;
  }
  return {
    db,
    keys,
    now: () => Date.now(),
    randomInt: secureRandomInt,
    newId: () => uuidv7(),
    actor: opts.actor,
    defaultFrom: parseMailbox(config.mailFrom),
    settingsUrl: `${config.publicUrl}/dialin`,
    mailLifetimeMs: config.delivery.lifetimeMs,
    onMailQueued: opts.onMailQueued,
  };
}


export function cliActor(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  // The machine too: `root` alone does not say which of the servers a change was made on.
  return cliActorName(name, os.hostname());
}
