// Loader hooks of load-probe.cjs: they run on the loader's own thread and append each URL loaded.
import fs from 'node:fs';

let file = null;
export function initialize(data) {
  file = data.file;
}
export async function load(url, context, next) {
  if (file && !url.startsWith('node:')) fs.appendFileSync(file, `${url}\n`);
  return next(url, context);
}
