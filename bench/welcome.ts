/**
 * `npm run bench -- welcome [--users N] [--legacy N] [--dialects sqlite,postgres] [--tls]`
 *
 * Welcomes N users (20,000) with ONE `dialin Set-CsPinSendCAWelcomeMail -UserUri @FILE -Force`
 * (new PIN, outbox row, the command's own pooled SMTP delivery, report) to an SMTP sink in another
 * process, and, as the baseline measured in the same run, the legacy shape: the PowerShell loop
 * calling the script once per user, each call its own process and its own SMTP connection
 * (`--legacy` users, 100 by default). Prints users/s of both and the ratio (goal: ≥ 50×).
 * `--tls`: the sink offers STARTTLS and requires AUTH, and both shapes use -UseSsl -Credential.
 */
import crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPgDatabase } from '../test/support/dialects.ts';
import { BIN, ROOT } from '../test/support/cli.ts';
import { postfixTools, startSmtpSink } from './postfix.ts';

const SELF = fileURLToPath(import.meta.url);
const SMTP_USER = 'bench@contoso.com';
const SMTP_PASSWORD = 'bench-password';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

/** Runs `dialin ARGS` to completion; returns the wall time in seconds. */
async function dialin(args: string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`dialin ${args.join(' ')} failed (${code}):\n${stderr.slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}

/** The sink: an smtp-server in its own process that counts messages; answers "count" on stdin. */
interface Sink {
  port: number;
  count(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Postfix's smtp-sink when it is there and no TLS is asked for (it costs the machine about a third
 * of what smtp-server does per message, and it is the relay the mail-workers scenario measures
 * against); it appends every message to a dump file, whose records are counted.
 */
async function startSink(tls: { key: string; cert: string } | null, dir: string): Promise<Sink & { name: string }> {
  const tools = tls ? null : postfixTools();
  if (tools) {
    const dump = path.join(dir, 'sink', 'dump');
    fs.mkdirSync(path.dirname(dump), { recursive: true });
    const sink = await startSmtpSink(tools, dump);
    return {
      name: `Postfix smtp-sink (${tools.origin})`,
      port: sink.port,
      async count() {
        if (!fs.existsSync(dump)) return 0;
        let n = 0;
        for await (const line of readline.createInterface({ input: fs.createReadStream(dump, 'latin1'), crlfDelay: Infinity })) if (line.startsWith('X-Client-Addr: ')) n++;
        return n;
      },
      stop: () => sink.stop(),
    };
  }
  return { name: 'smtp-server in another process', ...(await startNodeSink(tls)) };
}

async function startNodeSink(tls: { key: string; cert: string } | null): Promise<Sink> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--sink'], { cwd: ROOT, env: { ...process.env, BENCH_SINK_TLS: tls ? JSON.stringify(tls) : '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const port = Number((await lines.next()).value);
  return {
    port,
    async count() {
      child.stdin.write('count\n');
      return Number((await lines.next()).value);
    },
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'close');
    },
  };
}

/** The sink process itself: accepts everything, keeps nothing but a count. */
async function sinkMain(): Promise<void> {
  const { SMTPServer } = await import('smtp-server');
  const { SMTPConnection } = await import('smtp-server/lib/smtp-connection.js');
  // smtp-server waits 100 ms before its greeting (an early-talker check): a relay does not.
  (SMTPConnection.prototype as unknown as { init(): void }).init = function (this: { _setListeners(cb: () => void): void; connectionReady(): void }) {
    this._setListeners(() => this.connectionReady());
  };
  const tls = process.env.BENCH_SINK_TLS ? (JSON.parse(process.env.BENCH_SINK_TLS) as { key: string; cert: string }) : null;
  let received = 0;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    ...(tls ? { key: tls.key, cert: tls.cert, authOptional: false } : { disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true }),
    size: 10 * 1024 * 1024,
    onAuth: (auth, _s, cb) => (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD ? cb(null, { user: auth.username }) : cb(new Error('535 bad login'))),
    onData: (stream, _s, cb) => {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        cb(null, 'ok');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  process.stdout.write(`${(server.server.address() as { port: number }).port}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) if (line === 'count') process.stdout.write(`${received}\n`);
}

