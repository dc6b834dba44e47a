/**
 * The code a worker thread is started with (`new Worker(code, { eval: true })`) to run the module
 * `name` beside the caller's. Built (scripts/build.mjs), it is `dist/<name>.js` beside the caller's
 * chunk; from the sources it is TypeScript, and tsx is registered inside the thread first (loader
 * hooks are per thread).
 */
export function threadBoot(callerUrl: string, name: string): string {
  const compiled = callerUrl.endsWith('.js');
  const file = JSON.stringify(new URL(`./${name}.${compiled ? 'js' : 'ts'}`, callerUrl).href);
  return compiled ? `import(${file});` : `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${file}); });`;
}
