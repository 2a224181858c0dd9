import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadTokenizer } from './load-tokenizer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const texts = (JSON.parse(readFileSync(`${FIXTURES}texts.json`, 'utf8')) as { texts: { text: string }[] }).texts.map((t) => t.text);

test('a long text is tokenized only as far as truncation needs, with the ids of tokenizing it whole', () => {
  for (const [arch, type] of [
    ['bert', 'bert'],
    ['mpnet', 'mpnet'],
  ] as const) {
    const tok = loadTokenizer(`${FIXTURES}models/${arch}`, type);
    // The adversarial fixture texts (accents, CJK, control and format characters, added tokens) glued into long
    // texts with every kind of separator, so that piece cuts land next to each of them.
    for (const sep of [' ', '\n', '\t', '\r\n', '\u00a0', '\ufeff', '', '  \u0301']) {
      const long = Array.from({ length: 300 }, (_, i) => texts[i % texts.length]).join(sep);
      assert.ok(long.length > 8192, `${long.length} chars`);
      const whole = tok.tokenize(long);
      for (const limit of [1, 30, 126, 382, 510, whole.length, whole.length + 5]) {
        const part = tok.tokenize(long, limit);
        assert.ok(part.length >= Math.min(limit, whole.length), `${arch} sep ${JSON.stringify(sep)} limit ${limit}: got ${part.length}`);
        assert.deepEqual(part, whole.slice(0, part.length), `${arch} sep ${JSON.stringify(sep)} limit ${limit}`);
      }
      assert.deepEqual(tok.encode(long, 128), [...tok.template.prefix, ...whole.slice(0, 128 - tok.numSpecialTokens), ...tok.template.suffix]);
    }
  }
});

test('a 10 MB passage truncated to 256 tokens takes milliseconds and little memory', () => {
  const tok = loadTokenizer(`${FIXTURES}models/bert`, 'bert');
  const big = 'London has 9,787,426 inhabitants at the 2011 census. '.repeat(200_000);
  assert.ok(big.length >= 10_000_000);
  const heap = process.memoryUsage().heapUsed;
  const t = performance.now();
  const ids = tok.encode(big, 256);
  const ms = performance.now() - t;
  assert.equal(ids.length, 256);
  assert.deepEqual(ids, tok.encode(big.slice(0, 5000), 256));
  // Whole-text tokenizing took 13.5 s and 1 GB; the bound leaves room for a slow, shared machine.
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  assert.ok(process.memoryUsage().heapUsed - heap < 64 * 2 ** 20, 'heap grew by less than 64 MiB');
});
