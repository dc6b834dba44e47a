import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../core/errors.ts';
import { pooledRandomBytes } from './random-pool.ts';

/**
 * The secrets that live outside the database: a key ring of numbered 32-byte master keys, one of
 * them current. The ring comes from a key file (mode 0600) in the data directory, created on
 * first start, or from DIALIN_PIN_KEY (the current version) plus DIALIN_PIN_KEYS_FILE (older
 * versions). Three sub-keys are derived from each version: HMAC-SHA-256 for PIN hashes,
 * AES-256-GCM for sealed secrets (PINs waiting in the outbox, relay and LDAP passwords, DKIM
 * keys), HMAC for derived tokens. New hashes and seals use the current version and say which one
 * they were made with (`k<V>$…`; version 1 keeps the format it had before rings, no prefix), so
 * an older version still opens and verifies what it made until it is retired.
 */
export interface Keys {
  /** The version new hashes, seals and tokens are made with. */
  readonly current: number;
  /** The versions this process holds, ascending. */
  versions(): number[];
  /** The version a stored hash or seal was made with. */
  versionOf(stored: string): number;
  hashPin(userId: string, pin: string): string;
  /** Whether the PIN matches the stored hash, whichever version of the ring made it. */
  pinMatches(userId: string, pin: string, storedHash: string): boolean;
  sealPin(pin: string): string;
  openPin(sealed: string): string;
  /** Encrypts another secret (an SMTP password, a DKIM key) the same way as a PIN. */
  seal(secret: string): string;
  open(sealed: string): string;
  /** An unguessable token for a purpose and an id (sign-in links), under the current version. */
  derivedToken(purpose: string, id: string): string;
  /** The token under every version held, current first (to verify one made before a rotation). */
  derivedTokens(purpose: string, id: string): string[];
  /** A public digest of one version's key: equal across processes holding the same key. Never the key. */
  fingerprint(version: number): string;
  /** A digest of the whole ring (versions, their keys, the current one): equal when two processes agree. */
  ringFingerprint(): string;
  /** Re-reads the key file when it changed (a rotation by another process); true when the ring changed. */
  reload(): boolean;
  /** Where the ring came from, for messages (never the keys). */
  readonly source: string;
}

export const KEY_FILE = 'dialin.key';
const RING_FORMAT = 'dialin-key-ring/1';
const HEX64 = /^[0-9a-f]{64}$/i;

/** A ring as kept in a file: versions and their keys in hex, and the current version. */
export interface RingData {
  current: number;
  keys: Map<number, Buffer>;
}

export interface KeySource {
  dataDir: string;
  /** DIALIN_PIN_KEY: `hex` (version 1) or `V:hex`. */
  pinKey: string | null;
  /** DIALIN_PIN_KEYS_FILE: a ring file with the older versions. */
  pinKeysFile?: string | null;
}

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, KEY_FILE);
}

/** Parses DIALIN_PIN_KEY: `hex` is version 1, `V:hex` version V. */
export function parsePinKey(value: string): { version: number; key: Buffer } {
  const m = /^(?:([1-9][0-9]{0,5}):)?([0-9a-fA-F]{64})$/.exec(value.trim());
  if (!m) throw new AppError('KEY_INVALID', 'DIALIN_PIN_KEY must be 64 hexadecimal characters, or VERSION:64 hexadecimal characters.');
  return { version: m[1] ? Number(m[1]) : 1, key: Buffer.from(m[2]!, 'hex') };
}

