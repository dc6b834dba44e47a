import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from '../../support/cli.ts';

/** A `dialin` child process the test can signal (SIGKILL, SIGSTOP, SIGTERM). */
export interface DialinProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Everything it wrote (stdout and stderr: pino JSON lines). */
  output(): string;
  /** Sends a signal unless it already exited. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Every process started here that has not exited yet. */
const running = new Set<DialinProcess>();

// A test that fails half-way must not leave workers behind it: whatever still runs when the
// test file's process exits is killed.
process.on('exit', () => {
  for (const p of running) p.signal('SIGKILL');
});

/** Stops every process started by this test file that still runs (for `after` hooks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Starts `dialin ARGS` with only the test's environment (no NODE_EXTRA_CA_CERTS: it slows every start). */
export function spawnDialin(args: string[], env: Record<string, string>): DialinProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DIALIN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p: DialinProcess = {
    child,
    pid: child.pid!,
    exited,
    output: () => out,
    signal(sig) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    async stop(graceMs = 30_000) {
      p.signal('SIGCONT');
      p.signal('SIGTERM');
      const timer = setTimeout(() => p.signal('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(p);
  void exited.then(() => running.delete(p));
  return p;
}

/**
 * Resolves once the process printed a line matching `pattern`; rejects if it exits first or after
 * `timeoutMs` (generous: a start on a machine saturated by other work can take a minute).
 */
export async function waitForOutput(p: DialinProcess, pattern: RegExp, timeoutMs = 180_000): Promise<RegExpExecArray> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(p.output());
    if (m) return m;
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`dialin exited (${p.child.exitCode ?? p.child.signalCode}) before printing ${pattern}:\n${p.output().slice(-3000)}`);
    if (Date.now() > end) throw new Error(`dialin did not print ${pattern} within ${timeoutMs} ms:\n${p.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `dialin worker`, resolved once it delivers (it printed where mail goes). */
export async function startWorker(env: Record<string, string>): Promise<DialinProcess> {
  const p = spawnDialin(['worker'], env);
  await startedOrStopped(p, waitForOutput(p, /Delivering mail through|mail goes to/));
  return p;
}

/** `dialin serve` on a free port (PORT=0), resolved with its base URL once it listens. */
export async function startServe(env: Record<string, string>, opts: { worker: boolean }): Promise<{ proc: DialinProcess; url: string }> {
  const proc = spawnDialin(['serve', ...(opts.worker ? [] : ['--no-worker'])], { ...env, PORT: '0' });
  const m = await startedOrStopped(proc, waitForOutput(proc, /"url":"(http:\/\/[^"]+)"/));
  return { proc, url: m[1]! };
}

/** A process that did not come up is stopped before the error is passed on (nothing left running). */
async function startedOrStopped<T>(p: DialinProcess, up: Promise<T>): Promise<T> {
  try {
    return await up;
  } catch (e) {
    await p.stop(5_000);
    throw e;
  }
}

/** The pid inside a lease owner (`host/pid/…#n`): which worker holds a message. */
export function pidOfOwner(owner: string | null): number | null {
  const m = owner ? /^[^/]*\/(\d+)\//.exec(owner) : null;
  return m ? Number(m[1]) : null;
}
