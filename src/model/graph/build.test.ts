// ONNX graphs built in TypeScript from a checkpoint (config.json + model.safetensors), against sentence-transformers
// on torch: the BERT fixture's weights (tools/reference/fixture_weights.py) with every pooling variant, no onnx/ folder.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { isSemsearchError } from '../../errors.js';
import { loadModelFromDir } from '../../encoder/load-model.js';
import { decodeMatrix, FIXTURES, materializeVariant, maxAbsDiff, readTexts, readVectors, rowCosine, VARIANTS } from '../../encoder/test-support/fixtures.js';
import { buildOnnx, builtOnnxFile, INT8_FILES, int8KindFor } from './build.js';
import { detectCpu } from '../../cpu/features.js';
import { isAccurateOn } from '../../cpu/int8.js';
import type { Matrix } from '../../tensor/matrix.js';
import { readSafetensors } from './safetensors.js';
import { runCaptured } from '../../cli/test-support/run-cli.js';

const texts = readTexts();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-graph-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A variant folder as `SentenceTransformer.save()` leaves it: weights, configs, tokenizer, and no onnx/. */
function withoutOnnx(variant: string, arch: 'bert' | 'distilbert' | 'mpnet' = 'bert'): string {
  const { dir, cleanup } = materializeVariant(arch, variant);
  cleanups.push(cleanup);
  rmSync(join(dir, 'onnx'), { recursive: true, force: true });
  return dir;
}

/** A safetensors file of the given float32 tensors (the format's header, then the bytes). */
function writeSafetensors(file: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + t.data.length * 4] };
    at += t.data.length * 4;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, ...[...tensors.values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]));
}

