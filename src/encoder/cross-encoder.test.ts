// Parity with sentence-transformers' CrossEncoder on random-initialised models it built, saved and exported
// (tools/reference/make_cross_fixtures.py): pair token ids, predict() at several batch sizes, activations, rank().
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCpu } from '../cpu/features.js';
import { isAccurateOn } from '../cpu/int8.js';
import { isSemsearchError } from '../errors.js';
import { commitIdOf, readFolder, startHubServer } from '../hub/test-support/hub-server.js';
import { longestFirst } from '../model/tokenizer/tokenizer.js';
import type { Matrix } from '../tensor/matrix.js';
import { loadCrossEncoder, loadCrossEncoderFromDir, type CrossEncoder, type LoadCrossEncoderOptions, type TextPair } from './cross-encoder.js';
import { decodeMatrix, FIXTURES, materializeCrossEncoder, maxAbsDiff, type StoredMatrix } from './test-support/fixtures.js';

const ROOT = join(FIXTURES, 'cross-encoders');
interface ModelVectors {
  numLabels: number;
  maxLength: number;
  activation: string;
  tokens: { ids: number[]; typeIds?: number[] }[];
  predict: Record<string, StoredMatrix>;
  logits: StoredMatrix;
  onnxPredict: StoredMatrix;
  softmax?: StoredMatrix;
  int8Predict?: StoredMatrix;
  rank?: { query: string; topK: number; hits: { corpusId: number; score: number; text: string }[] };
}
const vectors = JSON.parse(readFileSync(join(ROOT, 'vectors.json'), 'utf8')) as { pairs: TextPair[]; batchSizes: number[]; models: Record<string, ModelVectors> };
const pairs = vectors.pairs;

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

/** The model's folder as CrossEncoder saved it, in a temp dir removed after the tests. */
function folder(name: string): string {
  const { dir, cleanup } = materializeCrossEncoder(name);
  cleanups.push(cleanup);
  return dir;
}

async function load(name: string, options: LoadCrossEncoderOptions = {}, dir = folder(name)): Promise<CrossEncoder> {
  return loadCrossEncoderFromDir(dir, { workers: 1, ...options });
}

function within(got: Matrix, want: Matrix, tol: number, what: string): void {
  const d = maxAbsDiff(got, want);
  assert.ok(d <= tol, `${what}: max |diff| ${d} > ${tol}`);
}

function isCode(code: string, field?: string) {
  return (e: unknown): boolean => isSemsearchError(e) && e.code === code && (field === undefined || e.field === field);
}

test('every cross-encoder fixture folder loads as it is, tokenizer files included (byte-identical to its bi-encoder fixture\'s), and predicts as CrossEncoder', async () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as { models: Record<string, { tokenizerFrom: string; files: Record<string, string> }> };
  for (const [name, entry] of Object.entries(manifest.models)) {
    for (const f of ['tokenizer.json', 'vocab.txt']) {
      assert.ok(readFileSync(join(ROOT, name, f)).equals(readFileSync(join(FIXTURES, 'models', entry.tokenizerFrom, f))), `${name}/${f}`);
      assert.ok(entry.files[f] !== undefined, `manifest.json lists ${name}/${f}`);
    }
    // The committed folder itself, by path, as a user of a fresh clone would name it (`--cross-encoder <folder>`).
    const model = await loadCrossEncoder(join(ROOT, name), { workers: 1 });
    try {
      within(await model.predict(pairs, { batchSize: 32 }), decodeMatrix(vectors.models[name]?.predict['32'] as StoredMatrix), 1e-5, name);
    } finally {
      await model.dispose();
    }
  }
});

test('longest_first cuts as the Rust tokenizers do: the longer side first, halves when both are long, the odd token to the longer', () => {
  assert.deepEqual(longestFirst(3, 4, 10), [3, 4]);
  assert.deepEqual(longestFirst(3, 20, 10), [3, 7]);
  assert.deepEqual(longestFirst(20, 3, 10), [7, 3]);
  assert.deepEqual(longestFirst(6, 7, 10), [5, 5]);
  assert.deepEqual(longestFirst(6, 7, 9), [4, 5]);
  assert.deepEqual(longestFirst(7, 6, 9), [5, 4]);
  assert.deepEqual(longestFirst(7, 7, 9), [4, 5]);
  assert.deepEqual(longestFirst(30, 20, 9), [5, 4]);
  assert.deepEqual(longestFirst(0, 30, 9), [0, 9]);
});

