import crypto from 'node:crypto';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { holdersLacking, keyStatus, recordRotation, resealAll, retireVersion, usesOf } from '../../app/key-ring.ts';
import { keyFilePath, readRingFile, writeRingFile } from '../crypto/keys.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { json?: boolean };

/**
 * `dialin key …`: the key ring. rotate (a new version, current at once), status (per version, how
 * many PIN hashes and sealed secrets use it), reseal (every sealed secret under the current
 * version, in batches; serve and worker do it in the background too), retire (a version nothing
 * needs any more). Prints versions, fingerprints and counts, never a key or a secret.
 */
export function registerKeyCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const key = program.command('key').description('The key ring that PIN hashes and sealed secrets are made with: rotate, status, reseal, retire (never prints a key)');

  key
    .command('rotate')
    .description('Add a new key version to the key file and make it current: new PINs and seals use it at once; serve and worker pick it up at their next heartbeat and re-seal the secrets in the background')
    .action(async () => {
      const config = holder.config;
      if (config.pinKey) throw new AppError('KEY_RING_READONLY', 'The key ring comes from DIALIN_PIN_KEY, which dialin cannot change: add the current key to DIALIN_PIN_KEYS_FILE, set DIALIN_PIN_KEY to VERSION:KEY of a new 32-byte key (e.g. `openssl rand -hex 32`), restart every process, then run `dialin key reseal`.');
      const ctx = await holder.get();
      const file = keyFilePath(config.dataDir);
      const ring = readRingFile(file);
      const known = await ctx.db.kysely.selectFrom('key_versions').select('version').execute();
      // Never a number used before, even one retired and removed from the file.
      const version = Math.max(0, ...ring.keys.keys(), ...known.map((k) => k.version)) + 1;
      ring.keys.set(version, crypto.randomBytes(32));
      ring.current = version;
      writeRingFile(file, ring);
      if (!ctx.keys.reload() || ctx.keys.current !== version) throw new AppError('KEY_INVALID', `The key file ${file} changed while rotating; run \`dialin key status\` and rotate again.`);
      await recordRotation(ctx, ctx.keys);
      const out = { Version: version, Fingerprint: ctx.keys.fingerprint(version), KeyFile: file };
      if (g().json) term.out(JSON.stringify(out, null, 2));
      else {
        term.out(render([out], [], false, true));
        term.err(`Key version ${version} is current. Back up ${file} now (it holds every version). Secrets are re-sealed by serve and worker in the background, or now with \`dialin key reseal\`; PIN hashes move to version ${version} as they are used at the bridge.`);
      }
    });

  key
    .command('status')
    .description('Per key version: current, active or retired, its fingerprint, and how many PIN hashes, PIN history entries and sealed secrets use it')
    .action(async () => {
      const ctx = await holder.get();
      const rows = await keyStatus(ctx.db, ctx.keys);
      if (g().json) term.out(JSON.stringify(rows, null, 2));
      else term.out(render(rows.map((r) => ({ ...r })), [{ kind: 'table', props: [] }], false, false));
    });

  key
    .command('reseal')
    .description('Re-seal every secret (outbox PINs and relay passwords, LDAP bind passwords, DKIM keys) under the current key version, in batches; resumable (run it again after an interruption)')
    .option('--batch <n>', 'rows per statement', '2000')
    .action(async (o: { batch: string }) => {
      const batch = Number(o.batch);
      if (!Number.isInteger(batch) || batch < 1 || batch > 5000) throw new AppError('INVALID_ARGUMENT', '--batch must be a whole number from 1 to 5000.', { field: 'batch' });
      const ctx = await holder.get();
      const lacking = await holdersLacking(ctx.db, ctx.keys.current, ctx.now());
      if (lacking.length) throw new AppError('KEY_VERSION_MISSING', `Not re-sealing: ${lacking.map((h) => `${h.role} (pid ${h.pid} on ${h.host})`).join(', ')} do(es) not hold key version ${ctx.keys.current} yet and could not open what is re-sealed. Give them the new key ring (restart them), then run this again.`);
      const started = Date.now();
      let last = started;
      const total = await resealAll(ctx.db, ctx.keys, {
        batch,
        onBatch: (n) => {
          if (!g().json && Date.now() - last > 2000) {
            last = Date.now();
            term.err(`${n} re-sealed…`);
          }
        },
      });
      const out = { Version: ctx.keys.current, Resealed: total, Seconds: Math.round((Date.now() - started) / 100) / 10 };
      if (g().json) term.out(JSON.stringify(out, null, 2));
      else term.err(`Re-sealed ${total} secret(s) under key version ${ctx.keys.current} in ${out.Seconds} s.`);
    });

  key
    .command('retire')
    .description('Retire a key version nothing needs any more and remove it from the key file; refused while a PIN hash or sealed secret uses it, unless --force-pin-reset (which gives those users new PINs, mailed to them, after a confirmation)')
    .argument('<version>', 'the version to retire')
    .option('--force-pin-reset', 'reset (and mail) the PINs still hashed with this version')
    .option('--yes', 'do not ask for confirmation')
    .action(async (v: string, o: { forcePinReset?: boolean; yes?: boolean }) => {
      const version = Number(v);
      if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new AppError('INVALID_ARGUMENT', `VERSION "${v.slice(0, 20)}" must be a key version number (see \`dialin key status\`).`, { field: 'version' });
      const ctx = await holder.get();
      if (o.forcePinReset && !o.yes) {
        const use = await usesOf(ctx.db, version);
        const answer = await term.ask(`Retiring key version ${version} gives ${use.pins} user(s) a new PIN, mailed to them; their current PIN stops working. Continue? [Y] Yes  [N] No  (default is "N"): `);
        if (!/^\s*(y|yes|o|oui)\s*$/i.test(answer ?? '')) throw new AppError('CONFIRMATION_DECLINED', `Retiring key version ${version} was not confirmed; nothing changed.`);
      }
      const r = await retireVersion(ctx, ctx.keys, version, { forcePinReset: !!o.forcePinReset });
      let removed = false;
      if (!holder.config.pinKey) {
        const file = keyFilePath(holder.config.dataDir);
        const ring = readRingFile(file);
        if (ring.keys.delete(version)) {
          writeRingFile(file, ring);
          removed = true;
        }
        ctx.keys.reload();
      }
      if (g().json) term.out(JSON.stringify({ ...r, RemovedFromKeyFile: removed }, null, 2));
      else term.err(`Key version ${version} retired${r.PinsReset ? `; ${r.PinsReset} PIN(s) reset and mailed` : ''}${r.HistoryDropped ? `; ${r.HistoryDropped} PIN history entr(ies) dropped` : ''}.${removed ? ' Removed from the key file.' : holder.config.pinKey ? ' Remove it from DIALIN_PIN_KEYS_FILE.' : ''}`);
    });
}
