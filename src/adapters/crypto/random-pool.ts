import crypto from 'node:crypto';

const POOL_SIZE = 8192;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * CSPRNG bytes drawn from a pooled buffer. Each call to crypto.randomBytes costs 6–8 µs in this
 * VM whatever its size (perf.md); ids and IVs for 100,000 users made that 2 s of a bulk run.
 * The bytes are copied out, so no two callers ever share them.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL_SIZE) return crypto.randomBytes(n);
  if (offset + n > pool.length) {
    pool = crypto.randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
