import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshotDir } from '../browser/browser.ts';
import { MAIL_KINDS, KIND_CARRIES_PIN, type MailData, type MailKind } from '../../src/core/mail-kinds.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../../src/core/languages.ts';
import { resolveTemplate } from '../../src/app/templates.ts';
import { templateValues } from '../../src/core/templates/variables.ts';
import { localizedDefaultSender } from '../../src/core/sender.ts';
import { composeMail } from '../../src/worker/compose.ts';

const SETTINGS = 'https://dialin.contoso.com/dialin';
const LOCAL = 'https://dialin.contoso.com/numbers/Qw3rTy8uIo0pAs2dFg4hJk6lZx9cVb1nM5qW7eR3tYZ';
const SIGN_IN = `${SETTINGS}/sign-in?token=${'Zk3v9QeR7pLm2XcT8bN4wY6hJ1sD5fGa0uIoPqWe'.repeat(2)}`;
const DATA: MailData = {
  displayName: 'Marie Dupont',
  sipAddress: 'sip:marie@contoso.com',
  conferenceId: '5290376',
  tollNumber: '+14255550100',
  tollFreeNumber: '+18005550199',
  bridgeName: 'Conference Bridge',
  tollCity: 'Redmond',
  tollFreeCity: null,
  changes: [
    { field: 'conferenceId', old: '7654321', new: '5290376' },
    { field: 'tollNumber', old: '+14255550101', new: '+14255550100' },
  ],
};
const PROVIDER = { name: 'Fabrikam ACP', tollNumber: '+14255551298', tollFreeNumbers: ['+18005551010'], passcode: '13761', url: 'https://fabrikam.com/join' };

/** Every kind, and the turned-off mail both ways (licence removed, moved to a provider). */
const CASES: { name: string; kind: MailKind; data: MailData }[] = [
  ...MAIL_KINDS.map((kind) => ({ name: kind, kind, data: DATA })),
  { name: 'turned_off-provider', kind: 'turned_off', data: { ...DATA, provider: PROVIDER } },
];

interface Rendered {
  raw: Buffer;
  mail: ParsedMail;
}

/** Through the worker's own path: the real template engine, nodemailer's MIME, then mailparser. */
async function render(c: (typeof CASES)[number], lang: MailLanguage): Promise<Rendered> {
  const url = c.kind === 'sign_in_link' ? SIGN_IN : SETTINGS;
  const { raw } = await composeMail({
    // As the worker resolves it (no tenant overrides): the invitation block put in the welcome.
    templates: resolveTemplate([], c.kind, lang),
    values: templateValues(c.data, url, KIND_CARRIES_PIN[c.kind] ? '482913' : null, `${SETTINGS}#pin-h`, LOCAL),
    plainText: false,
    subject: null,
    from: localizedDefaultSender({ name: 'Dial-in Conferencing', address: 'noreply@contoso.com' }, lang),
    to: { name: c.data.displayName, address: 'marie@contoso.com' },
    cc: [],
    bcc: [],
    messageId: `<0190a1b2-${c.name.length}${lang}-7000-8000-${c.name.replace(/_/g, '')}@contoso.com>`,
    language: lang,
    date: Date.UTC(2026, 11, 3, 9, 30),
    envelopeFrom: 'noreply@contoso.com',
    dkim: [],
  });
  const buf = Buffer.from(raw);
  return { raw: buf, mail: await simpleParser(buf) };
}

/** SpamAssassin's score of a message with the rules that run offline (-L). */
function spamScore(raw: Buffer): Promise<{ score: number; tests: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('spamassassin', ['-L', '-t'], { maxBuffer: 4 * 1024 * 1024, timeout: 120_000 }, (err, stdout) => {
      if (err) return reject(err);
      const m = /^X-Spam-Status: \w+, score=(-?[\d.]+) required=[\d.]+(?:\s+tests=([\s\S]*?)\s+autolearn)?/m.exec(stdout);
      if (!m) return reject(new Error(`no X-Spam-Status in SpamAssassin's output: ${stdout.slice(0, 400)}`));
      resolve({ score: Number(m[1]), tests: (m[2] ?? '').replace(/\s+/g, '') });
    });
    child.stdin!.end(raw);
  });
}

