import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Matrix } from '../tensor/matrix.js';
import { loadModel, loadModelFromDir } from './load-model.js';
import { materializeVariant, maxAbsDiff, readTexts, readVectors } from './test-support/fixtures.js';

const texts = readTexts();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function variantDir(arch: 'bert' | 'distilbert' | 'mpnet', variant = 'mean-norm'): string {
  const { dir, cleanup } = materializeVariant(arch, variant);
  cleanups.push(cleanup);
  return dir;
}

describe('loadModel reads everything from the model folder', () => {
  test('a local folder loads through loadModel, with the hub-layout Normalize entry that has no folder', async () => {
    const dir = variantDir('bert');
    assert.ok(!existsSync(join(dir, '2_Normalize')));
    const model = await loadModel(dir, { threads: 1 });
    const emb = await model.encode(['How big is London', 'London has 9,787,426 inhabitants at the 2011 census']);
    for (let r = 0; r < emb.rows; r++) {
      const n = Math.hypot(...emb.row(r));
      assert.ok(Math.abs(n - 1) < 1e-5, `row ${r} norm ${n}`);
    }
    assert.equal(model.dimension, 32);
    await model.dispose();
  });

  test('one string in gives one vector out; encode order does not depend on batching', async () => {
    const model = await loadModelFromDir(variantDir('distilbert'));
    const all = await model.encode(texts, { batchSize: 5 });
    const one = await model.encode(texts[7] as string);
    assert.ok(one instanceof Float32Array);
    assert.ok(maxAbsDiff(new Matrix(1, one.length, one), all.slice(7, 8)) <= 1e-5);
    await model.dispose();
  });

  test('vocab.txt + tokenizer_config.json give the same ids when tokenizer.json is absent', async () => {
    for (const arch of ['bert', 'mpnet'] as const) {
      const dir = variantDir(arch);
      rmSync(join(dir, 'tokenizer.json'));
      const model = await loadModelFromDir(dir);
      const ref = readVectors(arch);
      model.tokenize(texts).forEach((ids, i) => assert.deepEqual(ids, ref.token_ids[i], `${arch} text ${i}`));
      await model.dispose();
    }
  });

  test('prompts from config_sentence_transformers.json: by name, by text, and unknown names rejected', async () => {
    const model = await loadModelFromDir(variantDir('mpnet'));
    assert.equal(model.config.prompts['query'], 'query: ');
    const byName = await model.encode(['what is a bi-encoder'], { promptName: 'query' });
    const byText = await model.encode(['query: what is a bi-encoder']);
    const viaQuery = await model.encodeQuery(['what is a bi-encoder']);
    assert.ok(maxAbsDiff(byName, byText) <= 1e-6);
    assert.ok(maxAbsDiff(viaQuery, byText) <= 1e-6);
    await assert.rejects(model.encode(['x'], { promptName: 'nope' }), { code: 'INVALID_ARGUMENT', field: 'promptName' });
    await model.dispose();
  });

  test('precision, normalize and progress options', async () => {
    const model = await loadModelFromDir(variantDir('bert', 'mean-nonorm'));
    const seen: number[] = [];
    const f = await model.encode(texts, { batchSize: 16, batching: 'fixed', onProgress: (p) => seen.push(p.done) });
    // One report per batch of 16, 16 and 12 texts; with two worker sessions (the default) batches finish in either order.
    assert.equal(seen.at(-1), texts.length);
    assert.deepEqual(seen.map((d, i) => d - (seen[i - 1] ?? 0)).sort((a, b) => a - b), [texts.length - 32, 16, 16].sort((a, b) => a - b));
    // Padding-aware batches (the default): one report per batch, each at most batchSize texts.
    const planned: number[] = [];
    await model.encode(texts, { batchSize: 16, onProgress: (p) => planned.push(p.done) });
    assert.equal(planned.at(-1), texts.length);
    planned.forEach((d, i) => assert.ok(d - (planned[i - 1] ?? 0) >= 1 && d - (planned[i - 1] ?? 0) <= 16));
    const n = await model.encode(texts, { normalize: true });
    assert.ok(Math.abs(Math.hypot(...n.row(3)) - 1) < 1e-5);
    assert.ok(Math.abs(Math.hypot(...f.row(3)) - 1) > 1e-3);
    const q = await model.encode(texts, { precision: 'int8' });
    assert.ok(q.data instanceof Int8Array);
    assert.equal(q.rows, texts.length);
    const b = await model.encode(texts, { precision: 'ubinary' });
    assert.equal(b.dim, 4);
    const single = await model.encode('hello', { precision: 'binary' });
    assert.ok(single instanceof Int8Array && single.length === 4);
    await model.dispose();
  });

  test('a Dense module is applied with its safetensors weights', async () => {
    const dir = variantDir('bert', 'mean-nonorm');
    const plain = await loadModelFromDir(dir);
    const base = await plain.encode(texts.slice(0, 3));
    await plain.dispose();
    // y = tanh(2x + 0.5) on the first 4 dimensions: weight rows pick dimension i, scaled by 2.
    const out = 4;
    const weight = new Float32Array(out * 32);
    for (let i = 0; i < out; i++) weight[i * 32 + i] = 2;
    const bias = new Float32Array(out).fill(0.5);
    const header = JSON.stringify({
      'linear.weight': { dtype: 'F32', shape: [out, 32], data_offsets: [0, weight.byteLength] },
      'linear.bias': { dtype: 'F32', shape: [out], data_offsets: [weight.byteLength, weight.byteLength + bias.byteLength] },
    });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
    mkdirSync(join(dir, '2_Dense'));
    writeFileSync(join(dir, '2_Dense', 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.from(weight.buffer), Buffer.from(bias.buffer)]));
    writeFileSync(
      join(dir, '2_Dense', 'config.json'),
      JSON.stringify({ in_features: 32, out_features: out, bias: true, activation_function: 'torch.nn.modules.activation.Tanh' }),
    );
    const modules = JSON.parse(readFileSync(join(dir, 'modules.json'), 'utf8')) as object[];
    modules.push({ idx: modules.length, name: String(modules.length), path: '2_Dense', type: 'sentence_transformers.models.Dense' });
    writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
    const dense = await loadModelFromDir(dir);
    assert.equal(dense.dimension, out);
    const got = await dense.encode(texts.slice(0, 3));
    for (let r = 0; r < 3; r++) for (let i = 0; i < out; i++) assert.ok(Math.abs(got.get(r, i) - Math.tanh(2 * base.get(r, i) + 0.5)) < 1e-5);
    await dense.dispose();
  });
});

