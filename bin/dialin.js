#!/usr/bin/env node
// Runs the build in dist/ (scripts/build.mjs, made by `npm ci` and `npm run build`) while it is newer
// than every source file; else the TypeScript sources through tsx, so an edit is never run stale.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `dialin … | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time under a directory (a few hundred stats, milliseconds). */
function newest(dir) {
  let m = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return m;
}

/** True when dist/ was built after the last change to src/ (a stale build never runs). */
function buildIsCurrent() {
  let built;
  try {
    built = fs.statSync(path.join(ROOT, 'dist/BUILT')).mtimeMs;
  } catch {
    return false;
  }
  try {
    return newest(path.join(ROOT, 'src')) <= built;
  } catch {
    return true; // an install without the sources runs what it has
  }
}

let main;
if (buildIsCurrent()) {
  ({ main } = await import('../dist/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/adapters/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
