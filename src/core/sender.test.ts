import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.ts';
import { chooseSender, parseMailbox } from './sender.ts';
import { DEFAULT_TENANT_SETTINGS } from './tenant-settings.ts';

describe('parseMailbox', () => {
  it('reads a quoted name, a bare name or a bare address', () => {
    assert.deepEqual(parseMailbox('"Dial-in Conferencing" <noreply@Contoso.com>'), { name: 'Dial-in Conferencing', address: 'noreply@contoso.com' });
    assert.deepEqual(parseMailbox('Dial-in <noreply@contoso.com>'), { name: 'Dial-in', address: 'noreply@contoso.com' });
    assert.deepEqual(parseMailbox('noreply@contoso.com'), { name: '', address: 'noreply@contoso.com' });
    assert.deepEqual(parseMailbox('"A \\"B\\"" <a@b.com>'), { name: 'A "B"', address: 'a@b.com' });
  });
  it('refuses line breaks, lists, groups and bad addresses', () => {
    for (const bad of ['"X" <a@b.com>\r\nBcc: e@evil.com', 'a@b.com, e@evil.com', 'g: a@b.com;', 'X <a@b>', '<>', '"X" <a@b.com> <c@d.com>']) {
      assert.throws(() => parseMailbox(bad), (e: unknown) => e instanceof AppError && e.field === 'DIALIN_MAIL_FROM', bad);
    }
  });
});

describe('chooseSender', () => {
  const fallback = { name: 'Dial-in Conferencing', address: 'noreply@contoso.com' };
  it('uses the default unless the tenant override is on with both fields', () => {
    assert.deepEqual(chooseSender(DEFAULT_TENANT_SETTINGS, fallback), fallback);
    assert.deepEqual(chooseSender({ ...DEFAULT_TENANT_SETTINGS, SendEmailFromAddress: 'a@b.com', SendEmailFromDisplayName: 'B' }, fallback), fallback);
    assert.deepEqual(chooseSender({ ...DEFAULT_TENANT_SETTINGS, SendEmailFromOverride: true, SendEmailFromAddress: 'a@b.com', SendEmailFromDisplayName: 'B' }, fallback), { name: 'B', address: 'a@b.com' });
  });
  it('a command-given sender wins', () => {
    assert.deepEqual(chooseSender({ ...DEFAULT_TENANT_SETTINGS, SendEmailFromOverride: true, SendEmailFromAddress: 'a@b.com', SendEmailFromDisplayName: 'B' }, fallback, { name: '', address: 'x@y.com' }), { name: '', address: 'x@y.com' });
  });
});
