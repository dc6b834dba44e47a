import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../core/errors.ts';
import { pooledRandomBytes } from './random-pool.ts';

/**
 * The secrets that live outside the database: one 32-byte master key, from DIALIN_PIN_KEY or
 * from a key file (mode 0600) created in the data directory on first start. Two sub-keys are
 * derived from it: one for PIN hashes (HMAC-SHA-256), one for PINs waiting in the outbox (AES-256-GCM).
 */
export interface Keys {
  hashPin(userId: string, pin: string): string;
  pinMatches(userId: string, pin: string, storedHash: string): boolean;
  sealPin(pin: string): string;
  openPin(sealed: string): string;
  /** Encrypts another secret (an SMTP password) the same way as a PIN. */
  seal(secret: string): string;
  open(sealed: string): string;
  /** An unguessable token for a purpose and an id (sign-in links): only the holder of the key can compute it. */
  derivedToken(purpose: string, id: string): string;
}

export const KEY_FILE = 'dialin.key';

export function loadKeys(opts: { dataDir: string; pinKey: string | null }): Keys {
  return keysFromMaster(loadMasterKey(opts));
}

function loadMasterKey(opts: { dataDir: string; pinKey: string | null }): Buffer {
  if (opts.pinKey) return Buffer.from(opts.pinKey, 'hex');
  const file = path.join(opts.dataDir, KEY_FILE);
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if the file exists, so two processes starting together never overwrite each other.
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new AppError('KEY_INVALID', `The key file ${file} is malformed: it must hold 64 hexadecimal characters.`);
  return Buffer.from(hex, 'hex');
}

export function keysFromMaster(master: Buffer): Keys {
  const derive = (info: string) => Buffer.from(crypto.hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  const hmacKey = derive('dialin/pin-hash/v1');
  const encKey = derive('dialin/outbox-seal/v1');
  const tokenKey = derive('dialin/derived-token/v1');
  const hashPin = (userId: string, pin: string) => crypto.createHmac('sha256', hmacKey).update(`${userId}:${pin}`).digest('base64url');
  const seal = (secret: string) => {
    const iv = pooledRandomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', encKey, iv);
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  };
  const open = (sealed: string) => {
    const b = Buffer.from(sealed, 'base64');
    const d = crypto.createDecipheriv('aes-256-gcm', encKey, b.subarray(0, 12));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  };
  return {
    hashPin,
    pinMatches(userId, pin, storedHash) {
      const a = Buffer.from(hashPin(userId, pin));
      const b = Buffer.from(storedHash);
      return a.length === b.length && crypto.timingSafeEqual(a, b);
    },
    sealPin: seal,
    openPin: open,
    seal,
    open,
    derivedToken: (purpose, id) => crypto.createHmac('sha256', tokenKey).update(`${purpose}:${id}`).digest('base64url'),
  };
}

/** CSPRNG integer in [0, n) for PINs and conference IDs. */
export const secureRandomInt = (n: number): number => crypto.randomInt(n);
