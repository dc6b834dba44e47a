import type { Migration } from 'kysely';

/**
 * Numbered, immutable migrations in the order they run. Add new ones at the end; never edit one.
 * Each module is loaded only when it is to run: a start on a migrated database (every CLI call)
 * needs the names alone, not the code of every schema change.
 */
export const MIGRATIONS: Readonly<Record<string, () => Promise<Migration>>> = Object.freeze({
  '0001_directory': () => import('./0001_directory.ts'),
  '0002_mail': () => import('./0002_mail.ts'),
  '0003_web': () => import('./0003_web.ts'),
  '0006_directory_sync': () => import('./0006_directory_sync.ts'),
  '0008_bridge_toll_free_default': () => import('./0008_bridge_toll_free_default.ts'),
  '0009_deliverability': () => import('./0009_deliverability.ts'),
  '0012_users_at_scale': () => import('./0012_users_at_scale.ts'),
  '0013_verify_decoys': () => import('./0013_verify_decoys.ts'),
  '0015_key_ring': () => import('./0015_key_ring.ts'),
  '0018_local_numbers': () => import('./0018_local_numbers.ts'),
  '0022_mail_audit_pages': () => import('./0022_mail_audit_pages.ts'),
  '0020_scim': () => import('./0020_scim.ts'),
  '0025_directory_sync_source': () => import('./0025_directory_sync_source.ts'),
  '0019_access_numbers': () => import('./0019_access_numbers.ts'),
  '0021_sso': () => import('./0021_sso.ts'),
  '0023_admin_pages_at_scale': () => import('./0023_admin_pages_at_scale.ts'),
  '0024_directory_group_mark': () => import('./0024_directory_group_mark.ts'),
  '0028_backfills': () => import('./0028_backfills.ts'),
  '0029_users_first_mail': () => import('./0029_users_first_mail.ts'),
  '0031_directory_ca_pem': () => import('./0031_directory_ca_pem.ts'),
});
