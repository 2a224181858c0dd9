// RoBERTa, XLM-RoBERTa and ELECTRA (embedding_size ≠ hidden_size) bi-encoders, and RoBERTa / XLM-RoBERTa
// cross-encoders, against sentence-transformers' own outputs (tools/reference/make_family_fixtures.py): the ONNX file
// sentence-transformers exported and the graph semsearch builds from model.safetensors, within 1e-5.
//
// Inputs are Python's token ids, so these tests do not depend on a BPE or Unigram tokenizer: bi-encoders go through
// encodeTokenIds (the lowest entry that takes ids: the model's <s> … </s> added, padded with its pad id, pooling,
// Normalize), cross-encoders through the logits session with the pairs' ids padded as a batch. ELECTRA's WordPiece
// tokenizer loads today, so it is also checked from text, end to end; RoBERTa and XLM-R from text once their tokenizers
// load (until then that test says why it is skipped).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelConfig } from '../model/config.js';
import { readCrossEncoderConfig } from '../model/cross-config.js';
import { builtOnnxFile } from '../model/graph/build.js';
import { TransformerSession } from '../model/onnx-session.js';
import { Tokenizer } from '../model/tokenizer/tokenizer.js';
import { Matrix } from '../tensor/matrix.js';
import { DenseLayer } from './dense.js';
import { encodeTokenIds, type EncoderParts, type PostModule } from './encode.js';
import { loadCrossEncoderFromDir } from './cross-encoder.js';
import { loadModelFromDir, openRunner } from './load-model.js';
import { decodeMatrix, FIXTURES, maxAbsDiff, type StoredMatrix } from './test-support/fixtures.js';

interface FamilyEntry {
  modelType: string;
  inputIds: number[][];
  onnxInputs: string[];
  padId: number;
  embeddings?: StoredMatrix;
  pairs?: [string, string][];
  logits?: StoredMatrix;
}
const DIR = join(FIXTURES, 'families');
const ref = JSON.parse(readFileSync(join(DIR, 'vectors.json'), 'utf8')) as { texts: string[]; maxSeqLength: number; models: Record<string, FamilyEntry> };
const BI = ['roberta', 'xlm-roberta', 'electra'] as const;
const CROSS = ['cross-roberta', 'cross-xlm-roberta'] as const;

const cache = mkdtempSync(join(tmpdir(), 'semsearch-families-build-'));
after(() => rmSync(cache, { recursive: true, force: true }));

/** What encodeTokenIds reads of a tokenizer: the template, the vocabulary's size, and padding with the model's pad id. */
function idsTokenizer(e: FamilyEntry, vocabSize: number): Tokenizer {
  const first = e.inputIds[0] as number[];
  const template = { prefix: [first[0] as number], suffix: [first[first.length - 1] as number] };
  const pad = (all: readonly ArrayLike<number>[], types?: readonly ArrayLike<number>[]) => Tokenizer.prototype.pad.call({ padId: e.padId } as unknown as Tokenizer, all, types);
  return { template, vocab: { size: vocabSize }, pad } as unknown as Tokenizer;
}

function postModules(dir: string): PostModule[] {
  const modules: PostModule[] = [];
  for (const m of readModelConfig(dir).modules) {
    if (m.kind === 'pooling') modules.push({ kind: 'pooling', config: m.config });
    else if (m.kind === 'dense') modules.push({ kind: 'dense', layer: new DenseLayer(m.config) });
    else if (m.kind === 'normalize') modules.push({ kind: 'normalize' });
  }
  return modules;
}

function rowsOf(m: Matrix, rows: number[]): Matrix {
  const out = new Matrix(rows.length, m.dim);
  rows.forEach((r, i) => out.data.set(m.row(r), i * m.dim));
  return out;
}

