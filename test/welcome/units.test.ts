import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { AppError } from '../../src/core/errors.ts';
import { relaySpecOf } from '../../src/adapters/cli/cmdlets/welcome-relay.ts';
import { RunProgress } from '../../src/adapters/cli/progress.ts';
import type { ItemResult } from '../../src/app/bulk.ts';

describe('-SmtpServer and -UseSsl', () => {
  const spec = (server: string | null, useSsl = false, user: string | null = null) => relaySpecOf(server, { useSsl, user, ca: null });

  it('host, host:port and [IPv6]:port; port 25 by default', () => {
    assert.deepEqual(spec('smtp.contoso.com'), { host: 'smtp.contoso.com', port: 25, secure: false, requireTLS: false, ca: null });
    assert.equal(spec('smtp.contoso.com:587').port, 587);
    assert.deepEqual([spec('[2001:db8::25]:2525').host, spec('[2001:db8::25]:2525').port], ['2001:db8::25', 2525]);
    assert.equal(spec('2001:db8::25').host, '2001:db8::25');
  });

  it('-UseSsl requires STARTTLS, or is implicit TLS on port 465; a credential always requires TLS', () => {
    assert.deepEqual([spec('relay:587', true).secure, spec('relay:587', true).requireTLS], [false, true]);
    assert.deepEqual([spec('relay:465', true).secure, spec('relay:465', true).requireTLS], [true, false]);
    assert.equal(spec('relay:587', false, 'me@contoso.com').requireTLS, true);
    assert.equal(spec('relay:587').requireTLS, false);
  });

  it('neither -SmtpServer nor PSEmailServer, or a malformed one: a clear error naming the field', () => {
    assert.throws(() => spec(null), (e: unknown) => e instanceof AppError && e.code === 'MISSING_ARGUMENT' && e.field === 'SmtpServer' && /PSEmailServer/.test(e.message));
    for (const bad of ['smtp://relay', 'relay:0', 'relay:70000', 'relay:25:26', 'bad host', '-relay', 'relay\r\nRCPT TO:<x@y>']) {
      assert.throws(() => spec(bad), (e: unknown) => e instanceof AppError && e.code === 'SMTP_CONFIG_INVALID' && e.field === 'SmtpServer', bad);
    }
  });
});

describe('RunProgress', () => {
  const result = (i: number, status?: string): ItemResult => ({ input: `u${i}@contoso.com`, user: `sip:u${i}@contoso.com`, outcome: 'done', ...(status ? { status } : {}), reason: i === 1 ? 'a reason, with a comma' : undefined });

  it('without a terminal: a line every 5 s with the count, the rate and, the total known, the time left', () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    try {
      const stream = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
      let out = '';
      (stream as unknown as PassThrough).on('data', (d: Buffer) => (out += d));
      const p = new RunProgress({ label: 'Set-CsPinSendCAWelcomeMail', reportFile: null, stream });
      p.expect(1000);
      for (let i = 0; i < 100; i++) p.add(result(i));
      assert.equal(out, '', 'nothing before 5 s');
      mock.timers.tick(5001);
      p.add(result(100));
      assert.equal(out, 'Set-CsPinSendCAWelcomeMail: 101 of 1000 users, 20/s, about 45 s left\n');
    } finally {
      mock.timers.reset();
    }
  });

  it('on a terminal: a bar with the total, the rate and an ETA', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true }) as unknown as NodeJS.WriteStream;
    let out = '';
    (stream as unknown as PassThrough).on('data', (d: Buffer) => (out += d));
    const p = new RunProgress({ label: 'Welcome', reportFile: null, stream });
    p.expect(200);
    for (let i = 0; i < 100; i++) p.add(result(i));
    await p.finish();
    assert.match(out, /Welcome \[[^\]]+\] 100\/200 users \| \d+\/s \| ETA \S+/);
  });

  it('--report: one CSV line per user, the finer outcome when there is one', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-progress-')), 'report.csv');
    const p = new RunProgress({ label: 'x', reportFile: file, stream: Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream });
    p.add(result(0, 'sent'));
    p.add(result(1));
    await p.finish();
    assert.equal(fs.readFileSync(file, 'utf8'), 'Identity,User,Outcome,Code,Reason\nu0@contoso.com,sip:u0@contoso.com,sent,,\nu1@contoso.com,sip:u1@contoso.com,done,,"a reason, with a comma"\n');
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
