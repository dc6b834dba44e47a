/**
 * The background re-seal of `dialin serve` and `dialin worker` on SQLite, in a thread of its own.
 * better-sqlite3's calls are synchronous: a batch run in the service's thread held its event loop
 * for the batch's time (some 40 ms for 2,000 secrets), and every PIN check and page waited. Here the
 * batches run on a connection of this thread; the service's reads go on beside them (WAL), and a
 * write of the service waits for a batch as it would for another process's (`dialin key reseal`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openDb } from '../adapters/db/database.ts';
import { loadKeys, type KeySource } from '../adapters/crypto/keys.ts';
import { resealAll } from '../app/key-ring.ts';

export interface ResealThreadInput {
  keySource: KeySource;
  /** The version the service checked every live process holds: nothing is re-sealed under another. */
  version: number;
  batch?: number;
}
/** Thread → service, once at the end. */
export type ResealThreadResult = { resealed: number } | { resealed: number; error: string };

const input = workerData as ResealThreadInput;
let stopped = false;
parentPort!.on('message', (m) => {
  if (m === 'stop') stopped = true;
});

const db = openDb({ dataDir: input.keySource.dataDir, databaseUrl: null });
let resealed = 0;
try {
  const keys = loadKeys(input.keySource);
  // A rotation since the service looked: its next heartbeat checks the holders again.
  if (keys.current === input.version) {
    // A 'stop' is read between batches.
    const onBatch = async (total: number) => {
      resealed = total; // reported if a later batch fails
      await nextTurn();
    };
    resealed = await resealAll(db, keys, { batch: input.batch, stop: () => stopped, onBatch });
  }
  parentPort!.postMessage({ resealed } satisfies ResealThreadResult);
} catch (e) {
  parentPort!.postMessage({ resealed, error: `${(e as { code?: string }).code ?? 'INTERNAL_ERROR'}: ${(e as Error).message}` } satisfies ResealThreadResult);
} finally {
  await db.close();
  parentPort!.close();
}
