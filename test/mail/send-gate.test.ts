import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSmtpRelay } from '../../src/adapters/smtp/smtp-relay.ts';
import { parseRelayUrl } from '../../src/adapters/smtp/relay-url.ts';
import { gateRelay } from '../../src/worker/send-gate.ts';
import { SmtpSink } from './support/smtp-sink.ts';

function mail(n: number) {
  const messageId = `<gate-${n}@dialin.test>`;
  const raw = Buffer.from(`From: a@dialin.test\r\nTo: b${n}@dialin.test\r\nMessage-ID: ${messageId}\r\nSubject: ${n}\r\n\r\nhello\r\n`);
  return { envelope: { from: 'a@dialin.test', to: [`b${n}@dialin.test`] }, raw: new Uint8Array(raw), messageId };
}

/**
 * The gate in front of the pooled relay: a message that waited for a connection still gets its
 * whole deadline for its SMTP transaction. Counted from when it began to wait, a message let in
 * near the end of its deadline timed out in the middle of DATA, after the relay had it, and was
 * sent again: the duplicates of two workers on a busy machine (test/faults/multi-process.test.ts).
 */
describe('send gate', () => {
  let sink: SmtpSink;
  before(async () => (sink = await SmtpSink.start()));
  after(() => sink.stop());

  it('a message that waited for the connection gets its whole deadline: sent once, no timeout after DATA', async () => {
    // One connection; each end of DATA is answered 1.5 s late; each send may take 2.6 s.
    sink.faults = { delayMs: (stage) => (stage === 'DATA' ? 1500 : 0) };
    const gated = gateRelay(createSmtpRelay(parseRelayUrl(sink.url, null), { connections: 1, replyTimeoutMs: 10_000 }), 1);
    try {
      // The second waits about 1.5 s for the first, then needs 1.5 s of its own.
      const results = await Promise.allSettled([1, 2].map((n) => gated.send(mail(n), 2600)));
      const errors = results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : null));
      assert.deepEqual(errors, [null, null], 'both sent within their own deadline');
      assert.deepEqual(sink.received.map((r) => r.messageId).sort(), ['<gate-1@dialin.test>', '<gate-2@dialin.test>'], 'each received once');
    } finally {
      await gated.close();
    }
  });
});
