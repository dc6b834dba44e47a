import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest package.json above this module: src/adapters/ in the sources, dist/ in the build. */
function packageJson(): { version: string } {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string };
    if (path.dirname(dir) === dir) return { version: 'unknown' };
  }
}

/** dialin's version, from its package.json (`dialin --version`, backup manifests, logs). */
export const DIALIN_VERSION: string = packageJson().version;
