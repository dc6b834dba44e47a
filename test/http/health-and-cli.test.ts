import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pino from 'pino';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { BIN, ROOT, runCli } from '../support/cli.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { buildHttpApp } from '../../src/adapters/http/server.ts';
import { createMetrics } from '../../src/adapters/http/metrics.ts';
import { revokeApiToken } from '../../src/app/api-tokens.ts';
import { appFor, bearer, tokenFor } from './harness.ts';
import { freePort } from '../support/free-port.ts';

for (const dialect of DIALECTS) {
  describe(`health, readiness, metrics and the web CLI commands (${dialect})`, () => {
    let t: TestEnv;

    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await enable(t.scope, await addUsers(t.scope, 'metric', 3));
    });
    after(() => t.cleanup());

    it('/healthz and /readyz answer; /metrics shows the outbox by status and this process’s deliveries', async () => {
      const app = await buildHttpApp({ ctx: t.ctx, config: t.config, log: pino({ level: 'silent' }), metrics: createMetrics(t.ctx, () => ({ sent: 7, failed: 2, expired: 1, retried: 3 })) });
      try {
        assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
        assert.deepEqual((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready', database: dialect });
        const m = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(m, /^dialin_outbox_messages\{status="queued"\} 3$/m);
        assert.match(m, /^dialin_outbox_messages\{status="failed"\} 0$/m);
        assert.match(m, /^dialin_mails_total\{outcome="sent"\} 7$/m);
        assert.match(m, /^dialin_mails_total\{outcome="failed"\} 2$/m);
        assert.match(m, /^dialin_pin_checks_total\{outcome="leader"\} 0$/m);
        assert.match(m, /^dialin_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1$/m);
      } finally {
        await app.close();
      }
    });

    it('/readyz answers 503 DATABASE_UNAVAILABLE when the database is gone', async () => {
      const t2 = await testEnv(dialect);
      const app = await appFor(t2);
      await t2.ctx.db.close();
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().error.code, 'DATABASE_UNAVAILABLE');
      await app.close();
      await t2.cleanup().catch(() => {});
    });

    it('a revoked token stops working within 5 seconds (checked tokens are cached that long)', async () => {
      const clock = { t: Date.now() };
      const app = await appFor(t, { now: () => clock.t });
      const token = await tokenFor(t.scope, 'admin');
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: bearer(token) })).statusCode, 200);
      const id = (await t.ctx.db.kysely.selectFrom('api_tokens').select('id').orderBy('created_at', 'desc').executeTakeFirstOrThrow()).id;
      await revokeApiToken(t.scope, id);
      clock.t += 5_000;
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: bearer(token) })).statusCode, 401);
      await app.close();
    });

    if (dialect === DIALECTS[0]) {
      it('dialin admin add prints a generated password once and stores only its Argon2id hash; a password file works too', async () => {
        const r = await runCli(['admin', 'add', 'Chief@Contoso.com'], t.env);
        assert.equal(r.code, 0, r.stderr);
        const password = /^Password\s*: (\S+)$/m.exec(r.stdout)![1]!;
        assert.match(r.stderr, /cannot be shown again/);
        const row = await t.ctx.db.kysely.selectFrom('admins').selectAll().where('email', '=', 'chief@contoso.com').executeTakeFirstOrThrow();
        assert.match(row.password_hash, /^\$argon2id\$/);
        assert.ok(!row.password_hash.includes(password));
        const file = path.join(t.dataDir, 'pw.txt');
        fs.writeFileSync(file, 'helpdesk password 123\n');
        const h = await runCli(['admin', 'add', 'desk@contoso.com', '--role', 'helpdesk', '--password-file', file], t.env);
        assert.equal(h.code, 0, h.stderr);
        assert.ok(!h.stdout.includes('Password'), 'a password from a file is not printed');
        const dup = await runCli(['admin', 'add', 'desk@contoso.com'], t.env);
        assert.match(dup.stderr, /ADMIN_EXISTS/);
        const list = await runCli(['--json', 'admin', 'list'], t.env);
        assert.deepEqual(JSON.parse(list.stdout).map((a: { Email: string; Role: string }) => `${a.Email}:${a.Role}`), ['chief@contoso.com:admin', 'desk@contoso.com:helpdesk']);
      });

      it('dialin token create prints the token once, keeps only its digest; list never shows it; revoke works', async () => {
        const r = await runCli(['--json', 'token', 'create', '--role', 'bridge', '--name', 'IVR node 1'], t.env);
        assert.equal(r.code, 0, r.stderr);
        const made = JSON.parse(r.stdout) as { Token: string; Identity: string; Role: string };
        assert.match(made.Token, /^dlt_[A-Za-z0-9_-]{43}$/);
        assert.equal(made.Role, 'bridge');
        const rows = JSON.stringify(await t.ctx.db.kysely.selectFrom('api_tokens').selectAll().execute());
        assert.ok(!rows.includes(made.Token) && !rows.includes(made.Token.slice(4)));
        const list = await runCli(['--json', 'token', 'list'], t.env);
        assert.ok(!list.stdout.includes(made.Token));
        const bad = await runCli(['token', 'create', '--role', 'root'], t.env);
        assert.match(bad.stderr, /INVALID_ARGUMENT: Role must be one of admin, helpdesk, bridge/);
        const rev = await runCli(['--json', 'token', 'revoke', made.Identity], t.env);
        assert.notEqual(JSON.parse(rev.stdout).RevokedAt, null);
      });

      it('dialin serve listens on PORT, answers, and stops cleanly on SIGTERM', async () => {
        const port = await freePort();
        const child = spawn(process.execPath, [BIN, 'serve', '--no-worker'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...t.env, PORT: String(port), DIALIN_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        let health: Response | null = null;
        // Generous: on a loaded 2-core machine tsx takes a while to load serve (300 × 100 ms).
        for (let i = 0; i < 300 && !health; i++) {
          health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
          if (!health) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(health, `serve did not answer: ${out}`);
        assert.equal(health.status, 200);
        child.kill('SIGTERM');
        const [code] = (await once(child, 'close')) as [number];
        assert.equal(code, 0, out);
      });
    }
  });
}
