import fs from 'node:fs';
import { AppError } from '../../core/errors.ts';

/** The PEM of DIALIN_SMTP_CA_FILE (a private relay's CA), or null when none is set; unreadable is a configuration error. */
export function readCaFile(file: string | null): string | null {
  if (!file) return null;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('SMTP_CONFIG_INVALID', `DIALIN_SMTP_CA_FILE ${file} cannot be read: ${(e as Error).message}`, { field: 'DIALIN_SMTP_CA_FILE' });
  }
}