for (const name of BI) {
  describe(`${name} bi-encoder: as sentence-transformers`, () => {
    const e = ref.models[name] as FamilyEntry;
    const dir = join(DIR, name);
    const want = decodeMatrix(e.embeddings as StoredMatrix);
    // Texts with at least one token besides <s> … </s> (encodeTokenIds takes no empty input).
    const rows = e.inputIds.map((ids, i) => (ids.length > 2 ? i : -1)).filter((i) => i >= 0);
    const lists = rows.map((i) => (e.inputIds[i] as number[]).slice(1, -1));

    test('its config reads, and the ONNX export takes the inputs sentence-transformers gave it', async () => {
      const config = readModelConfig(dir);
      assert.equal(config.modelType, e.modelType);
      assert.equal(config.maxSeqLength, ref.maxSeqLength);
      const s = await TransformerSession.create(join(dir, 'onnx', 'model.onnx'));
      assert.deepEqual([...s.inputNames].sort(), [...e.onnxInputs].sort());
      await s.dispose();
    });

    for (const source of ['onnx/model.onnx', 'built from model.safetensors'] as const) {
      test(`${source}: embeddings of Python's token ids within 1e-5 at batch sizes 1, 3 and 32`, async () => {
        const config = readModelConfig(dir);
        const file = source === 'onnx/model.onnx' ? join(dir, source) : builtOnnxFile(dir, cache);
        const session = await openRunner(file, {});
        const parts: EncoderParts = { config, tokenizer: idsTokenizer(e, 1 << 20), session, modules: postModules(dir) };
        try {
          for (const batchSize of [1, 3, 32]) {
            const got = await encodeTokenIds(parts, lists, { batchSize });
            assert.deepEqual(got.tokens, rows.map((i) => (e.inputIds[i] as number[]).length));
            const diff = maxAbsDiff(got.embeddings, rowsOf(want, rows));
            assert.ok(diff <= 1e-5, `batch ${batchSize}: max abs diff ${diff}`);
          }
        } finally {
          await session.dispose();
        }
      });
    }

    test('from text: token ids identical to Python, embeddings within 1e-5 (exported and built)', async () => {
      const model = await loadModelFromDir(dir);
      try {
        assert.deepEqual(model.tokenize(ref.texts), e.inputIds);
        const diff = maxAbsDiff(await model.encode(ref.texts), want);
        assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
      } finally {
        await model.dispose();
      }
      // No export: loadModel builds the graph from the checkpoint.
      const bare = mkdtempSync(join(tmpdir(), `semsearch-${name}-bare-`));
      try {
        cpSync(dir, bare, { recursive: true });
        rmSync(join(bare, 'onnx'), { recursive: true });
        const prev = process.env['SEMSEARCH_BUILD_CACHE'];
        process.env['SEMSEARCH_BUILD_CACHE'] = cache;
        const built = await loadModelFromDir(bare).finally(() => {
          if (prev === undefined) delete process.env['SEMSEARCH_BUILD_CACHE'];
          else process.env['SEMSEARCH_BUILD_CACHE'] = prev;
        });
        assert.equal(built.onnxChoice.requested, 'built');
        const diff = maxAbsDiff(await built.encode(ref.texts), want);
        await built.dispose();
        assert.ok(diff <= 1e-5, `built: max abs diff ${diff}`);
      } finally {
        rmSync(bare, { recursive: true, force: true });
      }
    });
  });
}

for (const name of CROSS) {
  describe(`${name} cross-encoder: logits as sentence-transformers`, () => {
    const e = ref.models[name] as FamilyEntry;
    const dir = join(DIR, name);
    const want = decodeMatrix(e.logits as StoredMatrix);

    test('its config reads as a one-label cross-encoder', () => {
      const c = readCrossEncoderConfig(dir);
      assert.equal(c.modelType, e.modelType);
      assert.equal(c.numLabels, 1);
      assert.equal(c.maxLength, ref.maxSeqLength);
    });

    for (const source of ['onnx/model.onnx', 'built from model.safetensors'] as const) {
      test(`${source}: logits of Python's pair ids within 1e-5 at batch sizes 1, 3 and 32`, async () => {
        const file = source === 'onnx/model.onnx' ? join(dir, source) : builtOnnxFile(dir, cache, { head: 'classification' });
        const session = await TransformerSession.create(file, { output: 'logits' });
        const pad = idsTokenizer(e, 0);
        try {
          for (const batchSize of [1, 3, 32]) {
            const got = new Matrix(e.inputIds.length, want.dim);
            for (let s = 0; s < e.inputIds.length; s += batchSize) {
              const out = await session.run(pad.pad(e.inputIds.slice(s, s + batchSize)));
              got.data.set(out.data, s * want.dim);
            }
            const diff = maxAbsDiff(got, want);
            assert.ok(diff <= 1e-5, `batch ${batchSize}: max abs diff ${diff}`);
          }
        } finally {
          await session.dispose();
        }
      });
    }

    test('from text: pair ids identical to Python, logits within 1e-5 (exported and built)', async () => {
      const pairs = e.pairs as [string, string][];
      const ce = await loadCrossEncoderFromDir(dir, { activation: 'identity' });
      try {
        assert.deepEqual(ce.tokenize(pairs).map((p) => p.ids), e.inputIds);
        const diff = maxAbsDiff(await ce.predict(pairs), want);
        assert.ok(diff <= 1e-5, `exported: max abs diff ${diff}`);
      } finally {
        await ce.dispose();
      }
      // No export: the graph with its classification head is built from the checkpoint.
      const bare = mkdtempSync(join(tmpdir(), `semsearch-${name}-bare-`));
      const prev = process.env['SEMSEARCH_BUILD_CACHE'];
      try {
        cpSync(dir, bare, { recursive: true });
        rmSync(join(bare, 'onnx'), { recursive: true });
        process.env['SEMSEARCH_BUILD_CACHE'] = cache;
        const built = await loadCrossEncoderFromDir(bare, { activation: 'identity' });
        try {
          const diff = maxAbsDiff(await built.predict(pairs), want);
          assert.ok(diff <= 1e-5, `built: max abs diff ${diff}`);
        } finally {
          await built.dispose();
        }
      } finally {
        if (prev === undefined) delete process.env['SEMSEARCH_BUILD_CACHE'];
        else process.env['SEMSEARCH_BUILD_CACHE'] = prev;
        rmSync(bare, { recursive: true, force: true });
      }
    });
  });
}
