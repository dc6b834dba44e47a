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

/**
 * The newest modification time under a directory (a few hundred stats, milliseconds): every call
 * pays it, so plain string paths and no path.join (whose normalising was most of the walk's time).
 * Tests are no input of the build: a changed test does not make dist/ stale.
 */
function newest(dir) {
  let m = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    const t = e.isDirectory() ? newest(p) : e.name.endsWith('.test.ts') ? 0 : fs.statSync(p).mtimeMs;
    if (t > m) m = t;
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
