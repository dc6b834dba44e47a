/**
 * Postfix's `smtp-sink` (a fast SMTP server that accepts and drops mail) and `smtp-source` (an SMTP
 * load generator): together the machine's SMTP limit, the baseline the mail figures stand next to.
 * Taken from the system when Postfix is installed, otherwise extracted
 * from Debian's package into .bench/postfix — never installed, configured or started as an MTA.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from '../test/support/cli.ts';
import { freePort } from '../test/support/free-port.ts';

export interface PostfixTools {
  sink: string;
  source: string;
  /** Environment the tools run with (the extracted package's shared libraries). */
  env: NodeJS.ProcessEnv;
  /** Where they came from, for the report. */
  origin: string;
}

const CACHE = path.join(ROOT, '.bench', 'postfix');

function extracted(): PostfixTools | null {
  const sbin = path.join(CACHE, 'root/usr/sbin');
  if (!fs.existsSync(path.join(sbin, 'smtp-sink'))) return null;
  const version = fs.readdirSync(CACHE).find((f) => f.endsWith('.deb'))?.replace(/_amd64\.deb$|\.deb$/, '') ?? 'postfix';
  return {
    sink: path.join(sbin, 'smtp-sink'),
    source: path.join(sbin, 'smtp-source'),
    env: { ...process.env, LD_LIBRARY_PATH: path.join(CACHE, 'root/usr/lib/postfix') },
    origin: `${version} (extracted from the Debian package, not installed)`,
  };
}

/** The tools, or null with the reason printed (the report then shows no machine limit). */
export function postfixTools(): PostfixTools | null {
  if (fs.existsSync('/usr/sbin/smtp-sink') && fs.existsSync('/usr/sbin/smtp-source')) {
    return { sink: '/usr/sbin/smtp-sink', source: '/usr/sbin/smtp-source', env: process.env, origin: 'the installed postfix package' };
  }
  const cached = extracted();
  if (cached) return cached;
  fs.mkdirSync(CACHE, { recursive: true });
  const download = () => execFileSync('apt-get', ['download', 'postfix'], { cwd: CACHE, stdio: 'ignore' });
  try {
    try {
      download();
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
      download();
    }
    const deb = fs.readdirSync(CACHE).find((f) => f.endsWith('.deb'))!;
    execFileSync('dpkg', ['-x', path.join(CACHE, deb), path.join(CACHE, 'root')], { stdio: 'ignore' });
    return extracted();
  } catch (e) {
    console.log(`postfix: smtp-sink and smtp-source are not available (${(e as Error).message.split('\n')[0]}); no machine limit is measured.`);
    return null;
  }
}


async function listening(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`smtp-sink did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seconds of CPU a process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Seconds of CPU the whole machine has been busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

export interface RunningSink {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `smtp-sink` on a free loopback port (as `nobody` when run as root). With `dumpFile`, every
 * message is appended to it (-D: no measurable cost, perf.md §1b), so what arrived can be counted.
 */
export async function startSmtpSink(tools: PostfixTools, dumpFile?: string): Promise<RunningSink> {
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (dumpFile && asRoot) fs.chmodSync(path.dirname(dumpFile), 0o777);
  const args = [...(asRoot ? ['-u', 'nobody'] : []), ...(dumpFile ? ['-D', dumpFile] : []), `127.0.0.1:${port}`, '1024'];
  const child: ChildProcess = spawn(tools.sink, args, { env: tools.env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  await listening(port, 10_000);
  return {
    port,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `smtp-source -d -s SESSIONS -m MESSAGES -l SIZE`: messages per second over reused connections. */
export async function smtpSourceRate(tools: PostfixTools, port: number, o: { sessions: number; messages: number; size: number }): Promise<number> {
  const t0 = performance.now();
  const child = spawn(tools.source, ['-d', '-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.size), `127.0.0.1:${port}`], { env: tools.env, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`smtp-source exited with ${code}`);
  return o.messages / ((performance.now() - t0) / 1000);
}
