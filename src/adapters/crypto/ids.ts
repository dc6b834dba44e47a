import { pooledRandomBytes } from './random-pool.ts';

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness. Ids made in time order land
 * at the end of B-tree indexes, so bulk inserts (outbox, audit) touch few pages instead of
 * scattering writes over the whole index as random UUIDs do.
 */
export function uuidv7(now = Date.now()): string {
  const b = pooledRandomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
