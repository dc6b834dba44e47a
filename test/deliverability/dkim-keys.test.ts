import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { otherTenant } from '../http/harness.ts';
import { AppError } from '../../src/core/errors.ts';
import { activateDkimKey, generateDkimKeys, keysForDomain, listDkimKeys, loadSigningKeys, removeDkimKey } from '../../src/app/dkim.ts';
import { brokenKeyFindings } from '../../src/app/deliverability.ts';
import { keysFromMaster } from '../../src/adapters/crypto/keys.ts';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

for (const dialect of DIALECTS) {
  describe(`DKIM keys: rotation, owners, a key that does not open (${dialect})`, () => {
    let t: TestEnv;
    before(async () => (t = await testEnv(dialect)));
    after(async () => t?.cleanup());

    it('two selectors per domain: the second waits on standby, activate switches, remove hands signing over', async () => {
      const [first] = await generateDkimKeys(t.scope, { domain: 'contoso.com', selector: 's1', forTenant: false });
      const [second] = await generateDkimKeys(t.scope, { domain: 'contoso.com', selector: 's2', forTenant: false });
      assert.deepEqual([first!.State, second!.State], ['active', 'standby']);
      await assert.rejects(generateDkimKeys(t.scope, { domain: 'contoso.com', selector: 's3', forTenant: false }), code('DKIM_TOO_MANY_KEYS'));
      await assert.rejects(generateDkimKeys(t.scope, { domain: 'contoso.com', selector: 's1', forTenant: false, ed25519: true }), code('DKIM_KEY_EXISTS'));
      const signing = async () => keysForDomain((await loadSigningKeys(t.ctx.db.kysely, t.ctx.keys, [t.scope.tenant.id], new Map())).byTenant.get(t.scope.tenant.id)!, t.scope.tenant.id, 'contoso.com').map((k) => k.selector);
      assert.deepEqual(await signing(), ['s1']);
      await activateDkimKey(t.scope, 'contoso.com', 's2');
      assert.deepEqual(await signing(), ['s2']);
      const r = await removeDkimKey(t.scope, 'contoso.com', 's2');
      assert.equal(r.nowSigning?.Selector, 's1');
      assert.deepEqual(await signing(), ['s1']);
      await assert.rejects(removeDkimKey(t.scope, 'contoso.com', 's9'), code('DKIM_KEY_NOT_FOUND'));
    });

    it("a tenant's key signs only its mail; its domain is not another's to take", async () => {
      const fab = await otherTenant(t, 'fabrikam');
      await generateDkimKeys(fab, { domain: 'fabrikam.com', forTenant: true });
      await assert.rejects(generateDkimKeys(t.scope, { domain: 'fabrikam.com', forTenant: true }), code('DKIM_DOMAIN_TAKEN'));
      assert.ok(!(await listDkimKeys(t.scope)).some((k) => k.Domain === 'fabrikam.com'), 'not listed to another tenant');
      const loaded = await loadSigningKeys(t.ctx.db.kysely, t.ctx.keys, [t.scope.tenant.id, fab.tenant.id], new Map());
      assert.deepEqual(keysForDomain(loaded.byTenant.get(t.scope.tenant.id)!, t.scope.tenant.id, 'fabrikam.com'), []);
      assert.equal(keysForDomain(loaded.byTenant.get(fab.tenant.id)!, fab.tenant.id, 'fabrikam.com').length, 1);
    });

    it('a key sealed under another master key: a doctor problem, and delivery goes on unsigned', async () => {
      const wrong = keysFromMaster(crypto.randomBytes(32));
      const found = await brokenKeyFindings(t.ctx.db, wrong);
      assert.ok(found.length >= 2 && found.every((f) => !f.ok && !f.warning && /cannot be opened with this deployment's key/.test(f.detail)), JSON.stringify(found));
      const loaded = await loadSigningKeys(t.ctx.db.kysely, wrong, [t.scope.tenant.id], new Map());
      assert.ok(loaded.broken.length >= 1);
      assert.deepEqual(keysForDomain(loaded.byTenant.get(t.scope.tenant.id)!, t.scope.tenant.id, 'contoso.com'), [], 'no key to sign with: the mail goes unsigned');
      assert.deepEqual(await brokenKeyFindings(t.ctx.db, t.ctx.keys), []);
    });
  });
}
