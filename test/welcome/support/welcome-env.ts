import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dialect } from '../../../src/adapters/db/database.ts';
import { setTenantSettings } from '../../../src/app/tenant-settings.ts';
import { addUsers, enable } from '../../support/fixtures.ts';
import { BIN, ROOT, runCli, type CliResult } from '../../support/cli.ts';
import { mailEnv, type MailEnv } from '../../mail/support/mail-env.ts';
import type { SinkOptions } from '../../mail/support/smtp-sink.ts';

/** A certificate for 127.0.0.1 made for the test relay's STARTTLS, and its file for DIALIN_SMTP_CA_FILE. */
export interface TestCert {
  key: string;
  cert: string;
  file: string;
  remove(): void;
}

export function selfSigned(): TestCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-welcome-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(`${dir}/key.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/cert.pem`, 'utf8'), file: `${dir}/cert.pem`, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The relay's account in these tests (the seed's second example logs in as Admin@contoso.com). */
export const SMTP_USER = 'Admin@contoso.com';
export const SMTP_PASSWORD = 'c0rrect horse battery staple';

export interface WelcomeEnv extends MailEnv {
  /** `-SmtpServer` value of the test relay. */
  server: string;
  /** Runs `dialin Set-CsPinSendCAWelcomeMail ARGS` with the test's environment (plus `env`). */
  welcome(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** A scratch directory for template, report and password files. */
  dir: string;
}

/**
 * A database of the dialect with the mail test bridge, and a real SMTP relay on port 0. By default
 * the relay offers STARTTLS with a certificate dialin trusts through DIALIN_SMTP_CA_FILE (never by
 * turning verification off) and requires AUTH. The tenant's automatic mails are off, so the only
 * mail the relay gets is what the command sends (it is asked for by name: never gated).
 */
export async function welcomeEnv(dialect: Dialect, cert: TestCert, sink: SinkOptions = { tls: cert, auth: { user: SMTP_USER, pass: SMTP_PASSWORD } }): Promise<WelcomeEnv> {
  const m = await mailEnv(dialect, { sink, env: () => ({ DIALIN_SMTP_CA_FILE: cert.file }) });
  await setTenantSettings(m.t.scope, { AutomaticallySendEmailsToUsers: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-welcome-'));
  const server = `127.0.0.1:${m.sink.port}`;
  return {
    ...m,
    server,
    dir,
    welcome: (args, env = {}) => runCli(['Set-CsPinSendCAWelcomeMail', ...args], { ...m.t.env, ...env }),
    async cleanup() {
      await m.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Users `prefix0@contoso.com`… enabled for dial-in (so each has a conference ID and a generated PIN). */
export async function enabledUsers(w: WelcomeEnv, prefix: string, n: number): Promise<string[]> {
  const sips = await addUsers(w.t.scope, prefix, n);
  await enable(w.t.scope, sips);
  return sips.map((s) => s.replace(/^sip:/, ''));
}

/**
 * An enabled user who has no PIN yet, as after a move from Lync Server, where enabling a user for
 * conferencing never set one (dialin's own Enable always does): the case the seed's first example is for.
 */
export async function withoutPin(w: WelcomeEnv, address: string): Promise<void> {
  await w.t.ctx.db.kysely.updateTable('users').set({ pin_hash: null, pin_set_at: null }).where('sip', '=', `sip:${address}`).execute();
}

/**
 * Runs `dialin ARGS` on a real terminal (a pseudo-terminal made by util-linux `script`), answers
 * the first prompt matching `prompt` with `answer` once it is shown, and returns everything the
 * terminal displayed: so a test sees what a person at the keyboard would see.
 */
export function runOnTerminal(args: string[], env: Record<string, string>, prompt: RegExp, answer: string): Promise<{ code: number; screen: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'dumb', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      if (!answered && prompt.test(screen)) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, screen }));
  });
}
