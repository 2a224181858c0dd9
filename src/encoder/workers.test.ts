import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { loadModelFromDir } from './load-model.js';
import { ARCHS, decodeMatrix, materializeVariant, maxAbsDiff, readTexts, readVectors } from './test-support/fixtures.js';

const texts = readTexts();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

describe('workers: batches on a pool of ONNX Runtime sessions in worker threads', () => {
  for (const arch of ARCHS) {
    test(`${arch}: two workers give the sentence-transformers embeddings (1e-5) in input order, at batch sizes 1, 3 and 32`, async () => {
      const { dir, cleanup } = materializeVariant(arch, 'mean-norm');
      cleanups.push(cleanup);
      const ref = readVectors(arch).embeddings['mean-norm'];
      assert.ok(ref !== undefined);
      const model = await loadModelFromDir(dir, { workers: 2, threads: 2 });
      for (const bs of ['1', '3', '32']) {
        const want = decodeMatrix(ref.torch[bs] as Parameters<typeof decodeMatrix>[0]);
        const got = await model.encode(texts, { batchSize: Number(bs) });
        const diff = maxAbsDiff(got, want);
        assert.ok(diff <= 1e-5, `batch ${bs}: max abs diff ${diff}`);
      }
      await model.dispose();
    });
  }

  test('progress counts every text once, and concurrent encode calls share the pool', async () => {
    const { dir, cleanup } = materializeVariant('bert', 'mean-norm');
    cleanups.push(cleanup);
    const model = await loadModelFromDir(dir, { workers: 2 });
    const seen: number[] = [];
    const [a, b] = await Promise.all([model.encode(texts, { batchSize: 4, onProgress: (p) => seen.push(p.done) }), model.encode(texts.slice(0, 5), { batchSize: 2 })]);
    assert.equal(seen.at(-1), texts.length);
    assert.deepEqual(seen, [...seen].sort((x, y) => x - y));
    assert.ok(maxAbsDiff(b, a.slice(0, 5)) <= 1e-6);
    await model.dispose();
    await assert.rejects(model.encode(['x']), (e: unknown) => isSemsearchError(e, 'MODEL_DISPOSED'));
  });

  test('a missing ONNX file and a bad worker count are coded errors', async () => {
    const { dir, cleanup } = materializeVariant('bert', 'mean-norm');
    cleanups.push(cleanup);
    await assert.rejects(loadModelFromDir(dir, { workers: 2, variant: 'O9' }), (e: unknown) => isSemsearchError(e, 'ONNX_MISSING'));
    await assert.rejects(loadModelFromDir(dir, { workers: 0 }), (e: unknown) => isSemsearchError(e, 'INVALID_ARGUMENT'));
  });
});