for (const [name, ref] of Object.entries(vectors.models)) {
  describe(`${name}: parity with CrossEncoder`, () => {
    test('config: labels, max length and activation as CrossEncoder reads them; pair token ids and types identical', async () => {
      const model = await load(name);
      try {
        assert.equal(model.numLabels, ref.numLabels);
        assert.equal(model.maxLength, ref.maxLength);
        assert.equal(model.activation, ref.activation.endsWith('Sigmoid') ? 'sigmoid' : 'identity');
        const got = model.tokenize(pairs);
        assert.ok(ref.tokens.some((t) => t.ids.length === ref.maxLength), 'some pairs are truncated');
        got.forEach((g, i) => {
          assert.deepEqual(g.ids, ref.tokens[i]?.ids, `pair ${i} ids`);
          // Models without token types (DistilBERT) are not given them; the rest must match.
          if (ref.tokens[i]?.typeIds !== undefined) assert.deepEqual(g.typeIds, ref.tokens[i]?.typeIds, `pair ${i} token types`);
        });
      } finally {
        await model.dispose();
      }
    });

    test(`predict within 1e-5 of CrossEncoder.predict at batch sizes ${vectors.batchSizes.join(', ')}; raw logits${ref.numLabels > 1 ? ' and softmax' : ''}`, async () => {
      const model = await load(name);
      try {
        for (const bs of vectors.batchSizes) {
          const got = await model.predict(pairs, { batchSize: bs });
          assert.deepEqual([got.rows, got.dim], [pairs.length, ref.numLabels]);
          within(got, decodeMatrix(ref.predict[String(bs)] as StoredMatrix), 1e-5, `batch ${bs}`);
        }
        within(await model.predict(pairs, { activation: 'identity' }), decodeMatrix(ref.logits), 1e-5, 'logits');
        if (ref.softmax !== undefined) {
          const soft = await model.predict(pairs, { applySoftmax: true });
          within(soft, decodeMatrix(ref.softmax), 1e-5, 'softmax');
          for (let r = 0; r < soft.rows; r++) assert.ok(Math.abs(soft.row(r).reduce((a, b) => a + b, 0) - 1) < 1e-5);
        }
        // One pair alone, as predict(('q', 'p')) takes it.
        const one = await model.predict(pairs[0] as TextPair);
        within(one, decodeMatrix(ref.predict['1'] as StoredMatrix).slice(0, 1), 1e-5, 'a single pair');
      } finally {
        await model.dispose();
      }
    });

    if (ref.rank !== undefined) {
      test('rank: the same order, scores and texts as CrossEncoder.rank', async () => {
        const model = await load(name);
        try {
          const rank = ref.rank as NonNullable<ModelVectors['rank']>;
          const passages = readPassages(rank);
          const got = await model.rank(rank.query, passages, { topK: rank.topK, returnDocuments: true });
          assert.deepEqual(
            got.map((h) => [h.corpusId, h.text]),
            rank.hits.map((h) => [h.corpusId, h.text]),
          );
          got.forEach((h, i) => assert.ok(Math.abs(h.score - (rank.hits[i]?.score ?? NaN)) < 1e-5, `hit ${i}`));
          const all = await model.rank(rank.query, passages);
          assert.equal(all.length, passages.length, 'every document without topK');
          assert.equal(all[0]?.text, undefined, 'no text unless asked');
        } finally {
          await model.dispose();
        }
      });
    }
  });
}

/** rank()'s documents: the fixture passages, whose texts the reference hits carry (every one of them, top-5 aside). */
function readPassages(rank: NonNullable<ModelVectors['rank']>): string[] {
  const texts = JSON.parse(readFileSync(join(FIXTURES, 'texts.json'), 'utf8')) as { texts: { id: string; text: string }[] };
  const passages = texts.texts.filter((t) => t.id.startsWith('passage-')).map((t) => t.text);
  for (const h of rank.hits) assert.equal(passages[h.corpusId], h.text, 'the fixture passages are the documents ranked');
  return passages;
}

