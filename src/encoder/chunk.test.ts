import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from './load-model.js';
import type { SentenceTransformer } from './sentence-transformer.js';
import { chunkText, fitsWindow, type TextChunk } from './chunk.js';
import { seededRandom } from '../tensor/random.js';
import { isSemsearchError } from '../errors.js';

const MODELS = ['bert', 'distilbert', 'mpnet'];
const models = new Map<string, SentenceTransformer>();

before(async () => {
  for (const name of MODELS) models.set(name, await loadModelFromDir(fileURLToPath(new URL(`../model/fixtures/models/${name}`, import.meta.url))));
});
after(async () => {
  for (const m of models.values()) await m.dispose();
});

const PIECES = [
  'london', 'bridge', 'tower,', 'museum.', 'garden!', 'Café', 'naïve', 'résumé', 'über', '東京都', '北京', 'emoji😀ok', '👍🏽',
  '(quoted)', '"Hello."', 'e.g.', 'x=3.14', 'ANTIDISESTABLISHMENTARIANISM', 'semantic-search', "don't", '#hashtag', '—', '…',
  'Supercalifragilisticexpialidocious'.repeat(12), '😀'.repeat(80), 'ab'.repeat(150),
];
const GAPS = [' ', ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n \n '];

/** A seeded random text of `n` words: ordinary words, accents, CJK, emoji, very long words, paragraph breaks. */
function randomText(random: () => number, n: number): string {
  let s = random() < 0.3 ? GAPS[Math.floor(random() * GAPS.length)] as string : '';
  for (let i = 0; i < n; i++) {
    s += PIECES[Math.floor(random() * PIECES.length)] as string;
    s += GAPS[Math.floor(random() * GAPS.length)] as string;
  }
  return random() < 0.5 ? s.trimEnd() : s;
}

/** The windows' spans in order, covering every non-space character; each input is the span (after the title past the first). */
function checkWindows(text: string, chunks: readonly TextChunk[], prefix: string, what: string): void {
  const covered = new Uint8Array(text.length);
  chunks.forEach((c, i) => {
    assert.ok(c.start >= 0 && c.end <= text.length && c.start < c.end, `${what}: window ${i} span ${c.start}–${c.end}`);
    assert.equal(c.input, (i > 0 ? prefix : '') + text.slice(c.start, c.end), `${what}: window ${i} input is its span`);
    if (i > 0) {
      const prev = chunks[i - 1] as TextChunk;
      assert.ok(c.start > prev.start && c.end > prev.end, `${what}: windows move forward`);
      // Adjacent or overlapping: nothing between two windows but spaces.
      assert.match(text.slice(prev.end, Math.max(prev.end, c.start)), /^\s*$/u, `${what}: a gap between windows ${i - 1} and ${i}`);
    }
    covered.fill(1, c.start, c.end);
  });
  for (let i = 0; i < text.length; i++) if (covered[i] === 0) assert.match(text[i] as string, /\s/u, `${what}: character ${i} is in no window`);
}

test('chunkText: every window is a span of the text whose tokens, with the special tokens, fit the window, and the model encodes it untruncated (seeded random texts, three tokenizers)', () => {
  const random = seededRandom(31);
  let windows = 0;
  let multi = 0;
  for (const name of MODELS) {
    const model = models.get(name) as SentenceTransformer;
    const tok = model.tokenizer;
    for (let trial = 0; trial < 40; trial++) {
      const text = randomText(random, 1 + Math.floor(random() * 300));
      if (text.trim() === '') continue;
      const maxTokens = [16, 24, 40, model.maxSeqLength][trial % 4] as number;
      const overlap = [undefined, 0, 3, 7][Math.floor(random() * 4)];
      const chunks = chunkText(tok, text, { maxTokens, ...(overlap !== undefined ? { overlap } : {}) });
      const what = `${name} trial ${trial} (max ${maxTokens}, overlap ${overlap})`;
      checkWindows(text, chunks, '', what);
      assert.deepEqual(chunkText(tok, text, { maxTokens, ...(overlap !== undefined ? { overlap } : {}) }), chunks, `${what}: deterministic`);
      for (const c of chunks) {
        const full = tok.encode(c.input);
        assert.ok(full.length <= maxTokens, `${what}: a window of ${full.length} tokens`);
        // The ids the model encodes for the window (truncated at max_seq_length) are the tokenizer's ids of the span, whole.
        assert.deepEqual(model.tokenize([c.input])[0], full, `${what}: the model truncates a window`);
      }
      if (fitsWindow(tok, text, maxTokens)) assert.deepEqual(chunks, [{ start: 0, end: text.length, input: text }], `${what}: a text that fits is one window`);
      else {
        assert.ok(chunks.length > 1, `${what}: a text that does not fit is cut`);
        multi++;
      }
      windows += chunks.length;
    }
  }
  assert.ok(multi > 50 && windows > 300, `only ${multi} texts cut into ${windows} windows`);
});

test('chunkText: overlap means consecutive windows share about that many tokens; 0 means they share none', () => {
  const tok = (models.get('bert') as SentenceTransformer).tokenizer;
  const text = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  const none = chunkText(tok, text, { maxTokens: 34, overlap: 0 });
  for (let i = 1; i < none.length; i++) assert.ok((none[i] as TextChunk).start >= (none[i - 1] as TextChunk).end, 'no overlap');
  const some = chunkText(tok, text, { maxTokens: 34, overlap: 8 });
  assert.ok(some.length > none.length);
  for (let i = 1; i < some.length; i++) {
    const shared = text.slice((some[i] as TextChunk).start, (some[i - 1] as TextChunk).end);
    const n = tok.tokenize(shared).length;
    assert.ok(n > 0 && n <= 8, `window ${i} shares ${n} tokens`);
  }
});

test('chunkText: a window ends at a paragraph, else a sentence, within the tolerance', () => {
  const tok = (models.get('bert') as SentenceTransformer).tokenizer;
  // Ten-word sentences; one paragraph break after the third.
  const sentence = (i: number): string => `this is sentence number ${i} with a few more words.`;
  const text = [0, 1, 2].map(sentence).join(' ') + '\n\n' + [3, 4, 5, 6, 7, 8].map(sentence).join(' ');
  const perSentence = tok.tokenize(sentence(0)).length;
  const chunks = chunkText(tok, text, { maxTokens: 2 + Math.floor(3.5 * perSentence), overlap: 0 });
  assert.equal(text.slice(0, (chunks[0] as TextChunk).end).endsWith('number 2 with a few more words.'), true, 'first window ends at the paragraph');
  for (const c of chunks.slice(0, -1)) assert.match(text.slice(c.start, c.end), /\.$/, 'windows end at sentences');
});

test('chunkText: a BEIR title is repeated in every window after the first, within the token bound', () => {
  const model = models.get('distilbert') as SentenceTransformer;
  const title = 'The History of London Bridge';
  const text = `${title} ${Array.from({ length: 200 }, (_, i) => `stone${i % 7} arch`).join(' ')}`;
  const chunks = chunkText(model.tokenizer, text, { maxTokens: model.maxSeqLength, title });
  assert.ok(chunks.length > 2);
  checkWindows(text, chunks, `${title} `, 'titled');
  assert.equal((chunks[0] as TextChunk).start, 0);
  for (const c of chunks) assert.ok(model.tokenizer.encode(c.input).length <= model.maxSeqLength);
});

test('chunkText: a document prompt (e5\'s "passage: ") takes room in every window, so prompt + window still fits (seeded random texts)', () => {
  const random = seededRandom(47);
  const prompt = 'passage: ';
  let tight = 0;
  for (const name of MODELS) {
    const model = models.get(name) as SentenceTransformer;
    const tok = model.tokenizer;
    for (let trial = 0; trial < 15; trial++) {
      const text = randomText(random, 40 + Math.floor(random() * 200));
      const maxTokens = 12 + Math.floor(random() * (model.maxSeqLength - 12));
      const chunks = chunkText(tok, text, { maxTokens, prompt });
      checkWindows(text, chunks, '', `${name} #${trial}`);
      for (const c of chunks) assert.ok(tok.encode(prompt + c.input).length <= maxTokens, `${name} #${trial}: prompt + window exceeds ${maxTokens}`);
      // Without the prompt option the windows are cut for the text alone: some then overflow once prompted.
      const unprompted = chunkText(tok, text, { maxTokens });
      if (unprompted.some((c) => tok.encode(prompt + c.input).length > maxTokens)) tight++;
    }
  }
  assert.ok(tight > 0, 'the prompt never mattered: the check above could not fail');
  const model = models.get('bert') as SentenceTransformer;
  assert.throws(() => chunkText(model.tokenizer, 'a b c d e f g', { maxTokens: 4, prompt: 'a long prompt of many words' }), (e: unknown) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test('chunkText: bad options are INVALID_ARGUMENT', () => {
  const tok = (models.get('bert') as SentenceTransformer).tokenizer;
  assert.throws(() => chunkText(tok, 'a b c', { maxTokens: 2 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => chunkText(tok, 'a b c', { maxTokens: 10, overlap: 8 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => chunkText(tok, 'a b c', { maxTokens: 10, overlap: -1 }), { code: 'INVALID_ARGUMENT' });
});
