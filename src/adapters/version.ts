import fs from 'node:fs';

/** dialin's version, from its package.json (`dialin --version`, backup manifests, logs). */
export const DIALIN_VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
