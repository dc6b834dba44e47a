import pino from 'pino';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildHttpApp } from '../../src/adapters/http/server.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createMetrics } from '../../src/adapters/http/metrics.ts';
import { addTenant, scopeOf } from '../../src/app/tenants.ts';
import { createApiToken, type TokenRole } from '../../src/app/api-tokens.ts';
import { addAdmin, type AdminRole } from '../../src/app/admins.ts';
import type { TenantScope } from '../../src/app/context.ts';
import type { TestEnv } from '../support/dialects.ts';

/** The app of a test environment, built in-process (fastify inject, no socket), logging nothing. */
export async function appFor(t: TestEnv, opts: { now?: () => number; env?: Record<string, string> } = {}): Promise<FastifyInstance> {
  const ctx = opts.now ? { ...t.ctx, now: opts.now } : t.ctx;
  const config = opts.env ? loadConfig({ ...t.env, ...opts.env }) : t.config;
  const app = await buildHttpApp({ ctx, config, log: pino({ level: 'silent' }), metrics: createMetrics(ctx) });
  await app.ready();
  return app;
}

export async function tokenFor(s: TenantScope, role: TokenRole): Promise<string> {
  return (await createApiToken(s, { role, name: `${role} test token` })).token;
}

/** A second tenant with its own scope (for isolation checks). */
export async function otherTenant(t: TestEnv, name = 'fabrikam'): Promise<TenantScope> {
  return scopeOf(t.ctx, await addTenant(t.ctx, name, `${name}.com`));
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Signs an administrator in through the login form and returns the session cookie and CSRF token. */
export async function signIn(app: FastifyInstance, s: TenantScope, email: string, role: AdminRole = 'admin'): Promise<{ cookie: string; csrf: string; raw: LightMyRequestResponse }> {
  const password = 'correct horse battery staple';
  await addAdmin(s, { email, role, password });
  const raw = await app.inject({ method: 'POST', url: '/admin/login', payload: new URLSearchParams({ email, password, next: '/admin' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const set = raw.cookies.find((c) => c.name.endsWith('dialin-admin'));
  if (!set) throw new Error(`sign-in failed: ${raw.statusCode} ${/<div class="notice[^]*?<\/div>/.exec(raw.body)?.[0]}`);
  const cookie = `${set.name}=${set.value}`;
  const page = await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { cookie, csrf, raw };
}

export function json<T = Record<string, unknown>>(r: LightMyRequestResponse): T {
  return JSON.parse(r.body) as T;
}
