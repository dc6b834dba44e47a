import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_TEMPLATES } from '../core/templates/defaults.ts';
import { SAMPLE_VALUES } from '../core/templates/engine.ts';
import { AppError } from '../core/errors.ts';
import { ComposeInterrupted, ComposeStarved, createComposer } from './compose-pool.ts';
import { THREAD_CPU_MEASURABLE } from './thread-cpu.ts';
import type { ComposeJob } from './compose.ts';
import { parseMail } from '../../test/mail/support/mime.ts';

const job = (i: number, over: Partial<ComposeJob> = {}): ComposeJob => ({
  templates: DEFAULT_TEMPLATES.welcome.en,
  values: { ...SAMPLE_VALUES, displayName: `User ${i}`, pin: String(100000 + i) },
  plainText: false,
  subject: null,
  from: { name: 'Dial-in Conferencing', address: 'noreply@contoso.com' },
  to: { name: `User ${i}`, address: `user${i}@contoso.com` },
  cc: [],
  bcc: ['audit@contoso.com'],
  messageId: `<m${i}@contoso.com>`,
  language: 'en',
  date: Date.UTC(2026, 0, 5),
  envelopeFrom: 'noreply@contoso.com',
  dkim: [],
  ...over,
});

/** The kernel threads of this process. */
const tasks = (): Set<number> => new Set(fs.readdirSync('/proc/self/task').map(Number));

describe('compose threads', () => {
  const pool = createComposer(2, 5_000);
  after(() => pool.close());

  it('compose in threads what the worker would compose itself: CRLF, the Message-ID, Bcc only in the envelope', async () => {
    const mails = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.compose(job(i))));
    for (const [i, m] of mails.entries()) {
      const raw = Buffer.from(m.raw).toString('utf8');
      assert.match(raw, new RegExp(`^Message-ID: <m${i}@contoso\\.com>\\r$`, 'm'));
      assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(raw), 'CRLF only');
      assert.doesNotMatch(raw, /^Bcc:/im);
      assert.deepEqual(m.envelope, { from: 'noreply@contoso.com', to: [`user${i}@contoso.com`, 'audit@contoso.com'] });
    }
  });

  it('a template that does not render comes back as the AppError', async () => {
    await assert.rejects(pool.compose(job(1, { templates: { ...DEFAULT_TEMPLATES.welcome.en, text: '{{ nope }}' } })), (e: unknown) => e instanceof AppError && e.code === 'TEMPLATE_INVALID');
  });

  it('a job whose thread spends its CPU budget without answering is interrupted (the thread is stopped): it counts as an attempt', async () => {
    // 300 jobs of about a millisecond each, one thread, a 20 ms CPU budget: the last ones are
    // still unanswered when their thread has spent far more than that since they were posted.
    const strict = createComposer(1, 20, 600_000);
    try {
      const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => strict.compose(job(i))));
      const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      assert.ok(reasons.some((e) => e instanceof ComposeInterrupted && /ms of CPU time; the thread was stopped/.test(e.message)), 'a job was interrupted');
      assert.ok(!reasons.some((e) => e instanceof ComposeStarved), 'none was taken for starved');
    } finally {
      await strict.close();
    }
  });

  it('on a CPU-starved machine a healthy thread is not stopped: its jobs come back as starved (not an attempt) and it keeps working', { skip: !THREAD_CPU_MEASURABLE && 'thread CPU time is only readable on Linux', timeout: 120_000 }, async () => {
    const before = tasks();
    const starved = createComposer(1, 2_000, 1_500);
    const busy: ChildProcess[] = [];
    try {
      await starved.compose(job(0)); // the thread is up
      // The thread (and whatever else started with it) gets the lowest priority, and more busy
      // processes than CPUs take the machine: it now waits seconds for a CPU while using almost none.
      const threadIds = [...tasks()].filter((t) => !before.has(t));
      assert.ok(threadIds.length >= 1, 'the compose thread is a task of this process');
      for (const t of threadIds) os.setPriority(t, 19);
      for (let i = 0; i <= os.availableParallelism(); i++) busy.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
      await new Promise((r) => setTimeout(r, 500));
      const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => starved.compose(job(i))));
      const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      assert.ok(reasons.length > 0 && reasons.every((e) => e instanceof ComposeStarved), `the unfinished jobs were given back as starved (${reasons.length} unfinished, ${reasons.filter((e) => e instanceof ComposeInterrupted).length} interrupted)`);
      assert.match(reasons[0]!.message, /waited \d+ ms for a CPU and got \d+ ms/);
      for (const b of busy.splice(0)) b.kill('SIGKILL');
      assert.ok(threadIds.every((t) => tasks().has(t)), 'the thread was not stopped');
      const again = await starved.compose(job(1));
      assert.match(Buffer.from(again.raw).toString('utf8'), /^Message-ID: <m1@contoso\.com>\r$/m, 'and it still composes');
      assert.ok(threadIds.every((t) => tasks().has(t)), 'in the same thread');
    } finally {
      for (const b of busy) b.kill('SIGKILL');
      await starved.close();
    }
  });

  it('template sources sent once per thread still reach it when they change', async () => {
    const fr = await pool.compose(job(2, { templates: DEFAULT_TEMPLATES.info_changed.fr, language: 'fr' }));
    const own = await pool.compose(job(3, { templates: { ...DEFAULT_TEMPLATES.info_changed.fr, text: 'Own text for {{ displayName }}' } }));
    assert.match(Buffer.from(fr.raw).toString('utf8'), /^Content-Language: fr\r$/m);
    assert.equal(parseMail(Buffer.from(own.raw).toString('utf8')).text, 'Own text for User 3');
  });
});
