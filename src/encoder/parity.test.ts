import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelFromDir } from './load-model.js';
import type { SentenceTransformer } from './sentence-transformer.js';
import {
  ARCHS,
  VARIANTS,
  decodeMatrix,
  materializeVariant,
  maxAbsDiff,
  readTexts,
  readVectors,
  rowCosine,
} from './test-support/fixtures.js';

const texts = readTexts();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

async function load(arch: (typeof ARCHS)[number], variant: string, options: { variant?: string } = {}): Promise<SentenceTransformer> {
  const { dir, cleanup } = materializeVariant(arch, variant);
  cleanups.push(cleanup);
  return loadModelFromDir(dir, options);
}

for (const arch of ARCHS) {
  describe(`${arch}: parity with sentence-transformers`, () => {
    const ref = readVectors(arch);

    test('token ids are identical for every text', async () => {
      const model = await load(arch, 'mean-norm');
      assert.equal(model.maxSeqLength, ref.max_seq_length);
      const got = model.tokenize(texts);
      assert.equal(got.length, ref.token_ids.length);
      got.forEach((ids, i) => assert.deepEqual(ids, ref.token_ids[i], `text ${i}: ${JSON.stringify(texts[i]).slice(0, 60)}`));
      await model.dispose();
    });

    for (const variant of VARIANTS) {
      for (const format of ['', '-legacy']) {
        test(`${variant}${format}: embeddings within 1e-5 at batch sizes 1, 3 and 32`, async () => {
          const model = await load(arch, variant + format);
          const expected = ref.embeddings[variant];
          assert.ok(expected !== undefined);
          for (const bs of ['1', '3', '32']) {
            const want = decodeMatrix(expected.torch[bs] as Parameters<typeof decodeMatrix>[0]);
            const got = await model.encode(texts, { batchSize: Number(bs) });
            const diff = maxAbsDiff(got, want);
            assert.ok(diff <= 1e-5, `batch ${bs}: max abs diff ${diff}`);
          }
          await model.dispose();
        });
      }
    }

    test('int8 ONNX variant: cosine ≥ 0.99 to the fp32 vectors, and agrees with Python ONNX Runtime on the same file', async () => {
      const variant = ref.onnx_embeddings.variant;
      const model = await load(arch, variant, { variant: 'qint8_avx512_vnni' });
      assert.match(model.onnxFile, /model_qint8_avx512_vnni\.onnx$/);
      const got = await model.encode(texts, { batchSize: 32 });
      const fp32 = decodeMatrix((ref.embeddings[variant] as { torch: Record<string, Parameters<typeof decodeMatrix>[0]> }).torch['32'] as Parameters<typeof decodeMatrix>[0]);
      let minCos = 1;
      for (let i = 0; i < got.rows; i++) minCos = Math.min(minCos, rowCosine(got.row(i), fp32.row(i)));
      assert.ok(minCos >= 0.99, `min cosine ${minCos}`);
      const py = ref.onnx_embeddings.by_file['onnx/model_qint8_avx512_vnni.onnx']?.['32'];
      assert.ok(py !== undefined);
      // Dynamic int8 quantises activations per batch, so batch membership (which equal-length texts land
      // together) moves results slightly; the vectors must still point the same way.
      const pyM = decodeMatrix(py);
      let minPyCos = 1;
      for (let i = 0; i < got.rows; i++) minPyCos = Math.min(minPyCos, rowCosine(got.row(i), pyM.row(i)));
      console.log(`${arch} int8: min cosine to fp32 ${minCos.toFixed(5)}, to Python's int8 run ${minPyCos.toFixed(5)}, max abs diff ${maxAbsDiff(got, pyM).toExponential(2)}`);
      assert.ok(minPyCos >= 0.99, `min cosine to Python's int8 run ${minPyCos}`);
      await model.dispose();
    });

    test("model.similarity uses the model's own similarity function", async () => {
      const model = await load(arch, ref.similarity.variant);
      assert.equal(model.similarityFnName, ref.similarity.function);
      const emb = await model.encode(texts.slice(0, 5));
      const diff = maxAbsDiff(model.similarity(emb, emb), decodeMatrix(ref.similarity.scores));
      assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
      await model.dispose();
    });
  });
}