/** Reads a key file: the ring format, or the single key of before rings (version 1). */
export function readRingFile(file: string): RingData {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (HEX64.test(text)) return { current: 1, keys: new Map([[1, Buffer.from(text, 'hex')]]) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const p = parsed as { format?: unknown; current?: unknown; keys?: unknown } | null;
  if (!p || p.format !== RING_FORMAT || !Number.isInteger(p.current) || typeof p.keys !== 'object' || p.keys === null) {
    throw new AppError('KEY_INVALID', `The key file ${file} is malformed: it must hold 64 hexadecimal characters or a dialin key ring.`);
  }
  const keys = new Map<number, Buffer>();
  for (const [v, hex] of Object.entries(p.keys as Record<string, unknown>)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || typeof hex !== 'string' || !HEX64.test(hex)) throw new AppError('KEY_INVALID', `The key file ${file} is malformed: version ${JSON.stringify(v)} must be a number with 64 hexadecimal characters.`);
    keys.set(n, Buffer.from(hex, 'hex'));
  }
  if (!keys.has(p.current as number)) throw new AppError('KEY_INVALID', `The key file ${file} is malformed: its current version ${String(p.current)} has no key.`);
  return { current: p.current as number, keys };
}

/** Writes a ring file atomically, mode 0600 (a temporary file renamed over the old one). */
export function writeRingFile(file: string, ring: RingData): void {
  const keys: Record<string, string> = {};
  for (const [v, k] of [...ring.keys].sort((a, b) => a[0] - b[0])) keys[String(v)] = k.toString('hex');
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ format: RING_FORMAT, current: ring.current, keys }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

/** The ring of a deployment as its configuration gives it (the key file is created on first start). */
export function readRing(src: KeySource): RingData {
  if (src.pinKey) {
    const { version, key } = parsePinKey(src.pinKey);
    const keys = new Map<number, Buffer>();
    if (src.pinKeysFile) {
      for (const [v, k] of readRingFile(src.pinKeysFile).keys) keys.set(v, k);
    }
    const other = keys.get(version);
    if (other && !other.equals(key)) throw new AppError('KEY_INVALID', `DIALIN_PIN_KEY is version ${version}, but DIALIN_PIN_KEYS_FILE has another key for that version.`);
    keys.set(version, key);
    if (Math.max(...keys.keys()) !== version) throw new AppError('KEY_INVALID', `DIALIN_PIN_KEY is version ${version}, but DIALIN_PIN_KEYS_FILE has a newer version (${Math.max(...keys.keys())}): DIALIN_PIN_KEY must be the current, newest key.`);
    return { current: version, keys };
  }
  const file = keyFilePath(src.dataDir);
  fs.mkdirSync(src.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if the file exists, so two processes starting together never overwrite each other.
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readRingFile(file);
}

export function loadKeys(src: KeySource): Keys {
  const fromFile = !src.pinKey;
  const file = keyFilePath(src.dataDir);
  const source = fromFile ? file : src.pinKeysFile ? 'DIALIN_PIN_KEY and DIALIN_PIN_KEYS_FILE' : 'DIALIN_PIN_KEY';
  let stamp = fromFile ? fileStamp(file) : '';
  let checkedAt = 0;
  return keysFromRing(readRing(src), source, (force) => {
    if (!fromFile) return null;
    // An unknown version seen again and again (a decoy's) costs one stat a second at most.
    if (!force && Date.now() - checkedAt < 1000) return null;
    const now = fileStamp(file);
    if (now === stamp) {
      checkedAt = Date.now();
      return null;
    }
    stamp = now;
    checkedAt = 0;
    return readRingFile(file);
  });
}

function fileStamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return '';
  }
}

/** Keys from one master key as version 1 (tests, tools). */
export function keysFromMaster(master: Buffer): Keys {
  return keysFromRing({ current: 1, keys: new Map([[1, master]]) }, 'a master key');
}

interface Version {
  hmacKey: Buffer;
  encKey: Buffer;
  tokenKey: Buffer;
  fingerprint: string;
}

