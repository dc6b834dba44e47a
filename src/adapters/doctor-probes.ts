import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import type { DoctorDeps, KeyState, RelayState } from '../app/doctor.ts';
import { KEY_FILE, loadKeys } from './crypto/keys.ts';
import { classifySendError } from './smtp/classify.ts';
import { describeRelay, parseRelayUrl } from './smtp/relay-url.ts';
import { readCaFile } from './smtp/ca-file.ts';
import { probeSmtpRelay } from './smtp/smtp-relay.ts';
import { heloName } from './smtp/helo-name.ts';

/** What `dialin doctor` and the dashboard's deployment checks look at: the key as configured, the relay as the worker meets it. */

/** How long the relay check waits for each answer. */
const RELAY_TIMEOUT_MS = 10_000;

/** The key as DIALIN_PIN_KEY or the key file has it; a missing file is reported, never created. */
export function keyState(config: Readonly<Config>): KeyState {
  const file = path.join(config.dataDir, KEY_FILE);
  const source = config.pinKey ? 'DIALIN_PIN_KEY' : file;
  if (!config.pinKey && !fs.existsSync(file)) return { state: 'missing', source };
  try {
    const keys = loadKeys({ dataDir: config.dataDir, pinKey: config.pinKey, pinKeysFile: config.pinKeysFile });
    const mode = config.pinKey ? 0 : fs.statSync(file).mode & 0o777;
    return { state: 'loaded', keys, source, ...(mode & 0o077 ? { looseMode: mode.toString(8) } : {}) };
  } catch (e) {
    return { state: 'invalid', source, message: (e as Error).message };
  }
}

/** DIALIN_SMTP_URL checked as the worker connects (TLS, login), or the local mail drop's directory. */
export function relayOf(config: Readonly<Config>): DoctorDeps['relay'] {
  if (!config.smtpUrl) {
    const dir = path.join(config.dataDir, 'maildrop');
    return {
      description: `the local mail drop ${dir} (DIALIN_SMTP_URL is not set)`,
      async check(): Promise<RelayState> {
        // dialin creates the directory (and its parents) at the first delivery.
        let target = dir;
        while (!fs.existsSync(target) && path.dirname(target) !== target) target = path.dirname(target);
        try {
          fs.accessSync(target, fs.constants.W_OK);
          return { ok: true, detail: target === dir ? 'writable' : 'created at the first delivery' };
        } catch (e) {
          return { ok: false, why: 'maildrop', reply: `${target} is not writable (${(e as NodeJS.ErrnoException).code})` };
        }
      },
    };
  }
  let ca: string | null = null;
  try {
    ca = readCaFile(config.smtpCaFile);
    const spec = parseRelayUrl(config.smtpUrl, ca);
    return {
      description: describeRelay(spec),
      async check(): Promise<RelayState> {
        try {
          const p = await probeSmtpRelay(spec, { connections: 1, replyTimeoutMs: RELAY_TIMEOUT_MS, heloName: heloName(config.smtpHeloName) });
          return { ok: true, tls: p.tls, detail: spec.auth ? `connection, ${p.tls ? 'TLS' : 'no TLS'} and login accepted` : `connection${p.tls ? ' and TLS' : ''} accepted` };
        } catch (e) {
          const f = classifySendError(e);
          const why = f.class !== 'pause' ? 'unreachable' : /login/.test(f.reply) ? 'login' : /TLS/.test(f.reply) ? 'tls' : 'settings';
          return { ok: false, why, reply: f.reply };
        }
      },
    };
  } catch (e) {
    const reply = (e as Error).message;
    return { description: 'DIALIN_SMTP_URL', check: async () => ({ ok: false, why: 'settings', reply }) };
  }
}

