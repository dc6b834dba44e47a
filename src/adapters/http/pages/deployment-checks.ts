import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config/config.ts';
import type { AppContext } from '../../../app/context.ts';
import { runDoctor, type Finding } from '../../../app/doctor.ts';
import { redactUrl, sqliteFile } from '../../db/database.ts';
import { MIGRATIONS } from '../../db/migrations/index.ts';
import { keyState, relayOf } from '../../doctor-probes.ts';

/** How long the dashboard shows a run of the doctor before it starts a new one. */
export const CHECKS_MAX_AGE_MS = 5 * 60_000;
/**
 * The doctor's checks that speak only of this deployment (database, schema, key, relay); its
 * directory and outbox checks name every tenant's connections and pauses, which a tenant's
 * administrator must not see (the dashboard shows the tenant's own beside them).
 */
const DEPLOYMENT_CHECKS = new Set<Finding['check']>(['database', 'schema', 'keys', 'relay']);

export interface CheckRun {
  at: number;
  findings: Finding[];
}

/**
 * `dialin doctor`'s current findings for the dashboard. The relay check can take seconds, so a
 * page never waits for it: it shows the last run and, when that is older than five minutes (or
 * there is none yet), starts one in the background — one at a time.
 */
export function deploymentChecks(app: FastifyInstance, ctx: AppContext, config: Readonly<Config>): { latest(): CheckRun | null } {
  let last: CheckRun | null = null;
  let running: Promise<void> | null = null;
  const refresh = () => {
    running = (async () => {
      // The page that asked goes out first: on SQLite the checks' queries hold the event loop while they run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        const findings = await runDoctor({
          db: ctx.db,
          location: config.databaseUrl ? redactUrl(config.databaseUrl) : sqliteFile(config.dataDir),
          migrations: Object.keys(MIGRATIONS),
          keys: keyState(config),
          relay: relayOf(config),
          leaseMs: config.delivery.leaseMs,
          now: ctx.now(),
          // The outbox check alone counted every message by status: 2–3 s at a million rows under load, on SQLite in the event loop.
          deploymentOnly: true,
        });
        last = { at: ctx.now(), findings: findings.filter((f) => DEPLOYMENT_CHECKS.has(f.check)) };
      } catch (e) {
        last = { at: ctx.now(), findings: [{ check: 'database', ok: false, detail: `the checks could not run: ${(e as Error).message}`, fix: 'run `dialin doctor` on the server' }] };
      } finally {
        running = null;
      }
    })();
  };
  app.addHook('onClose', async () => {
    await running;
  });
  return {
    latest() {
      if (!running && (!last || ctx.now() - last.at > CHECKS_MAX_AGE_MS)) refresh();
      return last;
    },
  };
}
