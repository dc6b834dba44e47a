// `npm run build` (and `npm ci`, through `prepare`): compiles src/ into dist/ so `dialin` starts
// without compiling TypeScript at every call. One bundle split at the dynamic import()s: a cmdlet
// loads only the chunks it reaches (no fastify, no nodemailer). Packages made of many small ES
// modules are bundled in (kysely alone is 263 files to resolve and read); the others, native add-ons
// and CommonJS, stay in node_modules. dist/ is not committed; bin/dialin.js uses it only while it is
// newer than every source file, so a stale build never runs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist');
/** Bundled into dist/ rather than loaded from node_modules at run time. */
const BUNDLED = ['kysely', 'libphonenumber-js', 'csv-parse'];

const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies);
const external = deps.filter((d) => !BUNDLED.includes(d)).flatMap((d) => [d, `${d}/*`]);

fs.rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  // The CLI, and the mail-composing thread the worker starts by file name.
  entryPoints: ['src/adapters/cli/main.ts', 'src/worker/compose-thread.ts'],
  entryNames: '[name]',
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  // Less to read and parse at every start; names are kept (messages and checks use class names).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  metafile: true,
});
// The pages' stylesheet and script are read from disk next to the code.
fs.cpSync(path.join(ROOT, 'src/adapters/http/static'), path.join(OUT, 'static'), { recursive: true });
// What each chunk holds, for finding what a command loads (scripts/startup-report.mjs reads it).
fs.writeFileSync(path.join(OUT, 'meta.json'), JSON.stringify(result.metafile));
fs.writeFileSync(path.join(OUT, 'BUILT'), `${new Date().toISOString()}\n`);
