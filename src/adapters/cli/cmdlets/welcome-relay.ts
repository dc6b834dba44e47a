import fs from 'node:fs';
import { AppError } from '../../../core/errors.ts';
import { printable } from '../../../core/email-address.ts';
import type { RunRelay } from '../../../app/welcome-mail.ts';
import { classifySendError } from '../../smtp/classify.ts';
import { describeRelay, type RelaySpec } from '../../smtp/relay-url.ts';
import { verifySmtpRelay, type SmtpTuning } from '../../smtp/smtp-relay.ts';
import type { CmdletIO } from '../cmdlet.ts';

const HOST = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * The relay of -SmtpServer (`host`, `host:port`, `[v6]:port`), else of PSEmailServer as in
 * PowerShell; port 25 by default. -UseSsl requires STARTTLS, or is implicit TLS on port 465. A
 * credential always requires TLS: dialin never sends a password in clear. Certificates are
 * verified (a private relay's CA comes from DIALIN_SMTP_CA_FILE).
 */
export function relaySpecOf(server: string | null, o: { useSsl: boolean; user: string | null; ca: string | null }): Omit<RelaySpec, 'auth'> {
  if (!server) {
    throw new AppError('MISSING_ARGUMENT', 'Set-CsPinSendCAWelcomeMail needs -SmtpServer (host or host:port), or the PSEmailServer environment variable as in PowerShell. Nothing changed.', { field: 'SmtpServer' });
  }
  const bad = (why: string): never => {
    throw new AppError('SMTP_CONFIG_INVALID', `-SmtpServer "${printable(server)}" ${why} (expected host or host:port, e.g. smtp.contoso.com:587).`, { field: 'SmtpServer' });
  };
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server) ?? (/^[0-9A-Fa-f:]+$/.test(server) ? [server, server] : null);
  if (!m) return bad('is not a host name');
  const host = m[1]!;
  if (!host.includes(':') && !HOST.test(host)) bad('is not a host name');
  const port = m[2] === undefined ? 25 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad('has a port outside 1-65535');
  const secure = o.useSsl && port === 465;
  return { host, port, secure, requireTLS: !secure && (o.useSsl || o.user !== null), ca: o.ca };
}

/**
 * The password of -Credential USER: from --password-file, else DIALIN_SMTP_PASSWORD, else typed
 * at a prompt that does not echo it. Never from the command line, never printed.
 */
export async function passwordOf(io: CmdletIO, user: string): Promise<string> {
  const file = io.globals.passwordFile;
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new AppError('FILE_NOT_FOUND', `--password-file ${file} cannot be read.`, { field: 'password-file' });
    }
    const pass = text.split(/\r?\n/)[0]!;
    if (!pass) throw new AppError('MISSING_ARGUMENT', `--password-file ${file} is empty.`, { field: 'password-file' });
    return pass;
  }
  if (io.config.smtpPassword) return io.config.smtpPassword;
  const typed = await io.askSecret(`Password for ${user} on the SMTP relay: `);
  if (!typed) {
    throw new AppError('MISSING_ARGUMENT', `-Credential ${user} needs a password: type it at the prompt on a terminal, or give it in DIALIN_SMTP_PASSWORD or --password-file FILE in scripts (never on the command line). Nothing changed.`, { field: 'Credential' });
  }
  return typed;
}

/** Connects, does STARTTLS and AUTH as the run will; a relay that fails any of it fails the command before anything changes. */
export async function checkRelay(spec: RelaySpec, tuning: SmtpTuning): Promise<void> {
  try {
    await verifySmtpRelay(spec, tuning);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const f = classifySendError(e);
    const why =
      err.code === 'ETLS' && /STARTTLS/i.test(err.message ?? '')
        ? `does not offer STARTTLS, which ${spec.auth ? '-Credential needs (dialin never sends a password in clear)' : '-UseSsl requires'}`
        : err.code === 'EAUTH' || f.code === 535
          ? `refused the login of ${spec.auth?.user ?? 'the user'}`
          : f.class === 'pause'
            ? 'failed the TLS handshake'
            : 'cannot be reached';
    throw new AppError('SMTP_UNAVAILABLE', `The SMTP relay ${describeRelay(spec)} ${why}: ${f.reply.replace(/^the relay refused the login: |^TLS with the relay failed: /, '')}. Nothing changed.`, { field: 'SmtpServer', cause: e });
  }
}

/** The relay as the run's outbox rows keep it for `dialin worker`'s retries: the password only sealed. */
export function runRelayOf(spec: Omit<RelaySpec, 'auth'>, user: string | null, passwordSealed: string | null): RunRelay {
  return {
    host: spec.host,
    port: spec.port,
    secure: spec.secure,
    requireTLS: spec.requireTLS,
    ...(user !== null ? { user } : {}),
    ...(passwordSealed !== null ? { passwordSealed } : {}),
  };
}