function deriveVersion(master: Buffer): Version {
  const derive = (info: string) => Buffer.from(crypto.hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  return {
    hmacKey: derive('dialin/pin-hash/v1'),
    encKey: derive('dialin/outbox-seal/v1'),
    tokenKey: derive('dialin/derived-token/v1'),
    fingerprint: derive('dialin/key-fingerprint/v1').subarray(0, 12).toString('hex'),
  };
}

const PREFIX = /^k([1-9][0-9]{0,5})\$/;

/** The version a stored value names: `k<V>$…`, or 1 for a value made before rings. */
export function storedVersion(stored: string): number {
  const m = PREFIX.exec(stored);
  return m ? Number(m[1]) : 1;
}

function body(stored: string): string {
  const m = PREFIX.exec(stored);
  return m ? stored.slice(m[0].length) : stored;
}

const tag = (version: number, value: string) => (version === 1 ? value : `k${version}$${value}`);

export function keysFromRing(initial: RingData, source: string, reread: (force: boolean) => RingData | null = () => null): Keys {
  let ring = new Map<number, Version>();
  let current = initial.current;
  const install = (data: RingData) => {
    const next = new Map<number, Version>();
    for (const [v, k] of data.keys) next.set(v, ring.get(v) && ring.get(v)!.fingerprint === deriveVersion(k).fingerprint ? ring.get(v)! : deriveVersion(k));
    ring = next;
    current = data.current;
  };
  install(initial);
  const reload = (force = false): boolean => {
    const data = reread(force);
    if (!data) return false;
    const before = ringPrint();
    install(data);
    return ringPrint() !== before;
  };
  const version = (v: number): Version => {
    let k = ring.get(v);
    // A value of a version made after this process started (a rotation elsewhere): read the file again.
    if (!k && reload(true)) k = ring.get(v);
    if (!k) throw new AppError('KEY_VERSION_MISSING', `Key version ${v} is not in the key ring (${source}): it was retired, or this process has an older ring than the process that made the value.`);
    return k;
  };
  const hmac = (k: Version, userId: string, pin: string) => crypto.createHmac('sha256', k.hmacKey).update(`${userId}:${pin}`).digest('base64url');
  const seal = (secret: string) => {
    const k = version(current);
    const iv = pooledRandomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', k.encKey, iv);
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return tag(current, Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64'));
  };
  const open = (sealed: string) => {
    const k = version(storedVersion(sealed));
    const b = Buffer.from(body(sealed), 'base64');
    const d = crypto.createDecipheriv('aes-256-gcm', k.encKey, b.subarray(0, 12));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  };
  const token = (k: Version, purpose: string, id: string) => crypto.createHmac('sha256', k.tokenKey).update(`${purpose}:${id}`).digest('base64url');
  function ringPrint(): string {
    const h = crypto.createHash('sha256').update(`current=${current}`);
    for (const v of [...ring.keys()].sort((a, b) => a - b)) h.update(`;${v}=${ring.get(v)!.fingerprint}`);
    return h.digest('hex').slice(0, 24);
  }
  return {
    get current() {
      return current;
    },
    source,
    versions: () => [...ring.keys()].sort((a, b) => a - b),
    versionOf: storedVersion,
    hashPin: (userId, pin) => tag(current, hmac(version(current), userId, pin)),
    pinMatches(userId, pin, storedHash) {
      const v = storedVersion(storedHash);
      // A hash of a version this process does not hold (the decoy's after its version was
      // retired) costs the same HMAC and never matches.
      const k = ring.get(v) ?? (reload() ? ring.get(v) : undefined);
      const a = Buffer.from(hmac(k ?? version(current), userId, pin));
      const b = Buffer.from(body(storedHash));
      return a.length === b.length && crypto.timingSafeEqual(a, b) && k !== undefined;
    },
    sealPin: seal,
    openPin: open,
    seal,
    open,
    derivedToken: (purpose, id) => token(version(current), purpose, id),
    derivedTokens: (purpose, id) => [current, ...[...ring.keys()].filter((v) => v !== current).sort((a, b) => b - a)].map((v) => token(ring.get(v)!, purpose, id)),
    fingerprint: (v) => version(v).fingerprint,
    ringFingerprint: ringPrint,
    reload: () => reload(true),
  };
}

/** CSPRNG integer in [0, n) for PINs and conference IDs. */
export const secureRandomInt = (n: number): number => crypto.randomInt(n);
