import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReturn } from '../../src/core/bounce-report.ts';
import { MalformedMessage, parseReturn } from '../../src/adapters/bounces/parse-return.ts';
import { corpusMessage, CORPUS } from './support/corpus.ts';

const v = { returnPath: 'bounce+0196a1b2c3d47e5f8a9b0c1d2e3f4a5b-abcdefghijklmnop@bounces.contoso.com', recipient: 'bob.kelly@tailspin.com', messageId: '<0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@contoso.com>' };

/** What each real-world format must come out as: kind, status, and the reporting MTA. */
const EXPECTED: Record<string, { kind: string; status: string | null; mta?: RegExp; diagnostic?: RegExp }> = {
  'postfix-unknown-user': { kind: 'bounced', status: '5.1.1', mta: /dialin-test\.net/, diagnostic: /unknown user/ },
  'gmail-no-such-user': { kind: 'bounced', status: '5.1.1', mta: /googlemail\.com/, diagnostic: /does not exist/ },
  'exchange-ndr': { kind: 'bounced', status: '5.1.10', mta: /EX02\.contoso\.com/, diagnostic: /RecipientNotFound/ },
  'exim-failed': { kind: 'bounced', status: '5.1.1', mta: /mx\.fabrikam\.org/, diagnostic: /User unknown/ },
  'qmail-failure': { kind: 'bounced', status: '5.1.1', mta: /mail\.northwind\.net/, diagnostic: /no mailbox here/ },
  'delay-4xx': { kind: 'delayed', status: '4.4.1', mta: /relay\.contoso\.com/, diagnostic: /timed out/ },
  'arf-abuse': { kind: 'complained', status: 'abuse', mta: /hotmail\.com/ },
  'auto-reply': { kind: 'ignored', status: null },
  'global-dsn': { kind: 'bounced', status: '5.2.2', mta: /example-utf8\.jp/, diagnostic: /mailbox full/ },
};

describe('returned mail: the corpus of real-world formats', () => {
  it('has an expectation for every message of the corpus', () => assert.deepEqual([...CORPUS].sort(), Object.keys(EXPECTED).sort()));

  for (const name of CORPUS) {
    it(`${name}: ${EXPECTED[name]!.kind} ${EXPECTED[name]!.status ?? ''}`, async () => {
      const { message, deliveredTo } = await parseReturn(corpusMessage(name, v));
      const r = classifyReturn(message);
      const want = EXPECTED[name]!;
      assert.equal(r.kind, want.kind, r.why);
      assert.equal(r.status, want.status, r.why);
      if (want.mta) assert.match(r.reportingMta ?? '', want.mta);
      if (want.diagnostic) assert.match(r.diagnostic ?? '', want.diagnostic);
      if (want.kind !== 'ignored') {
        assert.equal(r.recipient, v.recipient, 'the recipient the report is about');
        assert.equal(r.originalMessageId, v.messageId, 'the Message-ID of the original, as quoted');
      }
      assert.ok(deliveredTo.map((a) => a.toLowerCase()).includes(v.returnPath), 'the return path it was delivered to');
    });
  }

  it('a 4.x.x the reporting MTA gave up on (Action: failed) is a bounce, not a delay', async () => {
    const raw = corpusMessage('delay-4xx', v).toString().replace('Action: delayed', 'Action: failed').replace('Status: 4.4.1', 'Status: 4.4.7');
    const r = classifyReturn((await parseReturn(Buffer.from(raw))).message);
    assert.deepEqual([r.kind, r.status], ['bounced', '4.4.7']);
  });

  it('a success notice (Action: delivered) and a mail that is no report are not bounces', async () => {
    const delivered = corpusMessage('postfix-unknown-user', v).toString().replace('Action: failed', 'Action: delivered').replace('Status: 5.1.1', 'Status: 2.0.0');
    assert.equal(classifyReturn((await parseReturn(Buffer.from(delivered))).message).kind, 'ignored');
    const plain = Buffer.from('From: someone@fabrikam.org\r\nTo: x@bounces.contoso.com\r\nSubject: hello\r\n\r\nJust saying hi.\r\n');
    assert.equal(classifyReturn((await parseReturn(plain)).message).kind, 'unrecognized');
  });

  it('malformed MIME is refused with a reason, never a crash', async () => {
    const bad = [
      Buffer.from('this is not a header\r\n\r\nbody\r\n'),
      Buffer.from('From: a@b.c\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n--x\r\n'),
      Buffer.from('From: a@b.c\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\nno parts at all\r\n'),
      Buffer.from('From: a@b.c\r\nSubject: x\u0000y\r\n\r\nbody'),
      Buffer.alloc(0),
    ];
    for (const b of bad) await assert.rejects(parseReturn(b), MalformedMessage, b.toString().slice(0, 30));
  });
});
