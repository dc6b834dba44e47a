import { AppError } from './errors.ts';

/**
 * What a backup says about itself (manifest.json of the archive): enough to refuse a wrong
 * restore before anything is written. Never a key or a secret: key versions appear only by their
 * public fingerprints.
 */
export interface BackupManifest {
  format: 'dialin-backup';
  formatVersion: 1;
  /** The dialin version that wrote it. */
  dialinVersion: string;
  /** ISO time of the snapshot. */
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  /** The data member and its size in bytes (its sha-256 is in SHA256SUMS). */
  data: { member: 'data.sqlite' | 'data.pgdump'; bytes: number };
  /** The schema version: the migrations applied in the snapshot, in order. */
  migrations: string[];
  /** Rows per table in the snapshot. */
  counts: Record<string, number>;
  /** The key versions the snapshot uses (not retired), by fingerprint. */
  keys: { version: number; fingerprint: string }[];
}

function bad(why: string): AppError {
  return new AppError('BACKUP_CORRUPT', `The backup's manifest.json is not one dialin reads: ${why}. Nothing was restored.`, { field: 'file' });
}

/** Parses and checks the manifest's shape. */
export function parseManifest(text: string): BackupManifest {
  let m: Partial<BackupManifest> | null;
  try {
    m = JSON.parse(text) as Partial<BackupManifest>;
  } catch {
    throw bad('it is not JSON');
  }
  if (!m || m.format !== 'dialin-backup') throw bad('its format is not dialin-backup');
  if (m.formatVersion !== 1) throw bad(`its format version ${String(m.formatVersion)} is newer than this dialin (1)`);
  if (m.dialect !== 'sqlite' && m.dialect !== 'postgres') throw bad('it names no dialect');
  if (!m.data || (m.data.member !== 'data.sqlite' && m.data.member !== 'data.pgdump') || !Number.isInteger(m.data.bytes)) throw bad('it names no data member');
  if (!Array.isArray(m.migrations) || !m.migrations.every((x) => typeof x === 'string')) throw bad('it lists no migrations');
  if (!m.counts || typeof m.counts !== 'object') throw bad('it has no row counts');
  if (!Array.isArray(m.keys) || !m.keys.every((k) => Number.isInteger(k?.version) && typeof k?.fingerprint === 'string')) throw bad('it lists no key versions');
  return m as BackupManifest;
}

/**
 * Refuses a restore whose key versions the ring lacks or holds under another key. `ring` is the
 * version → fingerprint of the ring this process has.
 */
export function checkBackupKeys(manifest: BackupManifest, ring: ReadonlyMap<number, string>, ringSource: string): void {
  for (const k of manifest.keys) {
    const have = ring.get(k.version);
    if (have === undefined) {
      throw new AppError('BACKUP_KEY_MISMATCH', `The backup was written with key version ${k.version} (fingerprint ${k.fingerprint}), which the key ring of ${ringSource} does not have (its versions: ${[...ring.keys()].join(', ') || 'none'}): its PINs and sealed secrets could not be checked or opened. Nothing was restored; restore the key ring of the deployment the backup comes from first.`);
    }
    if (have !== k.fingerprint) {
      throw new AppError('BACKUP_KEY_MISMATCH', `The backup was written with another key as version ${k.version} (fingerprint ${k.fingerprint}; ${ringSource} has ${have}): its PINs and sealed secrets could not be checked or opened. Nothing was restored; restore the key ring of the deployment the backup comes from first.`);
    }
  }
}

/** Tables whose rows mean the database is in use (a restore into it needs --force). */
export const IN_USE_TABLES = ['users', 'outbox', 'bridges', 'admins', 'audit'] as const;
