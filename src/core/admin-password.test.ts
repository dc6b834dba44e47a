import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAdminPassword } from './admin-password.ts';
import { isAppError } from './errors.ts';

const LIST = new Set(['password1234', 'qwertyuiop123']);
const check = (pw: string) => checkAdminPassword(pw, (p) => LIST.has(p));
const codeOf = (pw: string) => {
  try {
    check(pw);
    return null;
  } catch (e) {
    assert.ok(isAppError(e));
    assert.equal(e.field, 'Password');
    return e.code;
  }
};

describe('checkAdminPassword', () => {
  it('refuses one character repeated and whitespace only (PASSWORD_TRIVIAL)', () => {
    for (const pw of ['aaaaaaaaaaaa', ' '.repeat(12), '\t \t \t \t \t \t ', '1'.repeat(40), '😀'.repeat(12)]) assert.equal(codeOf(pw), 'PASSWORD_TRIVIAL', JSON.stringify(pw));
  });

  it('refuses a listed password in any case, and with spaces around it (PASSWORD_COMMON)', () => {
    for (const pw of ['password1234', 'PassWord1234', ' password1234 ', 'QWERTYUIOP123']) assert.equal(codeOf(pw), 'PASSWORD_COMMON', pw);
  });

  it('keeps the length bounds (PASSWORD_INVALID) and counts characters, not UTF-16 units', () => {
    assert.equal(codeOf('short pw'), 'PASSWORD_INVALID');
    assert.equal(codeOf('x'.repeat(257)), 'PASSWORD_INVALID');
    assert.equal(codeOf('😀😁'.repeat(3)), 'PASSWORD_INVALID', '6 characters, 12 code units');
  });

  it('accepts a passphrase, of any script', () => {
    for (const pw of ['correct horse battery staple', 'ab'.repeat(6), 'mot de passe très long', 'пароль очень длинный']) assert.equal(check(pw), pw);
  });
});
