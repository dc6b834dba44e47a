import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_LANGUAGES, MAIL_LANGUAGES, pickMailLanguage, toBridgeLanguage, toUserLanguage } from './languages.ts';
import { AppError } from './errors.ts';

const invalid = (field: string) => (e: unknown) => e instanceof AppError && e.code === 'LANGUAGE_INVALID' && e.field === field && e.message.includes(field);

describe('toBridgeLanguage', () => {
  it('gives the canonical casing of a supported culture', () => {
    assert.equal(toBridgeLanguage('de-de'), 'de-DE');
    assert.equal(toBridgeLanguage(' EN-gb '), 'en-GB');
    assert.equal(BRIDGE_LANGUAGES.length, 24);
  });
  it('refuses others, naming the field', () => {
    assert.throws(() => toBridgeLanguage('xx-YY', 'SecondaryLanguages'), invalid('SecondaryLanguages'));
    assert.throws(() => toBridgeLanguage('de'), invalid('PrimaryLanguage'));
  });
});

describe('toUserLanguage', () => {
  it('normalises ll and ll-CC tags', () => {
    assert.equal(toUserLanguage('FR'), 'fr');
    assert.equal(toUserLanguage('fr-ca'), 'fr-CA');
    assert.equal(toUserLanguage('en_US'), 'en-US');
    assert.equal(toUserLanguage('es-419'), 'es-419');
    assert.equal(toUserLanguage(''), '');
  });
  it('refuses what is not a language tag', () => {
    assert.throws(() => toUserLanguage('english'), invalid('Language'));
    assert.throws(() => toUserLanguage('fr-CA-x'), invalid('Language'));
  });
});

describe('pickMailLanguage', () => {
  it('writes en and fr', () => assert.deepEqual([...MAIL_LANGUAGES], ['en', 'fr']));
  it("uses the user's language when dialin writes it", () => {
    assert.equal(pickMailLanguage('fr-CA', 'en'), 'fr');
    assert.equal(pickMailLanguage('EN-gb', 'fr'), 'en');
  });
  it("falls back to the tenant's default, then English", () => {
    assert.equal(pickMailLanguage('de-DE', 'fr'), 'fr');
    assert.equal(pickMailLanguage('', 'fr'), 'fr');
    assert.equal(pickMailLanguage('de', 'de'), 'en');
    assert.equal(pickMailLanguage(null, null), 'en');
  });
});
