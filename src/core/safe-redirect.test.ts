import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { safeRedirect } from './safe-redirect.ts';

describe('safeRedirect', () => {
  it('keeps a path on this origin, with its query and fragment', () => {
    assert.equal(safeRedirect('/admin/users?q=ken&page=2', '/admin'), '/admin/users?q=ken&page=2');
    assert.equal(safeRedirect('/dialin#pin', '/admin'), '/dialin#pin');
  });
  it('sends anything a browser would read as another site to the fallback', () => {
    for (const t of ['//evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '\t//evil.example', '/\\evil.example', '\\\\evil.example', '/.//evil.example', '/a/..//evil.example', '/%2e%2e//evil.example', 'http://evil.example/', 'https:evil.example', 'javascript:alert(1)', 'data:text/html,x', ' //evil.example']) {
      assert.equal(safeRedirect(t, '/admin'), '/admin', JSON.stringify(t));
    }
  });
  it('answers an ASCII header value: control and non-Latin-1 characters are percent-encoded or dropped', () => {
    assert.equal(safeRedirect('/\u0000x', '/admin'), '/%00x');
    assert.equal(safeRedirect('/x\r\nSet-Cookie: a=b', '/admin'), '/xSet-Cookie:%20a=b');
    assert.equal(safeRedirect('/admin/users?q=Łódź', '/admin'), '/admin/users?q=%C5%81%C3%B3d%C5%BA');
    assert.equal(safeRedirect('/\u202e', '/admin'), '/%E2%80%AE');
  });
  it('refuses what is not a string or empty', () => {
    assert.equal(safeRedirect(undefined, '/admin'), '/admin');
    assert.equal(safeRedirect(['/x'], '/admin'), '/admin');
    assert.equal(safeRedirect('', '/admin'), '/admin');
  });
});
