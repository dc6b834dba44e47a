import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.ts';
import { checkDkimDomain, checkDkimSelector, heloNameReason, parseDkimRecord, publicUrlReason, reservedDomainReason } from './deliverability.ts';

describe('deliverability rules', () => {
  it('reserved and local sender domains are named; real ones pass', () => {
    for (const d of ['dialin.localhost', 'pc.local', 'x.test', 'example', 'mail.example', 'a.invalid', 'host', 'example.com', 'dialin.example.org', '[127.0.0.1]']) assert.ok(reservedDomainReason(d), d);
    for (const d of ['contoso.com', 'mail.fabrikam.co.uk', 'examples.com']) assert.equal(reservedDomainReason(d), null, d);
  });
  it('public URLs: plain http and loopback are named', () => {
    assert.match(publicUrlReason('http://dialin.contoso.com')!, /plain http/);
    for (const u of ['https://localhost:8080', 'https://127.0.0.1', 'https://[::1]:8443', 'https://x.localhost']) assert.match(publicUrlReason(u)!, /loopback/, u);
    assert.equal(publicUrlReason('https://dialin.contoso.com'), null);
  });
  it('EHLO names must be fully qualified', () => {
    assert.match(heloNameReason('vm')!, /bare host/);
    assert.match(heloNameReason('[127.0.0.1]')!, /address literal/);
    assert.equal(heloNameReason('dialin.contoso.com'), null);
  });
  it('DKIM domains and selectors: malformed ones refused with the field named', () => {
    assert.equal(checkDkimDomain(' Contoso.COM. '), 'contoso.com');
    assert.equal(checkDkimSelector('Dialin-202612.a'), 'dialin-202612.a');
    for (const bad of ['contoso', 'contoso..com', '-x.com', 'x_y.com', 'a'.repeat(64) + '.com', 'con toso.com', ''])
      assert.throws(() => checkDkimDomain(bad), (e: unknown) => e instanceof AppError && e.code === 'DKIM_DOMAIN_INVALID' && e.field === 'Domain', bad);
    for (const bad of ['', 'a_b', 'sel!', '.x', 'x.', 'a'.repeat(64)]) assert.throws(() => checkDkimSelector(bad), (e: unknown) => e instanceof AppError && e.code === 'DKIM_SELECTOR_INVALID' && e.field === 'Selector', bad);
  });
  it('published DKIM records are read with whitespace in p= ignored', () => {
    assert.deepEqual(parseDkimRecord('v=DKIM1; k=rsa; p=MIIB Ijan\tBg=='), { k: 'rsa', p: 'MIIBIjanBg==' });
    assert.deepEqual(parseDkimRecord('p=abc'), { k: 'rsa', p: 'abc' });
    assert.equal(parseDkimRecord('v=spf1 -all'), null);
  });
});