describe('bad model folders and inputs give coded errors that name the file or field', () => {
  test('missing folder, missing or malformed configs, unknown model type and pooling', async () => {
    await assert.rejects(loadModel('/nonexistent/semsearch-model'), { code: 'MODEL_NOT_FOUND' });

    let dir = variantDir('bert');
    rmSync(join(dir, 'config.json'));
    await assert.rejects(loadModelFromDir(dir), (e: { code: string; file: string }) => e.code === 'CONFIG_MISSING' && e.file.endsWith('config.json'));

    dir = variantDir('bert');
    writeFileSync(join(dir, 'modules.json'), '[{"idx": 0,');
    await assert.rejects(loadModelFromDir(dir), (e: { code: string; file: string }) => e.code === 'CONFIG_INVALID' && e.file.endsWith('modules.json'));

    dir = variantDir('bert');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'gpt2' }));
    await assert.rejects(loadModelFromDir(dir), { code: 'UNSUPPORTED_MODEL', field: 'model_type' });

    dir = variantDir('bert');
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ embedding_dimension: 32, pooling_mode: 'median' }));
    await assert.rejects(loadModelFromDir(dir), { code: 'UNSUPPORTED_POOLING', field: 'pooling_mode' });

    dir = variantDir('bert');
    writeFileSync(join(dir, 'config_sentence_transformers.json'), JSON.stringify({ similarity_fn_name: 'jaccard' }));
    await assert.rejects(loadModelFromDir(dir), { code: 'CONFIG_INVALID', field: 'similarity_fn_name' });
  });

  test('missing or corrupt ONNX files, and an unknown variant', async () => {
    let dir = variantDir('distilbert');
    await assert.rejects(
      loadModelFromDir(dir, { variant: 'O4' }),
      (e: { code: string; file: string; message: string }) =>
        e.code === 'ONNX_MISSING' && e.file.endsWith('model_O4.onnx') && /has the ONNX variants \(default\), qint8_arm64, qint8_avx512, qint8_avx512_vnni, quint8_avx2 \(pass one/.test(e.message),
    );
    dir = variantDir('distilbert');
    writeFileSync(join(dir, 'onnx', 'model.onnx'), 'this is not a protobuf');
    await assert.rejects(loadModelFromDir(dir), (e: Error & { code: string }) => e.code === 'ONNX_INVALID' && !/\n\s+at /.test(e.message));
    await assert.rejects(loadModelFromDir(variantDir('distilbert'), { variant: '../x' }), { code: 'INVALID_ARGUMENT', field: 'variant' });
  });

  test('non-string inputs, an empty list, a bad batch size and a disposed model', async () => {
    const model = await loadModelFromDir(variantDir('mpnet'));
    await assert.rejects(model.encode([]), { code: 'EMPTY_INPUT' });
    await assert.rejects(model.encode(['ok', 3 as unknown as string]), { code: 'INVALID_ARGUMENT', field: 'texts[1]' });
    await assert.rejects(model.encode(null as unknown as string), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(model.encode(['x'], { batchSize: 0 }), { code: 'INVALID_ARGUMENT', field: 'batchSize' });
    await assert.rejects(model.encode(['x'], { precision: 'int4' as 'int8' }), { code: 'INVALID_ARGUMENT', field: 'precision' });
    await model.dispose();
    await assert.rejects(model.encode(['x']), { code: 'MODEL_DISPOSED' });
  });
});
