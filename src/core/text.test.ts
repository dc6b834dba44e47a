import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkText, textProblem, visible } from './text.ts';
import { AppError } from './errors.ts';

describe('textProblem', () => {
  it('keeps letters, marks and symbols of every script', () => {
    for (const s of ['Ken Myer', 'Renée Müller-Lüdenscheidt', 'Đặng Thị Ngọc Hân', 'Ελένη', 'Пётр Чайковский', 'محمد الأحمد', 'שרה לוי', '李小龙', '山田 太郎', '김민준', 'देवनागरी', 'தமிழ்', 'ქართული', 'Ṭhāṇeśvara', 'O\u2019Brien', 'Zoë 😀 👍🏽', 'a\u00a0b', 'x\ufe0f', '\ufffd']) {
      assert.equal(textProblem(s), null, s);
    }
  });
  it('keeps ZWNJ and ZWJ inside words of scripts that spell with them (Persian, Indic)', () => {
    assert.equal(textProblem('می\u200cخواهم'), null);
    assert.equal(textProblem('क्\u200dष'), null);
  });
  it('refuses NUL, C0 controls, DEL, C1 controls and line separators', () => {
    for (const [s, cp] of [['a\u0000b', 0], ['a\rb', 13], ['a\nb', 10], ['a\tb', 9], ['\u001b[31mred', 0x1b], ['a\u007f', 0x7f], ['\u009b31m', 0x9b], ['a\u0085b', 0x85], ['a\u2028b', 0x2028]] as const) {
      assert.equal(textProblem(s)?.codePoint, cp, JSON.stringify(s));
    }
  });
  it('refuses lone surrogates but not surrogate pairs', () => {
    assert.equal(textProblem('a\ud800b')?.what, 'a lone surrogate (broken UTF-16)');
    assert.equal(textProblem('a\udc00')?.codePoint, 0xdc00);
    assert.equal(textProblem('\ud83d\ude00'), null);
  });
  it('refuses bidi overrides and isolates, zero-width and other invisible format characters', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0xfeff, 0x00ad, 0x061c, 0xe0041]) {
      const p = textProblem(`Ken${String.fromCodePoint(cp)}Myer`);
      assert.equal(p?.codePoint, cp, cp.toString(16));
      assert.equal(p.position, 4);
    }
    assert.equal(textProblem('evil\u202Etxt.exe')?.what, 'a bidirectional control character');
    assert.equal(textProblem('ad\u200bmin')?.what, 'a zero-width character');
  });
  it('a joiner between Latin letters or at an edge is refused', () => {
    assert.equal(textProblem('ad\u200cmin')?.codePoint, 0x200c);
    assert.equal(textProblem('\u200cمی')?.codePoint, 0x200c);
  });
  it('multi-line sources may hold tab, LF and CR, nothing else', () => {
    assert.equal(textProblem('Hello\r\n\tKen\n', { multiline: true }), null);
    assert.equal(textProblem('Hello\u0000', { multiline: true })?.codePoint, 0);
    assert.equal(textProblem('Hello\u202E', { multiline: true })?.codePoint, 0x202e);
  });
  it('positions count characters, not UTF-16 units', () => {
    assert.equal(textProblem('😀😀\u0000')?.position, 3);
  });
});

describe('checkText', () => {
  it('throws TEXT_INVALID naming the field, the character and where', () => {
    assert.throws(() => checkText('Ken\u202EMyer', 'DisplayName'), (e: unknown) => e instanceof AppError && e.code === 'TEXT_INVALID' && e.field === 'DisplayName' && /DisplayName has a bidirectional control character \(U\+202E\) at character 4/.test(e.message));
  });
  it('a field name from the input is shown escaped', () => {
    assert.throws(() => checkText('x\u0000', 'Se\u0000arch'), (e: unknown) => e instanceof AppError && e.field === 'Se\\u{0}arch' && !/\u0000/.test(e.message));
  });
  it('returns good text unchanged', () => {
    assert.equal(checkText('Renée', 'DisplayName'), 'Renée');
  });
});

describe('visible', () => {
  it('writes refused characters as \\u{…} and leaves the rest, joiners in context included', () => {
    assert.equal(visible('Ken\u009b31m \u202Ex\u0000'), 'Ken\\u{9b}31m \\u{202e}x\\u{0}');
    assert.equal(visible('نام\u200cخانوادگی'), 'نام\u200cخانوادگی');
    assert.equal(visible('a\tb\nc', { multiline: true }), 'a\tb\nc');
  });
});