describe('cross-encoders with no ONNX export: the classification head built from model.safetensors', () => {
  // Builds go to a scratch cache, not the user's.
  const cache = mkdtempSync(join(tmpdir(), 'semsearch-ce-build-'));
  cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
  process.env['SEMSEARCH_BUILD_CACHE'] = cache;
  for (const name of ['bert-1', 'electra-1', 'distilbert-3', 'mpnet-3']) {
    test(`${name}: predict and raw logits within 1e-5 of CrossEncoder.predict, from the weights alone`, async () => {
      const ref = vectors.models[name] as ModelVectors;
      const dir = folder(name);
      rmSync(join(dir, 'onnx'), { recursive: true, force: true });
      const model = await load(name, {}, dir);
      try {
        assert.equal(model.onnxChoice.requested, 'built');
        within(await model.predict(pairs, { batchSize: 32 }), decodeMatrix(ref.predict['32'] as StoredMatrix), 1e-5, 'predict');
        within(await model.predict(pairs, { activation: 'identity', batchSize: 3 }), decodeMatrix(ref.logits), 1e-5, 'logits');
      } finally {
        await model.dispose();
      }
    });
  }

  test("mpnet-3 with config.json's pad_token_id 0 or 5: the same logits (transformers' MPNet counts positions past id 1 whatever the config says)", async () => {
    const ref = vectors.models['mpnet-3'] as ModelVectors;
    for (const pad of [0, 5]) {
      const dir = folder('mpnet-3');
      rmSync(join(dir, 'onnx'), { recursive: true, force: true });
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, pad_token_id: pad }));
      const model = await load('mpnet-3', {}, dir);
      try {
        within(await model.predict(pairs, { activation: 'identity', batchSize: 3 }), decodeMatrix(ref.logits), 1e-5, `pad_token_id ${pad}: logits`);
      } finally {
        await model.dispose();
      }
    }
  });
});

