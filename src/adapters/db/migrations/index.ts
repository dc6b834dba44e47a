import type { Migration } from 'kysely';
import * as m0001 from './0001_directory.ts';
import * as m0002 from './0002_mail.ts';
import * as m0003 from './0003_web.ts';
import * as m0006 from './0006_directory_sync.ts';
import * as m0008 from './0008_bridge_toll_free_default.ts';
import * as m0009 from './0009_deliverability.ts';
import * as m0012 from './0012_users_at_scale.ts';
import * as m0013 from './0013_verify_decoys.ts';
import * as m0015 from './0015_key_ring.ts';
import * as m0018 from './0018_local_numbers.ts';
import * as m0022 from './0022_mail_audit_pages.ts';
import * as m0020 from './0020_scim.ts';
import * as m0025 from './0025_directory_sync_source.ts';
import * as m0024 from './0024_directory_group_mark.ts';
import * as m0019 from './0019_access_numbers.ts';
import * as m0021 from './0021_sso.ts';
import * as m0023 from './0023_admin_pages_at_scale.ts';
import * as m0028 from './0028_backfills.ts';
import * as m0029 from './0029_users_first_mail.ts';

/** Numbered, immutable migrations in the order they run. Add new ones at the end; never edit one. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_directory': m0001,
  '0002_mail': m0002,
  '0003_web': m0003,
  '0006_directory_sync': m0006,
  '0008_bridge_toll_free_default': m0008,
  '0009_deliverability': m0009,
  '0012_users_at_scale': m0012,
  '0013_verify_decoys': m0013,
  '0015_key_ring': m0015,
  '0018_local_numbers': m0018,
  '0022_mail_audit_pages': m0022,
  '0020_scim': m0020,
  '0025_directory_sync_source': m0025,
  '0019_access_numbers': m0019,
  '0021_sso': m0021,
  '0023_admin_pages_at_scale': m0023,
  '0024_directory_group_mark': m0024,
  '0028_backfills': m0028,
  '0029_users_first_mail': m0029,
});