describe('a BERT, DistilBERT or MPNet graph built from its checkpoint', () => {
  const ref = readVectors('bert');
  const cache = scratch();
  // loadModel's builds go to a scratch cache, not the user's.
  process.env['SEMSEARCH_BUILD_CACHE'] = scratch();

  for (const arch of ['bert', 'distilbert', 'mpnet'] as const) for (const variant of VARIANTS) {
    test(`${arch} ${variant}: no onnx/ folder, embeddings within 1e-5 of sentence-transformers (torch) at batch sizes 1, 3 and 32`, async () => {
      const vectors = readVectors(arch);
      const model = await loadModelFromDir(withoutOnnx(variant, arch), { workers: 1 });
      try {
        assert.equal(model.onnxChoice.requested, 'built');
        for (const bs of ['1', '3', '32']) {
          const want = decodeMatrix(vectors.embeddings[variant]?.torch[bs] as Parameters<typeof decodeMatrix>[0]);
          const got = await model.encode(texts, { batchSize: Number(bs) });
          const d = maxAbsDiff(got, want);
          assert.ok(d <= 1e-5, `batch ${bs}: max |diff| ${d}`);
        }
      } finally {
        await model.dispose();
      }
    });
  }

  test("mpnet with config.json's pad_token_id 0 or 5: the same embeddings (transformers' MPNet counts positions past id 1 whatever the config says)", async () => {
    const want = decodeMatrix(readVectors('mpnet').embeddings['mean-norm']?.torch['32'] as Parameters<typeof decodeMatrix>[0]);
    for (const pad of [0, 5]) {
      const dir = withoutOnnx('mean-norm', 'mpnet');
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, pad_token_id: pad }));
      const model = await loadModelFromDir(dir, { workers: 1 });
      try {
        const d = maxAbsDiff(await model.encode(texts), want);
        assert.ok(d <= 1e-5, `pad_token_id ${pad}: max |diff| ${d}`);
      } finally {
        await model.dispose();
      }
    }
  });

  test('the graph is built once per checkpoint (keyed by the sha256 of config.json and the weights), and again when they change', () => {
    const dir = withoutOnnx('mean-norm');
    const first = builtOnnxFile(dir, cache);
    const at = statSync(first).mtimeMs;
    assert.equal(builtOnnxFile(dir, cache), first, 'the same file');
    assert.equal(statSync(first).mtimeMs, at, 'not written again');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, layer_norm_eps: 1e-6 }));
    assert.notEqual(builtOnnxFile(dir, cache), first, 'a changed config is a new build');
  });

  test('ONNX Runtime loads the serialised model with every graph optimisation, and names its inputs and output', async () => {
    const bytes = buildOnnx(withoutOnnx('mean-norm'));
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
    assert.deepEqual([...session.inputNames].sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
    assert.deepEqual([...session.outputNames], ['last_hidden_state']);
    await session.release();
  });

  test('semsearch export writes onnx/model.onnx, which loads as the folder\'s own export; an existing one needs --force', async () => {
    const dir = withoutOnnx('mean-norm');
    const r = await runCaptured(['export', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /onnx\/model\.onnx/);
    const model = await loadModelFromDir(dir, { workers: 1 });
    try {
      assert.equal(model.onnxChoice.requested, 'default', 'the written file, not a build');
      const want = decodeMatrix(ref.embeddings['mean-norm']?.torch['32'] as Parameters<typeof decodeMatrix>[0]);
      assert.ok(maxAbsDiff(await model.encode(texts), want) <= 1e-5);
    } finally {
      await model.dispose();
    }
    const again = await runCaptured(['export', dir]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already exists; pass --force/);
    assert.equal((await runCaptured(['export', dir, '--force'])).code, 0);
    const int8 = await runCaptured(['export', dir, '--force', '--int8', '--json']);
    assert.equal(int8.code, 0, int8.err);
    const written = (JSON.parse(int8.out) as { file: string }[]).map((w) => w.file.slice(dir.length + 1));
    assert.deepEqual(written, ['onnx/model.onnx', `onnx/model_${INT8_FILES[int8KindFor(detectCpu().isa)]}.onnx`]);
    const q = await loadModelFromDir(dir, { workers: 1, variant: 'int8' });
    assert.equal(q.onnxFile, join(dir, written[1] as string), "variant 'int8' loads the written file");
    await q.dispose();
  });

  test('semsearch export --int8 after export adds the int8 file without --force, and refuses only to replace an existing int8 file', async () => {
    const dir = withoutOnnx('mean-norm');
    assert.equal((await runCaptured(['export', dir])).code, 0);
    const fp32 = join(dir, 'onnx', 'model.onnx');
    const before = readFileSync(fp32);
    const at = statSync(fp32).mtimeMs;
    const int8Name = `onnx/model_${INT8_FILES[int8KindFor(detectCpu().isa)]}.onnx`;
    const r = await runCaptured(['export', dir, '--int8', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as { file: string }).file.slice(dir.length + 1), int8Name, 'only the int8 file is written');
    assert.ok(existsSync(join(dir, int8Name)));
    assert.equal(statSync(fp32).mtimeMs, at, 'onnx/model.onnx is left as it was');
    assert.ok(readFileSync(fp32).equals(before));
    const again = await runCaptured(['export', dir, '--int8']);
    assert.equal(again.code, 2);
    assert.match(again.err, new RegExp(`${int8Name.replace('.', '\\.')} already exists; pass --force`));
  });

  for (const arch of ['bert', 'distilbert', 'mpnet'] as const) {
    test(`${arch}: dynamic int8 of the built graph, signed and unsigned weights, cosine ≥ 0.99 to torch fp32; variant 'int8' builds it for this CPU`, async () => {
      const want = decodeMatrix(readVectors(arch).embeddings['mean-norm']?.torch['32'] as Parameters<typeof decodeMatrix>[0]);
      const minCosine = (got: Matrix): number => {
        let min = 1;
        for (let r = 0; r < got.rows; r++) min = Math.min(min, rowCosine(got.row(r), want.row(r)));
        return min;
      };
      const dir = withoutOnnx('mean-norm', arch);
      mkdirSync(join(dir, 'onnx'));
      for (const kind of ['s8', 'u8'] as const) {
        writeFileSync(join(dir, 'onnx', `model_${INT8_FILES[kind]}.onnx`), buildOnnx(dir, { int8: kind }));
        const model = await loadModelFromDir(dir, { workers: 1, variant: INT8_FILES[kind], onWarning: () => undefined });
        const c = minCosine(await model.encode(texts));
        await model.dispose();
        // As for the hub's files: signed weights drift on AVX2 (src/cpu/int8.ts), so there only that they run.
        if (isAccurateOn(INT8_FILES[kind], detectCpu().isa)) assert.ok(c >= 0.99, `${kind}: min cosine to fp32 ${c}`);
        else assert.ok(Number.isFinite(c), `${kind}: runs`);
      }
      const model = await loadModelFromDir(withoutOnnx('mean-norm', arch), { workers: 1, variant: 'int8' });
      try {
        assert.equal(model.onnxChoice.requested, 'built-int8');
        assert.match(model.onnxFile, new RegExp(`model_${INT8_FILES[int8KindFor(detectCpu().isa)]}\\.onnx$`));
        const c = minCosine(await model.encode(texts));
        assert.ok(c >= 0.99, `variant int8: min cosine to fp32 ${c}`);
      } finally {
        await model.dispose();
      }
    });
  }

  test('sharded weights (model.safetensors.index.json and its shards) build the same graph as one file', () => {
    const dir = withoutOnnx('mean-norm');
    const weights = readSafetensors(join(dir, 'model.safetensors'));
    const names = [...weights.keys()];
    const halves = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
    const map: Record<string, string> = {};
    halves.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), new Map(part.map((n) => [n, weights.get(n) as { shape: number[]; data: Float32Array }])));
      for (const n of part) map[n] = file;
    });
    const single = buildOnnx(dir);
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
    assert.deepEqual(buildOnnx(dir), single);
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    assert.throws(() => buildOnnx(dir), (e) => isSemsearchError(e, 'MODEL_NOT_FOUND') && /model-00002-of-00002/.test(e.message));
  });

  test('bad checkpoints: a missing tensor, a wrong shape, an architecture not built, only pytorch_model.bin', () => {
    const weights = readSafetensors(join(FIXTURES, 'models', 'bert', 'model.safetensors'));
    const missing = withoutOnnx('mean-norm');
    const less = new Map(weights);
    less.delete('encoder.layer.1.attention.self.key.weight');
    writeSafetensors(join(missing, 'model.safetensors'), less);
    assert.throws(() => buildOnnx(missing), (e) => isSemsearchError(e, 'CONFIG_INVALID') && e.field === 'encoder.layer.1.attention.self.key.weight');

    const shaped = withoutOnnx('mean-norm');
    const wrong = new Map(weights);
    wrong.set('encoder.layer.0.intermediate.dense.weight', { shape: [63, 32], data: new Float32Array(63 * 32) });
    writeSafetensors(join(shaped, 'model.safetensors'), wrong);
    assert.throws(() => buildOnnx(shaped), (e) => isSemsearchError(e, 'CONFIG_INVALID') && /\[63, 32\]/.test(e.message));

    const other = withoutOnnx('mean-norm');
    const config = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(other, 'config.json'), JSON.stringify({ ...config, model_type: 'deberta-v2' }));
    assert.throws(() => buildOnnx(other), (e) => isSemsearchError(e, 'UNSUPPORTED_MODEL') && e.field === 'model_type' && /"deberta-v2"/.test(e.message));

    const pickle = withoutOnnx('mean-norm');
    rmSync(join(pickle, 'model.safetensors'));
    writeFileSync(join(pickle, 'pytorch_model.bin'), 'not read');
    assert.throws(() => buildOnnx(pickle), (e) => isSemsearchError(e, 'UNSUPPORTED_MODEL') && /pytorch_model\.bin/.test(e.message));

    const nothing = scratch();
    cpSync(join(FIXTURES, 'models', 'bert', 'config.json'), join(nothing, 'config.json'));
    assert.throws(() => buildOnnx(nothing), (e) => isSemsearchError(e, 'ONNX_MISSING'));
    assert.ok(!existsSync(join(nothing, 'onnx')), 'nothing written into the folder');
  });
});