/** WCAG contrast ratio of two rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = c.match(/[\d.]+/g)!.slice(0, 3).map((v) => Number(v) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

describe('mail content: every kind × language as a person reads it', () => {
  const all = new Map<string, Rendered>();
  let browser: Browser;
  before(async () => {
    for (const c of CASES) for (const lang of MAIL_LANGUAGES) all.set(`${c.name}/${lang}`, await render(c, lang));
    browser = await launchChromium();
  });
  after(() => browser?.close());

  for (const c of CASES) {
    for (const lang of MAIL_LANGUAGES) {
      it(`${c.name}/${lang}: one-tap numbers dial the number then the conference ID; links where they belong`, () => {
        const { mail } = all.get(`${c.name}/${lang}`)!;
        const html = mail.html as string;
        const text = mail.text!;
        const tel = [...html.matchAll(/href="(tel:[^"]*)"/g)].map((m) => m[1]);
        if (c.kind === 'turned_off') {
          assert.deepEqual(tel, [], 'numbers that no longer work are not tappable');
          assert.ok(!html.includes(SETTINGS) && !text.includes(SETTINGS), 'no settings link for those who can no longer open it');
          assert.ok(!html.includes(LOCAL) && !text.includes(LOCAL), 'no numbers to call for details that no longer work');
        } else {
          const taps = ['tel:+14255550100,,5290376%23', 'tel:+18005550199,,5290376%23'];
          // The welcome has them twice: in the details and in the invitation block.
          assert.deepEqual(tel, c.kind === 'welcome' ? [...taps, ...taps] : taps);
          // As read: in HTML the number and ",,ID#" are two unbreakable pieces of one link.
          for (const body of [html.replace(/<[^>]+>/g, ''), text]) {
            assert.ok(body.includes('+1 425-555-0100,,5290376#') && body.includes('+1 800-555-0199,,5290376#'), 'the one-tap form, shown');
            assert.ok(body.includes('529 037 6#'), 'the conference ID grouped for reading');
            assert.ok(body.includes('Redmond'), 'the city of the number');
          }
          // "Find a local number": the public page of the user's bridge, not the sign-in-gated settings page.
          const label = lang === 'fr' ? 'Trouver un numéro local' : 'Find a local number';
          assert.ok(new RegExp(`<a [^>]*href="${LOCAL}"[^>]*>${label}</a>`).test(html), `${label} links to the bridge's page in the HTML`);
          assert.ok(text.includes(`${label} (`) && text.includes(`: ${LOCAL}`), `${label} in the text part`);
          assert.ok(!/See all access numbers|Tous les numéros d'accès/.test(text + html), 'no sign-in-gated "all numbers" line');
        }
        if (c.kind === 'welcome') {
          // The invitation block: the lines to paste into a meeting invitation, in the HTML and the text part.
          const [intro, tollFree, idLine, local] =
            lang === 'fr'
              ? ['Rejoindre par téléphone (audio uniquement)', 'numéro gratuit', 'ID de conférence téléphonique : 529 037 6#', `Trouver un numéro local : ${LOCAL}`]
              : ['Join by phone (audio only)', 'toll-free', 'Phone conference ID: 529 037 6#', `Find a local number: ${LOCAL}`];
          assert.ok(text.includes([intro, '+1 425-555-0100,,5290376# Redmond', `+1 800-555-0199,,5290376# (${tollFree})`, idLine, local].join('\n')), `the block in the text part:\n${text}`);
          const block = /<div class="inv"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
          assert.ok(block.includes(intro) && block.includes(idLine), 'the block in the HTML');
          assert.deepEqual([...block.matchAll(/href="([^"]*)"/g)].map((m) => m[1]), ['tel:+14255550100,,5290376%23', 'tel:+18005550199,,5290376%23', LOCAL], 'one-tap numbers and Find a local number');
          assert.ok(!block.includes('482913'), 'never the PIN in the block');
        }
        if (KIND_CARRIES_PIN[c.kind]) {
          assert.ok(html.includes(`href="${SETTINGS}#pin-h"`) && text.includes(`${SETTINGS}#pin-h`), 'Reset PIN links to the PIN part of the settings page');
          assert.match(text, lang === 'en' ? /then press \*, enter your leader PIN and press #/ : /appuyez ensuite sur \*, saisissez votre code PIN d'organisateur puis #/);
        }
        if (c.kind === 'info_changed') {
          assert.match(text, lang === 'en' ? /Conference ID: 765 432 1# → 529 037 6#\n  Dial-in number: \+1 425-555-0101 → \+1 425-555-0100/ : /ID de conférence\s:\s765 432 1# → 529 037 6#\n  Numéro d'appel\s:\s\+1 425-555-0101 → \+1 425-555-0100/);
        }
        if (c.name === 'turned_off-provider') for (const v of ['Fabrikam ACP', '+1 425-555-1298', '+1 800-555-1010', '13761']) assert.ok(text.includes(v) && html.includes(v), v);
        if (c.kind === 'pin_changed_by_user') {
          // The notice of a PIN the user chose on the settings page: never the PIN, what to do if it was not them.
          assert.ok(!text.includes('482913') && !html.includes('482913'));
          assert.match(text, lang === 'en' ? /If it was not you\n.*Choose a new PIN on the settings page now/ : /Si ce n'était pas vous\n.*Choisissez dès maintenant un nouveau code PIN/);
          assert.ok(html.includes(`href="${SETTINGS}#pin-h"`) && text.includes(`${SETTINGS}#pin-h`), 'Reset PIN');
        }
        if (c.kind === 'sign_in_link') assert.ok(!/PIN has not changed|PIN n'a pas changé/.test(text), 'the sign-in mail heading says what the link does');
        assert.equal(mail.from!.value[0]!.name, lang === 'fr' ? 'Conférences rendez-vous' : 'Dial-in Conferencing');
        if (lang === 'fr') assert.ok(!/\b(the|your|Dial-in number|Conference ID)\b/.test(text), `French only: ${text.match(/\b(the|your|Dial-in number|Conference ID)\b/)?.[0]}`);
      });
    }
  }

  for (const width of [375, 800]) it(`at ${width} px no mail scrolls sideways, in light and dark; screenshots in docs/screenshots/mail-*${width === 375 ? '' : `-${width}`}.png`, async () => {
    const dir = screenshotDir();
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    try {
      for (const [key, { mail }] of all) {
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme });
          await page.setContent(mail.html as string, { waitUntil: 'load' });
          const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
          assert.ok(w.scroll <= w.client, `${key} (${scheme}) is ${w.scroll} px wide in a ${w.client} px window`);
          const card = await page.evaluate(() => getComputedStyle(document.querySelector('.card')!).backgroundColor);
          assert.equal(card, scheme === 'dark' ? 'rgb(31, 41, 55)' : 'rgb(255, 255, 255)', `${key}: the ${scheme} style applies`);
          // Every piece of text against the background it sits on: at least 4.5:1 in both schemes.
          // A string: the test runner's transform would add helpers to a function that the page lacks.
          const pairs = (await page.evaluate(`(() => {
            const bg = (el) => {
              for (; el; el = el.parentElement) {
                const c = getComputedStyle(el).backgroundColor;
                if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
              }
              return 'rgb(255, 255, 255)';
            };
            return [...document.querySelectorAll('body *')]
              .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
              .map((el) => ({ text: el.textContent.trim().slice(0, 30), fg: getComputedStyle(el).color, bg: bg(el) }));
          })()`)) as { text: string; fg: string; bg: string }[];
          assert.ok(pairs.length > 10, 'text found');
          for (const pr of pairs) assert.ok(contrast(pr.fg, pr.bg) >= 4.5, `${key} (${scheme}): "${pr.text}" ${pr.fg} on ${pr.bg} is ${contrast(pr.fg, pr.bg).toFixed(2)}:1`);
          if (width === 800) {
            // The card keeps its reading width (600 px), centred, however wide the window.
            const box = await page.evaluate(`(() => { const r = document.querySelector('.card').getBoundingClientRect(); return { left: r.left, width: r.width, right: window.innerWidth - r.right }; })()`) as { left: number; width: number; right: number };
            assert.equal(Math.round(box.width), 600, `${key}: the card is ${box.width} px wide at 800 px`);
            assert.ok(Math.abs(box.left - box.right) <= 1, `${key}: the card is centred (${box.left} | ${box.right})`);
          }
          if (scheme === 'light') await page.screenshot({ path: path.join(dir, `mail-${key.replace('/', '-')}${width === 375 ? '' : `-${width}`}.png`), fullPage: true });
        }
      }
      assert.ok(fs.existsSync(path.join(dir, `mail-welcome-en${width === 375 ? '' : `-${width}`}.png`)));
    } finally {
      await page.close();
    }
  });

  it('SpamAssassin (offline rules) scores every kind × language at most 0.5', async () => {
    const scores: string[] = [];
    const entries = [...all.entries()];
    // Two at a time: each SpamAssassin run loads its rules for a few seconds.
    for (let i = 0; i < entries.length; i += 2) {
      const got = await Promise.all(entries.slice(i, i + 2).map(async ([key, r]) => ({ key, ...(await spamScore(r.raw)) })));
      for (const g of got) {
        scores.push(`${g.key}=${g.score} ${g.tests}`);
        assert.ok(g.score <= 0.5, `${g.key} scores ${g.score} (${g.tests})`);
      }
    }
    assert.equal(scores.length, CASES.length * MAIL_LANGUAGES.length);
  });
});
