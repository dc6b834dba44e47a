// Preloaded with `node --require` by test/cli/startup.test.ts: writes every module the process
// loaded to $DIALIN_LOAD_PROBE_FILE (one URL or path a line): ES modules as the loader sees them
// (hooks in load-probe-hooks.mjs), CommonJS ones from require.cache at exit.
const fs = require('node:fs');
const path = require('node:path');
const { register } = require('node:module');
const { pathToFileURL } = require('node:url');

const file = process.env.DIALIN_LOAD_PROBE_FILE;
if (file) {
  register(pathToFileURL(path.join(__dirname, 'load-probe-hooks.mjs')).href, { data: { file } });
  process.on('exit', () => fs.appendFileSync(file, Object.keys(require.cache).map((p) => `${p}\n`).join('')));
}
