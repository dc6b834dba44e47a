import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../../../core/errors.ts';
import type { AppContext, TenantScope } from '../../../app/context.ts';
import type { Config } from '../../../config/config.ts';
import { runInBatches, throwIfSkipped, type BatchHandler, type ItemResult } from '../../../app/bulk.ts';
import { scopeFor } from '../auth.ts';
import type { Metrics } from '../metrics.ts';

/** What the API routes need: the context, the configuration and the metrics. */
export interface ApiDeps {
  ctx: AppContext;
  config: Readonly<Config>;
  metrics: Metrics;
}

/** The route builder with TypeBox typing of bodies, queries and params. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

export function scopeOfRequest(deps: ApiDeps, req: FastifyRequest): TenantScope {
  return scopeFor(deps.ctx, req);
}

export interface OneOutcome<T> {
  Outcome: 'done' | 'unchanged';
  Reason: string | null;
  Result: T | null;
}

/**
 * Runs a group use-case for the one user of the path, exactly as the CLI does for a single
 * -Identity: its refusal becomes the request's error, and nothing of it is left half-done.
 * `T` is the shape of the use-case's output object (the caller knows which use-case it ran).
 */
export async function runOne<T extends object = Record<string, unknown>>(s: TenantScope, identity: string, handler: BatchHandler): Promise<OneOutcome<T>> {
  let result: ItemResult | undefined;
  await runInBatches(s, [identity], handler, { onResult: (r) => (result = r) });
  if (!result) throw new AppError('USER_NOT_FOUND', `No user matches the identity "${identity}".`, { field: 'Identity' });
  throwIfSkipped(result);
  return { Outcome: result.outcome === 'done' ? 'done' : 'unchanged', Reason: result.reason ?? null, Result: (result.output as T | undefined) ?? null };
}
