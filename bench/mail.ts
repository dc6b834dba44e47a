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
import { runInBatches } from '../src/app/bulk.ts';
import { enableUsers } from '../src/app/enable-users.ts';
import { newUserRow } from '../src/app/users.ts';
import { newBridge, setBridge } from '../src/app/bridges.ts';
import { registerServiceNumber } from '../src/app/service-numbers.ts';
import { DEFAULT_TEMPLATES } from '../src/core/templates/defaults.ts';
import { templateValues } from '../src/core/templates/variables.ts';
import { composeMail } from '../src/worker/compose.ts';
import { startDeliveryWorker, type WorkerLog } from '../src/worker/delivery-worker.ts';

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
async function legacy(port: number, n: number): Promise<number> {
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
    });
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, disableFileAccess: true, disableUrlAccess: true });
    await t.sendMail({ envelope: mail.envelope, raw: Buffer.from(mail.raw) });
    t.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function run(args: string[]): Promise<void> {
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
    const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
    await newBridge(s, { name: 'Conference Bridge' });
    await registerServiceNumber(s, { number: '+14255550100', bridge: { name: 'Conference Bridge' } });
    await setBridge(s, { name: 'Conference Bridge' }, { defaultServiceNumber: '+14255550100' });
    const now = Date.now();
    const rows = Array.from({ length: users }, (_, i) => newUserRow(s, { UserUri: `user${i}@contoso.com`, DisplayName: `User ${i}`, Language: i % 3 === 0 ? 'fr-FR' : 'en-US' }, now));
    for (let i = 0; i < rows.length; i += 500) await ctx.db.kysely.insertInto('users').values(rows.slice(i, i + 500)).execute();

    console.log(`mail: ${ctx.db.dialect}, ${users} users, ${config.delivery.concurrency} SMTP connections, ${config.delivery.composeThreads} compose thread(s), sink in another process (smtp-server, no greeting delay)`);
    let t = performance.now();
    await runInBatches(s, rows.map((r) => r.sip), enableUsers(s, { bridge: {} }), { batchSize: 1000 });
    const enableS = (performance.now() - t) / 1000;
    console.log(`  enable ${users} users (welcome mails queued): ${enableS.toFixed(1)} s`);

    const cpu0 = process.cpuUsage();
    t = performance.now();
    const worker = await startDeliveryWorker({ ctx, config, log: quiet });
    const byStatus = async () => Object.fromEntries((await ctx.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute()).map((r) => [r.status, Number(r.n)]));
    let counts = await byStatus();
    // Done when nothing is left to send (every message sent, or failed: then it is reported).
    while ((counts.queued ?? 0) + (counts.sending ?? 0) > 0) {
      await new Promise((r) => setTimeout(r, 100));
      counts = await byStatus();
    }
    const deliverS = (performance.now() - t) / 1000;
    await worker.stop();
    const cpu = process.cpuUsage(cpu0);
    const st = await sink.stats();
    const rate = users / deliverS;
    const cpuMs = (cpu.user + cpu.system) / 1000 / users;
    console.log(`  delivered ${st.count} mails (${st.distinct} distinct Message-IDs; outbox: ${JSON.stringify(counts)}) in ${deliverS.toFixed(1)} s: ${Math.round(rate)} mails/s`);
    console.log(`  worker CPU ${cpuMs.toFixed(3)} ms/mail (all threads), sink CPU ${(st.cpuMs / st.count).toFixed(3)} ms/mail`);
    console.log(`  end to end (enable + delivery): ${(enableS + deliverS).toFixed(1)} s, ${Math.round(users / (enableS + deliverS))} users/s`);

    const legacyRate = await legacy(sink.port, legacyN);
    console.log(`  legacy shape (compose, new SMTP connection per mail, one at a time; ${legacyN} mails): ${Math.round(legacyRate)} mails/s`);
    console.log(`  ratio: ${(rate / legacyRate).toFixed(1)}x`);
    console.log(`  peak RSS: bench+worker ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, sink ${Math.round(st.rssMb)} MB`);
  } finally {
    await ctx.db.close();
    sink.child.disconnect();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
