import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bertNormalizer } from './normalizer.js';
import { CJK, CONTROL, WHITESPACE, charClass } from './char-classes.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/bert-normalizer.json', import.meta.url), 'utf8')) as {
  lowercase: Record<string, string>;
};

function expected(cp: number, map: Record<string, string>): string {
  const mapped = map[String(cp)];
  if (mapped !== undefined) return mapped;
  const c = String.fromCodePoint(cp);
  const cls = charClass(cp);
  if (cp === 0 || cp === 0xfffd || (cls & CONTROL) !== 0) return '';
  if ((cls & WHITESPACE) !== 0) return ' ';
  if ((cls & CJK) !== 0) return ` ${c} `;
  return c;
}

test('uncased BertNormalizer equals the Rust tokenizers output on every Unicode code point', () => {
  const norm = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true });
  const bad: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const got = norm(String.fromCodePoint(cp));
    const want = expected(cp, fixture.lowercase);
    if (got !== want) bad.push(`U+${cp.toString(16)}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
  }
  assert.deepEqual(bad.slice(0, 20), []);
});

test('cased BertNormalizer keeps case and accents but still cleans and spaces CJK', () => {
  const norm = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: false });
  assert.equal(norm('Café\u0000\u200b\tX中'), 'Café X 中 ');
});

test('lowercasing is per character: no final-sigma rule, as in Rust', () => {
  const norm = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true });
  assert.equal(norm('ΟΔΥΣΣΕΥΣ'), 'οδυσσευσ');
});
