import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SemsearchError } from '../../errors.js';
import { loadTokenizer } from './load-tokenizer.js';

// Written by tools/reference/make_tokenizer_fixtures.py with the Rust `tokenizers` library (Python package 0.22.2).
const DIR = fileURLToPath(new URL('./fixtures/pipelines/', import.meta.url));

interface Fixture {
  maxLength: number;
  pairMaxLength: number;
  models: Record<string, { model: string }>;
  texts: { id: string; text: string }[];
  pairs: [number, number][];
}
interface Pair {
  ids: number[];
  typeIds: number[];
}
interface Expected {
  single: number[][];
  truncated: number[][];
  pairs: Pair[];
  pairsFull: Pair[];
}

const fixture = JSON.parse(readFileSync(join(DIR, 'texts.json'), 'utf8')) as Fixture;
const NAMES = Object.keys(fixture.models);

function expectedOf(name: string): Expected {
  return JSON.parse(readFileSync(join(DIR, name, 'expected.json'), 'utf8')) as Expected;
}

/** Compare every selected text of every vocabulary with the Rust ids; returns the number of comparisons. */
function compare(select: (id: string) => boolean): number {
  let compared = 0;
  const bad: string[] = [];
  for (const name of NAMES) {
    const tok = loadTokenizer(join(DIR, name), 'xlm-roberta');
    const exp = expectedOf(name);
    fixture.texts.forEach(({ id, text }, i) => {
      if (!select(id)) return;
      compared += 2;
      const single = tok.encode(text);
      if (JSON.stringify(single) !== JSON.stringify(exp.single[i])) bad.push(`${name} ${id}: ${JSON.stringify(single)} want ${JSON.stringify(exp.single[i])}`);
      const cut = tok.encode(text, fixture.maxLength);
      if (JSON.stringify(cut) !== JSON.stringify(exp.truncated[i])) bad.push(`${name} ${id} truncated: ${JSON.stringify(cut)} want ${JSON.stringify(exp.truncated[i])}`);
    });
    fixture.pairs.forEach(([a, b], k) => {
      const ta = fixture.texts[a] as { id: string; text: string };
      const tb = fixture.texts[b] as { id: string; text: string };
      if (!select(ta.id) && !select(tb.id)) return;
      compared++;
      const got = tok.encodePair(ta.text, tb.text, fixture.pairMaxLength);
      if (JSON.stringify(got) !== JSON.stringify(exp.pairs[k])) bad.push(`${name} pair ${ta.id}+${tb.id}: ${JSON.stringify(got)} want ${JSON.stringify(exp.pairs[k])}`);
      const full = exp.pairsFull[k];
      if (full === undefined) return;
      compared++;
      const whole = tok.encodePair(ta.text, tb.text);
      if (JSON.stringify(whole) !== JSON.stringify(full)) bad.push(`${name} full pair ${ta.id}+${tb.id}: ${JSON.stringify(whole)} want ${JSON.stringify(full)}`);
    });
  }
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${compared} differ`);
  return compared;
}

test('BPE and Unigram pipelines give the Rust ids on the parity and multilingual texts: single, truncated, pairs', () => {
  assert.deepEqual(
    NAMES.map((n) => fixture.models[n]?.model),
    ['BPE', 'BPE', 'BPE', 'Unigram', 'Unigram', 'Unigram'],
  );
  const n = compare((id) => !id.startsWith('random-'));
  assert.ok(n > 1000, `${n} comparisons`);
});

test('seeded random mixed-script strings (300, with emoji, marks, RTL and zero-width characters) give the Rust ids', () => {
  const n = compare((id) => id.startsWith('random-'));
  assert.ok(n > 3000, `${n} comparisons`);
});

test('a long text is tokenized whole for these pipelines, so truncating it keeps exactly the leading ids', () => {
  const long = fixture.texts.map((t) => t.text).join(' ');
  assert.ok(long.length > 8192);
  for (const name of NAMES) {
    const tok = loadTokenizer(join(DIR, name), 'xlm-roberta');
    const whole = tok.tokenize(long);
    for (const limit of [1, 100, 510]) assert.deepEqual(tok.tokenize(long, limit).slice(0, limit), whole.slice(0, limit), `${name} limit ${limit}`);
  }
});

function withTokenizerJson(mutate: (j: Record<string, unknown>) => void): string {
  const j = JSON.parse(readFileSync(join(DIR, 'unigram-metaspace', 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  mutate(j);
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(j));
  return dir;
}

function refuses(dir: string, field: string): void {
  assert.throws(
    () => loadTokenizer(dir, 'xlm-roberta'),
    (e: unknown) => e instanceof SemsearchError && e.code === 'TOKENIZER_INVALID' && e.field === field && String(e.message).includes('tokenizer.json'),
  );
}

test('unsupported models, normalizers, pre-tokenizers and patterns are refused with the file and field, never approximated', () => {
  refuses(withTokenizerJson((j) => (j['model'] = { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' })), 'model.type');
  refuses(withTokenizerJson((j) => (j['normalizer'] = { type: 'ByteLevel' })), 'normalizer.type');
  refuses(withTokenizerJson((j) => (j['normalizer'] = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Nmt' }] })), 'normalizer.type');
  refuses(withTokenizerJson((j) => (j['pre_tokenizer'] = { type: 'Digits', individual_digits: true })), 'pre_tokenizer.type');
  refuses(withTokenizerJson((j) => (j['pre_tokenizer'] = { type: 'Split', pattern: { Regex: '(?i:abc)' }, behavior: 'Isolated', invert: false })), 'pre_tokenizer.pattern');
  refuses(withTokenizerJson((j) => (j['pre_tokenizer'] = { type: 'Split', pattern: { Regex: '^a' }, behavior: 'Isolated', invert: false })), 'pre_tokenizer.pattern');
  refuses(withTokenizerJson((j) => (j['normalizer'] = { type: 'Replace', pattern: { Regex: 'a++' }, content: 'b' })), 'normalizer.pattern');
  refuses(withTokenizerJson((j) => (j['normalizer'] = { type: 'Precompiled', precompiled_charsmap: '' })), 'normalizer.precompiled_charsmap');
  refuses(withTokenizerJson((j) => ((j['model'] as Record<string, unknown>)['unk_id'] = 99999)), 'model.unk_id');
  refuses(withTokenizerJson((j) => (j['post_processor'] = { type: 'BertProcessing2' })), 'post_processor.type');
});
