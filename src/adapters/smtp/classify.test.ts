import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifySendError, deadlineError } from './classify.ts';

describe('classifySendError', () => {
  it('5xx is permanent, with the reply kept', () => {
    const f = classifySendError({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 <x@y.com>: user unknown', command: 'RCPT TO' });
    assert.deepEqual(f, { class: 'permanent', reply: '550 5.1.1 <x@y.com>: user unknown', code: 550, uncertain: false });
  });
  it('4xx and 503 are transient', () => {
    assert.equal(classifySendError({ code: 'EENVELOPE', responseCode: 451, response: '451 try later' }).class, 'transient');
    assert.equal(classifySendError({ code: 'EPROTOCOL', responseCode: 503, response: '503 bad sequence' }).class, 'transient');
  });
  it('a refused login or TLS pauses', () => {
    assert.equal(classifySendError({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication failed' }).class, 'pause');
    assert.equal(classifySendError({ code: 'ETLS', message: 'STARTTLS failed' }).class, 'pause');
    assert.equal(classifySendError({ code: 'ESOCKET', message: 'self-signed certificate' }).class, 'pause');
  });
  it('connection refused is transient and certain; a connection lost mid-session is uncertain', () => {
    const refused = classifySendError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    assert.deepEqual([refused.class, refused.uncertain], ['transient', false]);
    const lost = classifySendError({ code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' });
    assert.deepEqual([lost.class, lost.uncertain], ['transient', true]);
    assert.equal(classifySendError(deadlineError(5000)).uncertain, true);
  });
  it('keeps the reply on one line', () => {
    assert.equal(classifySendError({ responseCode: 451, response: '451-a\r\n451 b' }).reply, '451-a 451 b');
  });
});
