import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { keysFromMaster } from '../../src/adapters/crypto/keys.ts';
import { outboxIdOfReturnPath, returnPathOf } from '../../src/app/return-path.ts';
import { uuidv7 } from '../../src/adapters/crypto/ids.ts';

describe('VERP return paths', () => {
  const keys = keysFromMaster(crypto.randomBytes(32));
  const id = uuidv7();
  const rp = returnPathOf(keys, id, 'bounces.contoso.com');
  it('name their message, fit a local part, and survive case folding', () => {
    assert.match(rp, /^bounce\+[0-9a-f]{32}-[a-z2-7]{16}@bounces\.contoso\.com$/);
    assert.ok(rp.split('@')[0]!.length <= 64);
    assert.equal(outboxIdOfReturnPath(keys, rp, 'bounces.contoso.com'), id);
    assert.equal(outboxIdOfReturnPath(keys, rp.toUpperCase(), 'BOUNCES.contoso.com'), id);
  });
  it('a forged, damaged or foreign one names nothing', () => {
    const other = uuidv7();
    const swapped = rp.replace(id.replace(/-/g, ''), other.replace(/-/g, ''));
    assert.equal(outboxIdOfReturnPath(keys, swapped, 'bounces.contoso.com'), null, 'another id with this token');
    assert.equal(outboxIdOfReturnPath(keys, rp, 'bounces.fabrikam.com'), null, 'another domain');
    assert.equal(outboxIdOfReturnPath(keysFromMaster(crypto.randomBytes(32)), rp, 'bounces.contoso.com'), null, 'another deployment key');
    assert.equal(outboxIdOfReturnPath(keys, 'postmaster@bounces.contoso.com', 'bounces.contoso.com'), null);
    assert.notEqual(returnPathOf(keys, other, 'b.contoso.com').split('-').pop(), rp.split('-').pop());
  });
});
