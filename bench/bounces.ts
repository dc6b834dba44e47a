/**
 * `npm run bench -- bounces [--returns N] [--connections C] [--postgres]`
 *
 * The bounce listener as `dialin serve` runs it: N sent messages in the outbox, then N delivery
 * status notifications (Gmail's and Exchange's formats, alternating) sent to their VERP return
 * paths over C SMTP connections, each answered 250 only once its report is committed. Prints
 * DSNs recorded per second, and as the baseline in the same run the same DSNs only parsed and
 * classified (no SMTP, no database): what the listener adds to the parser.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { createPgDatabase } from '../test/support/dialects.ts';
import { corpusMessage } from '../test/bounces/support/corpus.ts';
import { loadConfig } from '../src/config/config.ts';
import { createContext } from '../src/main/context.ts';
import { ensureDefaultTenant, scopeOf } from '../src/app/tenants.ts';
import { addUser } from '../src/app/users.ts';
import { mailRow } from '../src/app/mail-queue.ts';
import { returnPathOf } from '../src/app/return-path.ts';
import { DEFAULT_TENANT_SETTINGS } from '../src/core/tenant-settings.ts';
import { classifyReturn } from '../src/core/bounce-report.ts';
import { parseReturn } from '../src/adapters/bounces/parse-return.ts';
import { startBounceReceivers } from '../src/main/bounces.ts';

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

const quiet = { debug() {}, info() {}, warn: (o: object, m: string) => console.error(m, o), error: (o: object, m: string) => console.error(m, o) };

export async function run(args: string[]) {
  const n = Number(opt(args, 'returns', '5000'));
  const conns = Number(opt(args, 'connections', '8'));
  const pgdb = args.includes('--postgres') ? await createPgDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-bench-bounces-'));
  const domain = 'bounces.contoso.com';
  const config = loadConfig({ DIALIN_DATA_DIR: dataDir, DIALIN_PIN_KEY: crypto.randomBytes(32).toString('hex'), DIALIN_MAIL_FROM: 'noreply@contoso.com', DIALIN_BOUNCE_DOMAIN: domain, DIALIN_BOUNCE_LISTEN: '127.0.0.1:0', ...(pgdb ? { DATABASE_URL: pgdb.url } : {}) });
  const ctx = await createContext(config, { actor: 'bench' });
  try {
    const s = scopeOf(ctx, await ensureDefaultTenant(ctx));
    const u = await addUser(s, { UserUri: 'bob@tailspin.com', DisplayName: 'Bob Kelly' });
    const rows = Array.from({ length: n }, () => ({ ...mailRow(s, DEFAULT_TENANT_SETTINGS, { kind: 'conference_info', user: { id: u.id, email: u.email, language: 'en-US' }, data: { displayName: 'Bob Kelly', sipAddress: u.sip, conferenceId: null, tollNumber: null, tollFreeNumber: null, bridgeName: null } })!, status: 'sent' }));
    for (let i = 0; i < rows.length; i += 400) await ctx.db.kysely.insertInto('outbox').values(rows.slice(i, i + 400)).execute();
    const messages = rows.map((r, i) => {
      const rp = returnPathOf(ctx.keys, r.id, domain);
      return { rp, raw: corpusMessage(i % 2 ? 'exchange-ndr' : 'gmail-no-such-user', { returnPath: rp, recipient: r.recipient, messageId: r.message_id }) };
    });

    // Baseline: parse and classify only.
    let t = performance.now();
    const sample = messages.slice(0, Math.min(2000, n));
    for (const m of sample) classifyReturn((await parseReturn(m.raw)).message);
    const parseRate = sample.length / ((performance.now() - t) / 1000);

    const receivers = await startBounceReceivers({ ctx, config, log: quiet });
    const port = receivers.listening!.port;
    const cpu0 = process.cpuUsage();
    t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: conns }, () =>
        new Promise<void>((resolve, reject) => {
          const c = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, logger: false });
          c.on('error', reject);
          const one = () => {
            const m = messages[next++];
            if (!m) return c.quit(), resolve();
            c.send({ from: '', to: [m.rp] }, m.raw, (err) => (err ? reject(err) : one()));
          };
          c.connect(one);
        }),
      ),
    );
    const secs = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await receivers.close();
    const bounced = Number((await ctx.db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'bounced').executeTakeFirstOrThrow()).n);
    const rate = n / secs;
    const f = (x: number) => Math.round(x).toLocaleString('en');
    console.log(`bounces: ${f(n)} DSNs (Gmail and Exchange formats, ${(messages[0]!.raw.length / 1024).toFixed(1)}–${(messages[1]!.raw.length / 1024).toFixed(1)} KiB) to their VERP return paths over ${conns} SMTP connections, ${ctx.db.dialect}; ${f(bounced)} messages marked bounced.`);
    console.log('');
    console.log('| shape | DSNs | DSNs/s | CPU per DSN (listener and sender, one process) |');
    console.log('|---|---|---|---|');
    console.log(`| bounce listener: SMTP, token check at RCPT, parse, classify, match, group-committed record, 250 | ${f(n)} | ${f(rate)} | ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms |`);
    console.log(`| baseline: parse and classify only (mailparser + rules), no SMTP, no database | ${f(sample.length)} | ${f(parseRate)} | |`);
    console.log(`load average at the end ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs.`);
    return { goals: [{ goal: 'the bounce listener records ≥ 500 DSNs/s', measured: `${f(rate)} DSNs/s (${f(bounced)} of ${f(n)} recorded)`, met: rate >= 500 && bounced === n }] };
  } finally {
    await ctx.db.close();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
