import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.ts';
import { MAIL_KINDS, KIND_CARRIES_PIN } from '../mail-kinds.ts';
import { MAIL_LANGUAGES } from '../languages.ts';
import { DEFAULT_TEMPLATES } from './defaults.ts';
import { renderTemplateSet, SAMPLE_VALUES, TEMPLATE_LIMITS, validateTemplatePart } from './engine.ts';
import { templateValues, TEMPLATE_PARTS } from './variables.ts';

const values = { ...SAMPLE_VALUES, pin: '482913', conferenceId: '7654321', tollNumber: '+14255550100', tollFreeNumber: '+18005550199' };

function refused(kind: (typeof MAIL_KINDS)[number], part: 'subject' | 'html' | 'text', source: string, code: string, why: RegExp): void {
  assert.throws(
    () => validateTemplatePart(kind, part, source),
    (e: unknown) => e instanceof AppError && e.code === code && e.field === part && why.test(e.message),
    `${JSON.stringify(source)} should be refused with ${code} ${why}`,
  );
}

describe('built-in templates', () => {
  for (const kind of MAIL_KINDS) {
    for (const lang of MAIL_LANGUAGES) {
      it(`${kind}/${lang}: valid, names the user, ID, both numbers, the settings link and says it was sent automatically`, () => {
        for (const part of TEMPLATE_PARTS) validateTemplatePart(kind, part, DEFAULT_TEMPLATES[kind][lang][part]);
        const m = renderTemplateSet(DEFAULT_TEMPLATES[kind][lang], values);
        for (const body of [m.text, m.html!]) {
          for (const v of [values.displayName, values.sipAddress, values.conferenceId, values.tollNumber, values.tollFreeNumber, values.settingsUrl]) assert.ok(body.includes(v), `${kind}/${lang} lacks ${v}`);
          assert.match(body, lang === 'en' ? /sent automatically/ : /envoyé automatiquement/);
          assert.equal(body.includes(values.pin), KIND_CARRIES_PIN[kind], `PIN presence in ${kind}/${lang}`);
          if (!KIND_CARRIES_PIN[kind]) assert.match(body, lang === 'en' ? /PIN has not changed/ : /PIN n'a pas changé/);
        }
        assert.ok(!m.subject.includes(values.pin), 'never the PIN in a subject');
        assert.match(m.html!, new RegExp(`<html lang="${lang}">`));
      });
    }
  }

  it('a missing toll-free number reads "none" / "aucun"', () => {
    assert.match(renderTemplateSet(DEFAULT_TEMPLATES.info_changed.en, { ...values, tollFreeNumber: '' }).text, /Toll-free number: none/);
    assert.match(renderTemplateSet(DEFAULT_TEMPLATES.info_changed.fr, { ...values, tollFreeNumber: '' }).text, /Numéro gratuit\s:\saucun/);
  });
});

describe('rendering user data', () => {
  const evil = '<script>alert(1)</script> "quoted" & {{ pin }} {% if x %}';
  it('escapes markup in HTML and keeps it verbatim in text; Liquid in data is never evaluated', () => {
    const m = renderTemplateSet(DEFAULT_TEMPLATES.welcome.en, { ...values, displayName: evil });
    assert.ok(!m.html!.includes('<script>'));
    assert.ok(m.html!.includes('&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; {{ pin }} {% if x %}'));
    assert.ok(m.text.includes(evil));
  });
  it('keeps a subject on one line whatever a value holds', () => {
    const m = renderTemplateSet({ ...DEFAULT_TEMPLATES.info_changed.en, subject: 'For {{ displayName }}' }, { ...values, displayName: 'A\r\nBcc: evil@x.com\u2028B' });
    assert.equal(m.subject, 'For A Bcc: evil@x.com B');
  });
  it('plain-text mail has no HTML part', () => {
    assert.equal(renderTemplateSet(DEFAULT_TEMPLATES.welcome.en, values, { plainText: true }).html, null);
  });
  it('templateValues strips sip: and keeps missing numbers empty', () => {
    const v = templateValues({ displayName: 'A', sipAddress: 'sip:a@b.com', conferenceId: null, tollNumber: null, tollFreeNumber: null, bridgeName: null }, 'https://x/dialin', null);
    assert.equal(v.sipAddress, 'a@b.com');
    assert.equal(v.tollNumber, '');
    assert.equal(v.pin, '');
  });
});

describe('validating an administrator template', () => {
  it('accepts the allowed placeholders, conditions and text filters', () => {
    validateTemplatePart('welcome', 'html', '<p>{{ displayName | upcase }}</p>{% if tollFreeNumber %}{{ tollFreeNumber }}{% else %}-{% endif %}{{ pin }}');
  });
  it('refuses an unknown placeholder, with its line', () => refused('info_changed', 'text', 'Hello\n{{ password }}', 'TEMPLATE_INVALID', /line 2.*\{\{ password \}\} is not a known placeholder/));
  it('refuses the PIN outside welcome and pin_changed', () => refused('conference_info', 'html', '{{ pin }}', 'TEMPLATE_INVALID', /not available in conference_info/));
  it('refuses property access (prototype tricks included)', () => {
    refused('welcome', 'html', '{{ pin.size }}', 'TEMPLATE_INVALID', /placeholders have no properties/);
    refused('welcome', 'html', '{{ displayName.constructor }}', 'TEMPLATE_INVALID', /no properties/);
    refused('welcome', 'html', '{{ __proto__ }}', 'TEMPLATE_INVALID', /not a known placeholder/);
  });
  it('refuses a syntax error, with its line', () => refused('welcome', 'html', 'a\nb\n{% if displayName %}', 'TEMPLATE_INVALID', /line 3/));
  it('refuses loops, assignments, includes, layouts and raw output', () => {
    for (const src of ['{% for x in (1..3) %}{% endfor %}', '{% assign a = 1 %}', '{% include "secret.txt" %}', '{% render "x" %}', '{% layout "x" %}', '{{ displayName | raw }}', '{{ displayName | date: "%Y" }}']) {
      refused('welcome', 'html', src, 'TEMPLATE_INVALID', /not allowed/);
    }
  });
  it('refuses a multi-line subject and an oversized template', () => {
    refused('welcome', 'subject', 'a\nb', 'TEMPLATE_INVALID', /one line/);
    refused('welcome', 'text', 'x'.repeat(TEMPLATE_LIMITS.sourceChars + 1), 'TEMPLATE_LIMIT_EXCEEDED', /at most/);
  });
  it('stops a render whose output is too large', () => {
    const big = { ...DEFAULT_TEMPLATES.welcome.en, text: '{{ displayName }}'.repeat(3000) };
    assert.throws(() => renderTemplateSet(big, { ...values, displayName: 'x'.repeat(256) }), (e: unknown) => e instanceof AppError && e.code === 'TEMPLATE_LIMIT_EXCEEDED');
  });
});
