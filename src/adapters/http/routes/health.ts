import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { AppContext } from '../../../app/context.ts';
import type { Metrics } from '../metrics.ts';

/** Liveness, readiness (the database answers) and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, deps: { ctx: AppContext; metrics: Metrics }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await Promise.race([
        sql`select 1`.execute(deps.ctx.db.kysely),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref()),
      ]);
      return { status: 'ready', database: deps.ctx.db.dialect };
    } catch {
      return reply.code(503).send({ error: { code: 'DATABASE_UNAVAILABLE', message: 'The database cannot be reached.' } });
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
