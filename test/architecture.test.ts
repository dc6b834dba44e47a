import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

/** The core stays pure: no node built-ins, drivers, mailers or adapters; no env, no clock. */
it('src/core imports no I/O, reads no environment and no clock', () => {
  const dir = 'src/core';
  const offenders: string[] = [];
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || spec.includes('adapters') || spec.includes('/app/') || ['kysely', 'pg', 'better-sqlite3', 'nodemailer', 'fastify'].includes(spec)) offenders.push(`${f}: imports ${spec}`);
    }
    if (/process\.env|Date\.now\(|new Date\(\)|Math\.random\(/.test(src)) offenders.push(`${f}: uses env, clock or Math.random`);
  }
  assert.deepEqual(offenders, []);
});
