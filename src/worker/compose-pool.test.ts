import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TEMPLATES } from '../core/templates/defaults.ts';
import { SAMPLE_VALUES } from '../core/templates/engine.ts';
import { AppError } from '../core/errors.ts';
import { ComposeInterrupted, createComposer } from './compose-pool.ts';
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

  it('a job over the hard timeout is interrupted (its thread is stopped), so the message is tried again later', async () => {
    const strict = createComposer(1, 1);
    try {
      await assert.rejects(strict.compose(job(1)), ComposeInterrupted);
    } finally {
      await strict.close();
    }
  });

  it('template sources sent once per thread still reach it when they change', async () => {
    const fr = await pool.compose(job(2, { templates: DEFAULT_TEMPLATES.info_changed.fr, language: 'fr' }));
    const own = await pool.compose(job(3, { templates: { ...DEFAULT_TEMPLATES.info_changed.fr, text: 'Own text for {{ displayName }}' } }));
    assert.match(Buffer.from(fr.raw).toString('utf8'), /^Content-Language: fr\r$/m);
    assert.equal(parseMail(Buffer.from(own.raw).toString('utf8')).text, 'Own text for User 3');
  });
});
