/**
 * `npm run bench -- mail [--users N] [--legacy N] [--postgres]`
 *
 * Enables N users (100,000) with automatic mail on, then lets the delivery worker send every
 * welcome mail (render, compose, pooled SMTP, one recorded outcome per message) to an SMTP sink
 * in another process. As the baseline, in the same run, the legacy shape: each message rendered
 * and composed, then sent over a new SMTP connection, one at a time (a sample of 500). Prints
 * mails/s for both, their ratio, CPU per mail and peak RSS.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import nodemailer from 'nodemailer';
import { createPgDatabase } from '../test/support/dialects.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import type { AppContext, TenantScope } from '../src/app/context.ts';
import { runInBatches } from '../src/app/bulk.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { newUserRow } from '../src/app/users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';
import { DEFAULT_TEMPLATES } from '../src/core/templates/defaults.ts';
import { templateValues } from '../src/core/templates/variables.ts';
import { composeMail } from '../src/worker/compose.ts';
import { startDeliveryWorker, type WorkerLog } from '../src/worker/delivery-worker.ts';
import { generateDkimKeys } from '../src/app/dkim.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

type SinkStats = { count: number; distinct: number; cpuMs: number; rssMb: number };

async function startSink(): Promise<{ child: ChildProcess; port: number; stats(): Promise<SinkStats> }> {
  const child = fork(path.join(import.meta.dirname, 'mail-sink.ts'), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const died = once(child, 'exit').then(([code]) => Promise.reject(new Error(`the sink stopped (${code})`)));
  died.catch(() => {});
  return {
    child,
    port,
    async stats() {
      child.send('stats');
      return Promise.race([once(child, 'message').then(([m]) => m as SinkStats), died]);
    },
  };
}

const quiet: WorkerLog = { debug() {}, info() {}, warn: (o, m) => console.error(m, o), error: (o, m) => console.error(m, o) };

/** The legacy shape: compose, then a new connection per message, one message at a time. */
export async function legacy(port: number, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const mail = await composeMail({
      templates: DEFAULT_TEMPLATES.welcome.en,
      values: templateValues({ displayName: `Legacy ${i}`, sipAddress: `legacy${i}@contoso.com`, conferenceId: '1234567', tollNumber: '+14255550100', tollFreeNumber: null, bridgeName: 'Conference Bridge' }, 'https://dialin.example.com/dialin', String(10000 + i)),
      plainText: false,
      subject: null,
      from: { name: 'Dial-in Conferencing', address: 'noreply@dialin.example.com' },
      to: { name: `Legacy ${i}`, address: `legacy${i}@contoso.com` },
      cc: [],
      bcc: [],
      messageId: `<legacy-${i}-${crypto.randomUUID()}@dialin.example.com>`,
      language: 'en',
      date: Date.now(),
      envelopeFrom: 'noreply@dialin.example.com',
      dkim: [],
    });
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, disableFileAccess: true, disableUrlAccess: true });
    await t.sendMail({ envelope: mail.envelope, raw: Buffer.from(mail.raw) });
    t.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

/** A goal of the issue and what this run measured for it (the shape bench/run.ts reports). */
type Goal = { goal: string; measured: string; met: boolean };

/**
 * The default tenant with a bridge and its default number, and `n` users (user0@contoso.com…, a
 * third of them French) inserted directly, not yet enabled. Returns the scope and their SIP addresses.
 */
export async function seedUsers(ctx: AppContext, n: number): Promise<{ s: TenantScope; sips: string[] }> {
  const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
  await newBridge(s, { name: 'Conference Bridge' });
  await registerServiceNumber(s, { number: '+14255550100', bridge: { name: 'Conference Bridge' } });
  await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255550100' });
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => newUserRow(s, { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, Language: i % 3 === 0 ? 'fr-FR' : 'en-US' }, now));
  for (let i = 0; i < rows.length; i += 500) await ctx.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();
  return { s, sips: rows.map((r) => r.sip) };
}

/**
 * `n` more users (prefix0@contoso.com…) enabled with automatic mail, then the worker delivers
 * their welcome mails; returns mails/s. The DKIM comparison runs two such phases back to back on
 * the same database, without and with a signing key for the sender's domain.
 */
async function deliveryPhase(ctx: AppContext, config: ReturnType<typeof loadConfig>, s: TenantScope, sink: { stats(): Promise<SinkStats> }, prefix: string, n: number): Promise<{ rate: number; cpuMs: number }> {
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => newUserRow(s, { UserUri: `${prefix}${i}@contoso.com`, DisplayName: `${prefix} ${i}` }, now));
  for (let i = 0; i < rows.length; i += 500) await ctx.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();
  await runInBatches(s, rows.map((r) => r.sip), enableUsers(s, { bridge: {} }), { batchSize: 1000 });
  const target = (await sink.stats()).count + n;
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const worker = await startDeliveryWorker({ ctx, config, log: quiet });
  while ((await sink.stats()).count < target) await new Promise((r) => setTimeout(r, 100));
  const secs = (performance.now() - t) / 1000;
  await worker.stop();
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / secs, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