async function writeCsv(file: string, prefix: string, n: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write('UserUri,DisplayName,EmailAddress,Language\n');
  for (let i = 0; i < n; i++) if (!out.write(`${prefix}${i}@contoso.com,User ${i},${prefix}${i}@contoso.com,${i % 3 === 0 ? 'fr' : 'en'}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

export async function run(args: string[]): Promise<void> {
  const n = Number(opt(args, 'users', '20000'));
  const legacyN = Number(opt(args, 'legacy', '100'));
  const dialects = opt(args, 'dialects', 'sqlite').split(',');
  const useTls = args.includes('--tls');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-welcome-'));
  let tls: { key: string; cert: string } | null = null;
  if (useTls) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls = { key: fs.readFileSync(`${dir}/key.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/cert.pem`, 'utf8') };
  }
  const csv = path.join(dir, 'users.csv');
  const legacyCsv = path.join(dir, 'legacy.csv');
  await writeCsv(csv, 'user', n);
  await writeCsv(legacyCsv, 'legacy', legacyN);
  const setup = path.join(dir, 'setup.ps1');
  fs.writeFileSync(
    setup,
    [
      'New-CsOnlineDialInConferencingBridge -Name "Conference Bridge"',
      'Register-CsOnlineDialInConferencingServiceNumber -Identity +14255551234 -BridgeName "Conference Bridge" -City Redmond',
      'Set-CsOnlineDialInConferencingBridge -Name "Conference Bridge" -DefaultServiceNumber +14255551234',
      // Enabling users must not queue welcomes of its own: the command measured sends them.
      'Set-CsOnlineDialInConferencingTenantSettings -AutomaticallySendEmailsToUsers $false',
    ].join('\n'),
  );
  fs.chmodSync(dir, 0o755);
  const sink = await startSink(tls, dir);
  const rows: string[][] = [];
  try {
    for (const dialect of dialects) {
      const pgdb = dialect === 'postgres' ? await createPgDatabase() : null;
      const env: Record<string, string> = {
        DIALIN_DATA_DIR: path.join(dir, dialect),
        DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
        ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
        ...(useTls ? { DIALIN_SMTP_CA_FILE: `${dir}/cert.pem`, DIALIN_SMTP_PASSWORD: SMTP_PASSWORD } : {}),
      };
      const common = ['-From', 'it@contoso.com', '-Force', '-SmtpServer', `127.0.0.1:${sink.port}`, ...(useTls ? ['-UseSsl', '-Credential', SMTP_USER] : [])];
      try {
        await dialin(['run', setup], env);
        await dialin(['users', 'import', csv, '--enable'], env);
        await dialin(['users', 'import', legacyCsv, '--enable'], env);
        const before = await sink.count();
        console.log(`welcome (${dialect}): ${n.toLocaleString('en')} users in one command…`);
        const group = await dialin(['Set-CsPinSendCAWelcomeMail', '-UserUri', `@${csv}`, ...common, '--report', path.join(dir, `${dialect}-report.csv`)], env);
        console.log(`welcome (${dialect}): the legacy loop, ${legacyN} processes…`);
        let legacy = 0;
        for (let i = 0; i < legacyN; i++) legacy += await dialin(['Set-CsPinSendCAWelcomeMail', '-UserUri', `legacy${i}@contoso.com`, ...common], env);
        const got = (await sink.count()) - before;
        if (got !== n + legacyN) throw new Error(`the sink got ${got} messages, expected ${n + legacyN}`);
        const groupRate = n / group;
        const legacyRate = legacyN / legacy;
        rows.push([dialect, `${groupRate.toFixed(0)} users/s (${group.toFixed(1)} s)`, `${legacyRate.toFixed(2)} users/s (${(legacy / legacyN).toFixed(2)} s each)`, `${(groupRate / legacyRate).toFixed(0)}×`]);
      } finally {
        await pgdb?.drop();
      }
    }
  } finally {
    await sink.stop();
  }
  console.log(`\nSet-CsPinSendCAWelcomeMail, ${n.toLocaleString('en')} users${useTls ? ' (STARTTLS + AUTH)' : ''}, to ${sink.name} on loopback; goal: ≥ 50× the legacy loop`);
  const head = ['dialect', 'one command over @FILE', `legacy: one process per user (${legacyN})`, 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] === SELF && process.argv.includes('--sink')) await sinkMain();