describe('cross-encoder runtime', () => {
  test('two worker sessions give the scores one session gives', async () => {
    const one = await load('bert-1');
    const two = await load('bert-1', { workers: 2, threads: 2 });
    try {
      within(await two.predict(pairs, { batchSize: 4 }), await one.predict(pairs, { batchSize: 4 }), 1e-6, 'workers');
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  test('a quantized variant loads by name and scores close to the float model', async () => {
    const ref = vectors.models['bert-1'] as ModelVectors;
    const q = await load('bert-1', { variant: 'qint8_avx512_vnni', onWarning: () => undefined });
    try {
      assert.match(q.onnxFile, /model_qint8_avx512_vnni\.onnx$/);
      const got = await q.predict(pairs);
      assert.ok(got.data.every(Number.isFinite));
      // The file is built for VNNI; where it drifts (AVX2: src/cpu/int8.ts) only that it runs, as for the bi-encoders' files.
      if (isAccurateOn('qint8_avx512_vnni', detectCpu().isa)) within(got, decodeMatrix(ref.predict['32'] as StoredMatrix), 0.02, 'int8 against float32');
    } finally {
      await q.dispose();
    }
  });

  test('activation sources: config_sentence_transformers.json, then config.json (v4 and pre-v4 keys), then the label count', async () => {
    const logits = decodeMatrix((vectors.models['bert-1'] as ModelVectors).logits);
    const cases: [string, (dir: string) => void, string][] = [
      ['saved by sentence-transformers 5', () => undefined, 'sigmoid'],
      ['v4 key in config.json', (dir) => edit(dir, 'config.json', (c) => ({ ...c, sentence_transformers: { activation_fn: 'torch.nn.modules.activation.Tanh' } })), 'tanh'],
      ['pre-v4 key in config.json', (dir) => edit(dir, 'config.json', (c) => ({ ...c, sbert_ce_default_activation_function: 'torch.nn.modules.linear.Identity' })), 'identity'],
      ['nothing said: one label is Sigmoid', () => undefined, 'sigmoid'],
    ];
    for (const [what, change, want] of cases) {
      const dir = folder('bert-1');
      if (what !== 'saved by sentence-transformers 5') rmSync(join(dir, 'config_sentence_transformers.json'));
      change(dir);
      const model = await load('bert-1', {}, dir);
      try {
        assert.equal(model.activation, want, what);
        const got = await model.predict(pairs);
        const f = want === 'sigmoid' ? (x: number) => 1 / (1 + Math.exp(-x)) : want === 'tanh' ? Math.tanh : (x: number) => x;
        got.data.forEach((v, i) => assert.ok(Math.abs(v - f(logits.data[i] as number)) < 1e-5, `${what}: pair ${i}`));
      } finally {
        await model.dispose();
      }
    }
    // A path outside torch is not run, as CrossEncoder without trust_remote_code: a warning, and the default.
    const dir = folder('bert-1');
    edit(dir, 'config_sentence_transformers.json', (c) => ({ ...c, activation_fn: 'mypackage.CustomActivation' }));
    const warnings: string[] = [];
    const model = await load('bert-1', { onWarning: (m) => warnings.push(m) }, dir);
    assert.equal(model.activation, 'sigmoid');
    assert.match(warnings.join('\n'), /mypackage\.CustomActivation.*not a torch module/);
    await model.dispose();
    // Overrides, as CrossEncoder(max_length=…, activation_fn=…).
    const short = await load('bert-1', { maxLength: 16, activation: 'identity' });
    assert.equal(short.maxLength, 16);
    assert.ok(short.tokenize(pairs).every((p) => p.ids.length <= 16));
    assert.equal(short.activation, 'identity');
    await short.dispose();
  });

  test('loadCrossEncoder by name fetches from a hub look-alike into the cache (a bare name gets cross-encoder/), then loads offline', async () => {
    const files = readFolder(folder('bert-1'));
    // A repo that also ships weights semsearch never reads: they must not be downloaded.
    files.set('model.safetensors', Buffer.alloc(1024));
    const commit = commitIdOf(files);
    const hub = await startHubServer([{ id: 'cross-encoder/ms-marco-tiny-L2-v2', commits: new Map([[commit, files]]), refs: new Map([['main', commit]]) }]);
    const cache = mkdtempSync(join(tmpdir(), 'semsearch-ce-hub-'));
    cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
    const env = { HF_HUB_DISABLE_PROGRESS_BARS: '1' };
    try {
      const want = decodeMatrix((vectors.models['bert-1'] as ModelVectors).predict['32'] as StoredMatrix);
      const online = await loadCrossEncoder('ms-marco-tiny-L2-v2', { endpoint: hub.endpoint, cacheDir: cache, env, workers: 1 });
      assert.ok(online.config.dir.startsWith(join(cache, 'models--cross-encoder--ms-marco-tiny-L2-v2', 'snapshots')), online.config.dir);
      within(await online.predict(pairs), want, 1e-5, 'downloaded');
      await online.dispose();
      assert.ok(!hub.requests.some((r) => r.url.includes('model.safetensors')), 'the weights were not fetched');
      const before = hub.requests.length;
      const offline = await loadCrossEncoder('cross-encoder/ms-marco-tiny-L2-v2', { cacheDir: cache, localFilesOnly: true, env, workers: 1 });
      assert.equal(hub.requests.length, before, 'no request while offline');
      within(await offline.predict(pairs), want, 1e-5, 'offline');
      await offline.dispose();
    } finally {
      await hub.close();
    }
  });

  test('bad folders and inputs: coded errors naming the file, field or pair', async () => {
    const notCross = folder('bert-1');
    edit(notCross, 'config.json', (c) => ({ ...c, architectures: ['BertModel'] }));
    await assert.rejects(load('bert-1', {}, notCross), isCode('UNSUPPORTED_MODEL', 'architectures'));
    const deberta = folder('bert-1');
    edit(deberta, 'config.json', (c) => ({ ...c, model_type: 'deberta-v2', architectures: ['DebertaV2ForSequenceClassification'] }));
    await assert.rejects(load('bert-1', {}, deberta), (e) => isCode('UNSUPPORTED_MODEL', 'model_type')(e) && /"deberta-v2"/.test((e as Error).message));
    const unknownTorch = folder('bert-1');
    edit(unknownTorch, 'config_sentence_transformers.json', (c) => ({ ...c, activation_fn: 'torch.nn.modules.activation.GELU' }));
    await assert.rejects(load('bert-1', {}, unknownTorch), isCode('UNSUPPORTED_MODEL', 'activation_fn'));
    await assert.rejects(load('bert-1', { activation: 'swish' as never }), isCode('INVALID_ARGUMENT', 'activation'));
    await assert.rejects(loadCrossEncoderFromDir(join(tmpdir(), 'no-such-cross-encoder')), isCode('MODEL_NOT_FOUND'));

    const model = await load('bert-3');
    try {
      await assert.rejects(model.predict([['a', 'b'], ['c']] as never), isCode('INVALID_ARGUMENT', 'pairs[1]'));
      await assert.rejects(model.predict([['a', 2]] as never), isCode('INVALID_ARGUMENT', 'pairs[0]'));
      await assert.rejects(model.predict('a' as never), isCode('INVALID_ARGUMENT', 'pairs'));
      await assert.rejects(model.predict(pairs, { batchSize: 0 }), isCode('INVALID_ARGUMENT', 'batchSize'));
      await assert.rejects(model.rank('q', ['a', 'b']), isCode('UNSUPPORTED_MODEL'));
      assert.equal((await model.predict([])).rows, 0);
    } finally {
      await model.dispose();
    }
    await assert.rejects(model.predict(pairs), isCode('MODEL_DISPOSED'));
  });
});

function edit(dir: string, file: string, f: (c: Record<string, unknown>) => Record<string, unknown>): void {
  const p = join(dir, file);
  writeFileSync(p, JSON.stringify(f(JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>)));
}
