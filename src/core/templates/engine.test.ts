import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.ts';
import { MAIL_KINDS, KIND_CARRIES_PIN } from '../mail-kinds.ts';
import { MAIL_LANGUAGES } from '../languages.ts';
import { DEFAULT_TEMPLATES } from './defaults.ts';
import { renderTemplateSet, SAMPLE_VALUES, TEMPLATE_LIMITS, validateTemplatePart } from './engine.ts';
import { SAMPLE_MAIL_DATA, templateValues, TEMPLATE_PARTS } from './variables.ts';

const data = { ...SAMPLE_MAIL_DATA, conferenceId: '7654321', tollNumber: '+14255550100', tollFreeNumber: '+18005550199', tollCity: 'Redmond' };
const values = templateValues(data, SAMPLE_VALUES.settingsUrl, '482913');

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
          for (const v of [values.displayName, values.sipAddress, '765 432 1#', '+1 425-555-0100', '+1 800-555-0199', 'Redmond']) assert.ok(body.includes(v), `${kind}/${lang} lacks ${v}`);
          assert.ok(!body.includes('+14255550100') || kind !== 'turned_off', 'E.164 only inside tel: links');
          // As read: in HTML the number and ",,ID#" are two unbreakable pieces of one link.
          const read = body.replace(/<[^>]+>/g, '');
          if (kind !== 'turned_off') assert.ok(read.includes('+1 425-555-0100,,7654321#') && read.includes('+1 800-555-0199,,7654321#'), `${kind}/${lang}: one-tap numbers shown`);
          assert.match(body, lang === 'en' ? /sent automatically/ : /envoyé automatiquement/);
          assert.equal(body.includes(values.pin), KIND_CARRIES_PIN[kind], `PIN presence in ${kind}/${lang}`);
          if (kind === 'info_changed' || kind === 'conference_info') assert.match(body, lang === 'en' ? /PIN has not changed/ : /PIN n'a pas changé/);
          // Those whose dial-in was turned off can no longer open the settings page: no link to it.
          assert.equal(body.includes(values.settingsUrl), kind !== 'turned_off', `settings link in ${kind}/${lang}`);
          assert.equal(body.includes(values.resetPinUrl), ['welcome', 'pin_changed', 'info_changed', 'conference_info', 'pin_changed_by_user'].includes(kind), `Reset PIN link in ${kind}/${lang}`);
          if (KIND_CARRIES_PIN[kind]) {
            // What to do on the phone: the ID then #, then * and the PIN then # to start as the leader.
            assert.match(body, lang === 'en' ? /enter the conference ID 765 432 1# \(the digits, then #\)\. To start the meeting as its leader, then press \*, enter your leader PIN and press #/ : /saisissez l'ID de conférence 765 432 1# \(les chiffres, puis #\)\. Pour démarrer la réunion en tant qu'organisateur, appuyez ensuite sur \*, saisissez votre code PIN d'organisateur puis #/);
          }
        }
        assert.ok(!m.subject.includes(values.pin), 'never the PIN in a subject');
        assert.match(m.html!, new RegExp(`<html lang="${lang}">`));
        // The links dial the number, pause twice, then enter the conference ID and # (encoded in the URI).
        const links = [...m.html!.matchAll(/href="(tel:[^"]*)"/g)].map((x) => x[1]);
        assert.deepEqual(links, kind === 'turned_off' ? [] : ['tel:+14255550100,,7654321%23', 'tel:+18005550199,,7654321%23']);
      });
    }
  }

  it('turned off says why: the licence removed, or the provider moved to with its numbers and passcode', () => {
    for (const lang of MAIL_LANGUAGES) {
      const licence = renderTemplateSet(DEFAULT_TEMPLATES.turned_off[lang], templateValues(data, values.settingsUrl, null));
      assert.match(licence.text, lang === 'en' ? /removed your audio conferencing licence/ : /supprimé votre licence/);
      const provider = { name: 'Fabrikam ACP', tollNumber: '+14255551298', tollFreeNumbers: ['+18005551010', '+18005551020'], passcode: '13761', url: 'https://fabrikam.com/join' };
      const moved = renderTemplateSet(DEFAULT_TEMPLATES.turned_off[lang], templateValues({ ...data, provider }, values.settingsUrl, null));
      for (const body of [moved.text, moved.html!]) {
        for (const v of ['Fabrikam ACP', '+1 425-555-1298', '+1 800-555-1010, +1 800-555-1020', '13761', 'https://fabrikam.com/join']) assert.ok(body.includes(v), `${lang}: ${v}`);
        assert.ok(!/licen[cs]e/.test(body), 'no licence sentence for a provider move');
      }
    }
  });
  it('a missing toll-free number is left out; no number at all reads "none" / "aucun"', () => {
    const noTollFree = renderTemplateSet(DEFAULT_TEMPLATES.info_changed.en, templateValues({ ...data, tollFreeNumber: null }, values.settingsUrl, null)).text;
    assert.ok(!/Toll-free/.test(noTollFree) && /Dial-in number \(Redmond\): \+1 425-555-0100,,7654321#/.test(noTollFree), noTollFree);
    const none = { ...data, tollNumber: null, tollFreeNumber: null };
    assert.match(renderTemplateSet(DEFAULT_TEMPLATES.info_changed.en, templateValues(none, values.settingsUrl, null)).text, /Dial-in number: none/);
    assert.match(renderTemplateSet(DEFAULT_TEMPLATES.info_changed.fr, templateValues(none, values.settingsUrl, null)).text, /Numéro d'appel\s:\saucun/);
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
  it('loops over the numbers list, naming only its items\' properties', () => {
    validateTemplatePart('welcome', 'html', '{% for n in numbers %}<a href="{{ n.tel }}">{{ n.dial }}</a> {{ n.formatted }} {{ n.city }} {{ n.type }}{% endfor %}{{ numbers.first.tel }}{{ numbers.size }}');
    refused('welcome', 'html', '{% for n in numbers %}{{ n.pin }}{% endfor %}', 'TEMPLATE_INVALID', /n\.pin/);
    refused('welcome', 'html', '{{ numbers.first.secret }}', 'TEMPLATE_INVALID', /have only formatted, dial, tel, city, type/);
    refused('welcome', 'html', '{% for c in sipAddress %}{% endfor %}', 'TEMPLATE_INVALID', /loop may only walk/);
  });
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