export async function run(args: string[]): Promise<{ goals: Goal[] }> {
  const dkimN = Number(opt(args, 'dkim-users', '20000'));
  const users = Number(opt(args, 'users', '100000'));
  const legacyN = Number(opt(args, 'legacy', '500'));
  const pgdb = args.includes('--postgres') ? await createPgDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-mail-'));
  const sink = await startSink();
  const env = {
    DIALIN_DATA_DIR: dataDir,
    DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'),
    DIALIN_PUBLIC_URL: 'https://dialin.example.com',
    DIALIN_SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
    DIALIN_MAIL_FROM: '"Dial-in Conferencing" <noreply@dialin.example.com>',
    ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DIALIN_') && k !== 'DIALIN_DATA_DIR')),
  } as Record<string, string>;
  const config = loadConfig(env);
  const ctx = await createContext(config, { actor: 'bench' });
  try {
    const { s, sips } = await seedUsers(ctx, users);

    let t = performance.now();
    await runInBatches(s, sips, enableUsers(s, { bridge: {} }), { batchSize: 1000 });
    const enableS = (performance.now() - t) / 1000;

    const sink0 = await sink.stats();
    const cpu0 = process.cpuUsage();
    t = performance.now();
    const worker = await startDeliveryWorker({ ctx, config, log: quiet });
    const byStatus = async () => Object.fromEntries((await ctx.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute()).map((r) => [r.status, Number(r.n)]));
    // Done when every mail reached the sink, or (checked every 2 s: the query scans the outbox,
    // and it runs on the worker's thread) when nothing is left to send because some failed.
    for (let i = 1; (await sink.stats()).count < users; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (i % 20 === 0 && Object.entries(await byStatus()).every(([k, v]) => v === 0 || (k !== 'queued' && k !== 'sending'))) break;
    }
    const deliverS = (performance.now() - t) / 1000;
    await worker.stop();
    const cpu = process.cpuUsage(cpu0);
    const counts = await byStatus();
    const st = await sink.stats();
    const rate = users / deliverS;
    const workerCpu = (cpu.user + cpu.system) / 1000 / users;
    const sinkCpu = (st.cpuMs - sink0.cpuMs) / (st.count - sink0.count);

    const legacyRate = await legacy(sink.port, legacyN);
    const ratio = rate / legacyRate;
    const n = (x: number) => Math.round(x).toLocaleString('en');
    console.log(`mail: ${n(users)} welcome mails on ${ctx.db.dialect} (enabled in ${enableS.toFixed(1)} s), delivered by the worker (${config.delivery.concurrency} pooled SMTP connections, ${config.delivery.composeThreads} compose thread(s)) to an SMTP sink in another process (smtp-server, greeting delay off); outbox after the run: ${JSON.stringify(counts)}; ${n(st.distinct)} distinct Message-IDs received.`);
    console.log('');
    console.log('| shape | mails | mails/s | CPU per mail |');
    console.log('|---|---|---|---|');
    console.log(`| delivery worker: render, compose, pooled SMTP, one recorded outcome per mail | ${n(users)} | ${n(rate)} | ${workerCpu.toFixed(2)} ms worker (all threads) + ${sinkCpu.toFixed(2)} ms sink |`);
    console.log(`| legacy: render, compose, a new SMTP connection per mail, one at a time | ${n(legacyN)} | ${n(legacyRate)} | |`);
    console.log('');
    // DKIM: the same delivery without, then with a key for the sender's domain (RSA 2048, signed in the compose thread).
    const plain = await deliveryPhase(ctx, config, s, sink, 'nodkim', dkimN);
    await generateDkimKeys(s, { domain: 'dialin.example.com', forTenant: false });
    const rsa = await deliveryPhase(ctx, config, s, sink, 'rsa', dkimN);
    const signedShare = rsa.rate / plain.rate;
    console.log('');
    console.log('| DKIM (same run, same database, welcome mails) | mails | mails/s | worker CPU per mail (all threads) |');
    console.log('|---|---|---|---|');
    console.log(`| without a key | ${n(dkimN)} | ${n(plain.rate)} | ${plain.cpuMs.toFixed(2)} ms |`);
    console.log(`| signed rsa-sha256 (2048), relaxed/relaxed, From oversigned | ${n(dkimN)} | ${n(rsa.rate)} | ${rsa.cpuMs.toFixed(2)} ms |`);
    console.log(`signed throughput: ${(signedShare * 100).toFixed(0)} % of unsigned (RSA 2048 costs ${rsa.cpuMs - plain.cpuMs > 0 ? (rsa.cpuMs - plain.cpuMs).toFixed(2) : '0'} ms of CPU a mail more; \`openssl speed rsa2048\` signs about 1,200/s per core here).`);
    console.log('');
    console.log(`ratio ${ratio.toFixed(1)}×; peak RSS: bench and worker ${n(process.resourceUsage().maxRSS / 1024)} MB, sink ${n(st.rssMb)} MB; load average at the end ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs.`);
    return {
      goals: [
        { goal: '≥ 1,700 mails/s end to end (100,000 welcome mails through the delivery worker)', measured: `${n(rate)} mails/s (${n(users)} mails)`, met: rate >= 1700 && users >= 100_000 },
        { goal: '≥ 4× the legacy shape (a new SMTP connection per mail, one at a time)', measured: `${ratio.toFixed(1)}×`, met: ratio >= 4 },
        { goal: 'mail throughput with DKIM signing ≥ 80 % of the same run without it', measured: `${(signedShare * 100).toFixed(0)} % (${n(rsa.rate)} against ${n(plain.rate)} mails/s)`, met: signedShare >= 0.8 },
      ],
    };
  } finally {
    await ctx.db.close();
    sink.child.disconnect();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
