import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../core/errors.ts';
import { describeRelay, parseRelayUrl } from './relay-url.ts';

describe('parseRelayUrl', () => {
  it('smtp:// without credentials: STARTTLS when offered, port 25', () => {
    assert.deepEqual(parseRelayUrl('smtp://relay.contoso.com'), { host: 'relay.contoso.com', port: 25, secure: false, requireTLS: false, auth: null, ca: null });
  });
  it('smtps:// is implicit TLS on 465', () => {
    const r = parseRelayUrl('smtps://u:p@relay.contoso.com');
    assert.equal(r.secure, true);
    assert.equal(r.port, 465);
    assert.equal(r.requireTLS, false);
  });
  it('credentials over smtp:// require STARTTLS unless the URL says requireTLS=false', () => {
    assert.equal(parseRelayUrl('smtp://u:p@relay:587').requireTLS, true);
    assert.equal(parseRelayUrl('smtp://u:p@relay:587?requireTLS=false').requireTLS, false);
    assert.equal(parseRelayUrl('smtp://relay:587?requireTLS').requireTLS, true);
  });
  it('decodes percent-encoded credentials and keeps the CA', () => {
    const r = parseRelayUrl('smtp://me%40x.com:p%3Ass@relay:587', 'PEM');
    assert.deepEqual(r.auth, { user: 'me@x.com', pass: 'p:ss' });
    assert.equal(r.ca, 'PEM');
  });
  it('refuses other schemes, paths, unknown parameters', () => {
    for (const bad of ['http://relay', 'smtp://relay/x', 'smtp://relay?rejectUnauthorized=false', 'smtp://relay?requireTLS=maybe', 'smtp://:pw@relay', 'nonsense']) {
      assert.throws(() => parseRelayUrl(bad), (e: unknown) => e instanceof AppError && e.code === 'SMTP_CONFIG_INVALID', bad);
    }
  });
  it('describes a relay without its password', () => {
    const d = describeRelay(parseRelayUrl('smtp://user:s3cret-pw@relay:587'));
    assert.ok(!d.includes('s3cret-pw'));
    assert.match(d, /user:\*\*\*\*@relay:587 \(STARTTLS required\)/);
  });
});
