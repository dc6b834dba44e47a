// A node:test reporter that writes only a short list of the failing tests (name, file and line,
// the first line of the error) once the run is over, so the end of `npm test` says what broke.
// Used beside the spec reporter by scripts/test.sh.
import path from 'node:path';

const root = process.cwd();

export default async function* failures(source) {
  /** Per file, the names of the tests being run at each nesting level (the path to a failure). */
  const stacks = new Map();
  const failed = [];
  for await (const event of source) {
    const d = event.data ?? {};
    const file = d.file ? path.relative(root, d.file) : '(no file)';
    if (event.type === 'test:start') {
      const stack = stacks.get(file) ?? [];
      stack.length = d.nesting;
      stack.push(d.name);
      stacks.set(file, stack);
    } else if (event.type === 'test:fail') {
      const error = d.details?.error;
      // A suite that failed only because a test in it failed: that test is listed itself.
      if (error?.failureType === 'subtestsFailed') continue;
      // A file that could not be loaded or exited with an error is reported as a test named by its path.
      const whole = d.file && d.name === d.file;
      const names = whole ? [`${file} (the file itself failed: its output is above)`] : [...(stacks.get(file) ?? []).slice(0, d.nesting), d.name];
      const cause = error?.cause ?? error;
      const lines = String(cause?.message ?? cause ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
      // "Expected values to be strictly equal:" says more with the line that follows it.
      const message = lines[0]?.endsWith(':') && lines[1] ? `${lines[0]} ${lines[1]}` : (lines[0] ?? '');
      // Where it failed: the first frame of the error in the test file, else where the test is declared.
      const frame = d.file ? String(cause?.stack ?? '').split(`${d.file}:`)[1]?.match(/^(\d+):/)?.[1] : undefined;
      const line = frame ?? d.line;
      failed.push({ where: line ? `${file}:${line}` : file, name: names.join(' › '), message: message.length > 200 ? `${message.slice(0, 199)}…` : message });
    }
  }
  if (!failed.length) {
    yield '\nNo test failed.\n';
    return;
  }
  yield `\n${failed.length} failing test${failed.length === 1 ? '' : 's'}:\n`;
  for (const f of failed) yield `  ✖ ${f.name}\n      ${f.where}${f.message ? `\n      ${f.message.trim()}` : ''}\n`;
}
