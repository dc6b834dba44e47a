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
const BUNDLED = ['kysely', 'libphonenumber-js', 'csv-parse', 'better-sqlite3'];

const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies);
const external = deps.filter((d) => !BUNDLED.includes(d)).flatMap((d) => [d, `${d}/*`]);

/**
 * libphonenumber-js's full metadata (needed for number types: toll-free) is a 150 KB object
 * literal that every start compiled and built, though most calls parse no number. In dist/ it is
 * a JSON file next to the code, read at the first look into it: the same object, behind getters
 * of its keys (the library reads nothing else of it).
 */
const PHONE_METADATA = 'phone-metadata.max.json';
const lazyPhoneMetadata = {
  name: 'lazy-phone-metadata',
  setup(b) {
    b.onLoad({ filter: /[\\/]libphonenumber-js[\\/]metadata\.max\.json\.js$/ }, (args) => {
      const keys = Object.keys(JSON.parse(fs.readFileSync(args.path.replace(/\.js$/, ''), 'utf8')));
      const getters = keys.map((k) => `get ${JSON.stringify(k)}() { return load()[${JSON.stringify(k)}]; }`);
      return {
        loader: 'js',
        contents: `import { createRequire } from 'node:module';\nlet m;\nconst load = () => (m ??= createRequire(import.meta.url)('./${PHONE_METADATA}'));\nexport default { ${getters.join(', ')} };\n`,
      };
    });
  },
};

/**
 * better-sqlite3's JavaScript is bundled too (a dozen CommonJS files to resolve, read and compile at
 * every call on SQLite); its add-on stays in node_modules. What it requires of Node comes as ES
 * modules (an ES bundle has no require), and its `bindings('better_sqlite3.node')` (when no add-on
 * is given: backup and restore) loads it from better-sqlite3's directory, not from next to dist/.
 */
const BINDINGS = `import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
export default (name) => require('bindings')({ bindings: name, module_root: path.dirname(require.resolve('better-sqlite3/package.json')) });
`;
const sqliteInBundle = {
  name: 'better-sqlite3-in-bundle',
  setup(b) {
    b.onResolve({ filter: /^(fs|path|util|bindings)$/ }, (args) => (/[\\/]node_modules[\\/]better-sqlite3[\\/]/.test(args.importer) ? { path: args.path, namespace: 'sqlite-shim' } : undefined));
    b.onResolve({ filter: /^bindings-esm$/, namespace: 'sqlite-shim' }, () => ({ path: 'bindings-esm', namespace: 'sqlite-shim' }));
    // require('bindings') is called: a CommonJS module whose export is the ES module's function.
    const contents = { bindings: "module.exports = require('bindings-esm').default;\n", 'bindings-esm': BINDINGS };
    b.onLoad({ filter: /.*/, namespace: 'sqlite-shim' }, (args) => ({ loader: 'js', resolveDir: ROOT, contents: contents[args.path] ?? `export * from 'node:${args.path}';\n` }));
  },
};

const MAIN = 'src/adapters/cli/main.ts';
const options = {
  absWorkingDir: ROOT,
  // The CLI, and the threads started by file name: mail composing (worker), background re-seal (serve, worker).
  entryPoints: [MAIN, 'src/worker/compose-thread.ts', 'src/main/reseal-thread.ts'],
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
};

/**
 * esbuild puts files in one chunk when the same entries and import()ed modules reach them: the
 * modules main.ts loads came in some 25 chunks (each command shares a different part of them), and
 * a cmdlet call paid the loader's resolve, read and link for each. Every module main.ts import()s
 * runs after main.ts is loaded; importing main.ts from each of them (in dist/ only) changes nothing
 * at run time (an import is hoisted: at the end, the source map keeps its lines) and makes them all reach the whole of what main.ts loads: one chunk. Not for those the
 * threads reach too (they do not load main.ts).
 */
function graphOf(meta) {
  const dynamic = new Set();
  for (const input of Object.values(meta.inputs)) for (const i of input.imports) if (i.kind === 'dynamic-import' && !i.external && i.path.startsWith('src/')) dynamic.add(i.path);
  const thread = new Set();
  const visit = (f) => {
    if (thread.has(f) || !meta.inputs[f]) return;
    thread.add(f);
    for (const i of meta.inputs[f].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit('src/worker/compose-thread.ts');
  visit('src/main/reseal-thread.ts');
  return [...dynamic].filter((f) => !thread.has(f));
}
const probe = await build({ ...options, write: false, plugins: [lazyPhoneMetadata, sqliteInBundle] });
const anchored = new Set(graphOf(probe.metafile).map((f) => path.join(ROOT, f)));
const oneChunk = {
  name: 'one-chunk-for-main',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!anchored.has(args.path)) return undefined;
      return { loader: 'ts', contents: `${fs.readFileSync(args.path, 'utf8')}\nimport ${JSON.stringify(path.join(ROOT, MAIN))};\n` };
    });
  },
};

fs.rmSync(OUT, { recursive: true, force: true });
const result = await build({ ...options, plugins: [lazyPhoneMetadata, sqliteInBundle, oneChunk] });
fs.copyFileSync(path.join(ROOT, 'node_modules/libphonenumber-js/metadata.max.json'), path.join(OUT, PHONE_METADATA));
// The pages' stylesheet and script are read from disk next to the code.
fs.cpSync(path.join(ROOT, 'src/adapters/http/static'), path.join(OUT, 'static'), { recursive: true });
// What each chunk holds, for finding what a command loads.
fs.writeFileSync(path.join(OUT, 'meta.json'), JSON.stringify(result.metafile));
fs.writeFileSync(path.join(OUT, 'BUILT'), `${new Date().toISOString()}\n`);
