import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSemsearchError } from '../errors.js';
import { CUDA_INSTALL_COMMAND, cudaInstallCommand, cudaStatus, setProviderFolderForTests } from '../model/device.js';
import { loadCrossEncoder, loadCrossEncoderFromDir } from './cross-encoder.js';
import { loadModel, loadModelFromDir } from './load-model.js';
import { materializeCrossEncoder, materializeVariant, maxAbsDiff, readTexts } from './test-support/fixtures.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function bertDir(): string {
  const { dir, cleanup } = materializeVariant('bert', 'mean-norm');
  cleanups.push(cleanup);
  return dir;
}

function crossDir(): string {
  const { dir, cleanup } = materializeCrossEncoder('bert-1');
  cleanups.push(cleanup);
  return dir;
}

const CUDA = cudaStatus();
const NO_CUDA = CUDA.available ? 'this machine has ONNX Runtime\'s CUDA provider installed; the error paths for its absence cannot be shown here' : false;
const HAS_CUDA = CUDA.available ? false : `skipped: ONNX Runtime's CUDA provider is not installed here (${CUDA.reason ?? ''}); run \`${CUDA_INSTALL_COMMAND}\` on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9 to run it`;

// A hub name that is in no cache: a device error must come before any attempt to fetch it.
const UNCACHED = 'semsearch-tests/not-a-cached-model';

describe('device: an explicit choice between the CPU and CUDA', () => {
  test('the install command names the onnxruntime-node this process loads, and is the documented one run from the project folder', () => {
    const cmd = cudaInstallCommand();
    assert.ok(cmd.startsWith('ONNXRUNTIME_NODE_INSTALL=cuda12 node /'), cmd);
    assert.ok(cmd.endsWith(join('onnxruntime-node', 'script', 'install')), cmd);
    assert.equal(CUDA_INSTALL_COMMAND, 'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install');
  });

  test('anything but "cpu" or "cuda" is INVALID_ARGUMENT naming the field, before a model is read or fetched', async () => {
    const dir = bertDir();
    for (const bad of ['gpu', 'CUDA ', 'CUDA', '', 0, 1, null, true]) {
      const isBad = (e: unknown): boolean => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'device' && e.message.includes('cpu, cuda');
      await assert.rejects(loadModelFromDir(dir, { device: bad as 'cpu' }), isBad, String(bad));
      await assert.rejects(loadModel(UNCACHED, { device: bad as 'cpu', localFilesOnly: true }), isBad, String(bad));
      await assert.rejects(loadCrossEncoder(UNCACHED, { device: bad as 'cpu', localFilesOnly: true }), isBad, String(bad));
    }
  });

  test("'cpu' is the default and gives the same embeddings as no device at all", async () => {
    const dir = bertDir();
    const texts = readTexts().slice(0, 6);
    const a = await loadModel(dir, { threads: 1, workers: 1 });
    const b = await loadModel(dir, { threads: 1, workers: 1, device: 'cpu' });
    assert.equal(maxAbsDiff(await a.encode(texts), await b.encode(texts)), 0);
    await a.dispose();
    await b.dispose();
  });

  test('CUDA where its provider is not installed: DEVICE_UNAVAILABLE naming the missing file, the install command and the README section', { skip: NO_CUDA }, async () => {
    assert.equal(CUDA.available, false);
    assert.ok(CUDA.reason !== undefined && CUDA.reason.length > 0);
    const dir = bertDir();
    const check = (e: unknown): boolean => {
      assert.ok(isSemsearchError(e, 'DEVICE_UNAVAILABLE'), String(e));
      assert.equal(e.field, 'device');
      assert.match(e.message, /libonnxruntime_providers_cuda\.so|no CUDA backend/);
      assert.ok(e.message.includes(cudaInstallCommand()), e.message);
      assert.ok(e.message.includes('README, "GPU (CUDA)"'), e.message);
      assert.match(e.message, /--device cpu/);
      return true;
    };
    // One session, a pool of worker sessions, and a cross-encoder, from a folder or (before any download) a name.
    await assert.rejects(loadModelFromDir(dir, { device: 'cuda', workers: 1 }), check);
    await assert.rejects(loadModelFromDir(dir, { device: 'cuda', workers: 2, threads: 2 }), check);
    await assert.rejects(loadModel(UNCACHED, { device: 'cuda' }), check);
    await assert.rejects(loadCrossEncoderFromDir(crossDir(), { device: 'cuda' }), check);
    await assert.rejects(loadCrossEncoder(UNCACHED, { device: 'cuda' }), check);
  });

  test('provider files present but unloadable (no CUDA, no cuDNN): the session failure is DEVICE_UNAVAILABLE naming the CUDA and cuDNN libraries', { skip: NO_CUDA }, async () => {
    // Stand-in provider files in another folder pass the check; ONNX Runtime then fails to load its real ones.
    const fake = mkdtempSync(join(tmpdir(), 'semsearch-fake-cuda-'));
    cleanups.push(() => rmSync(fake, { recursive: true, force: true }));
    for (const f of CUDA.files) writeFileSync(join(fake, f), '');
    setProviderFolderForTests(fake);
    try {
      assert.equal(cudaStatus().available, true);
      const dir = bertDir();
      await assert.rejects(loadModelFromDir(dir, { device: 'cuda', workers: 1 }), (e: unknown) => {
        assert.ok(isSemsearchError(e, 'DEVICE_UNAVAILABLE'), String(e));
        assert.match(e.message, /ONNX Runtime cannot start its CUDA provider/);
        assert.match(e.message, /cuDNN 9/);
        assert.ok(e.message.includes(cudaInstallCommand()));
        assert.ok(e.file?.endsWith('model.onnx'));
        return true;
      });
      await assert.rejects(loadCrossEncoderFromDir(crossDir(), { device: 'cuda', workers: 1 }), { code: 'DEVICE_UNAVAILABLE' });
    } finally {
      setProviderFolderForTests(undefined);
    }
  });

  test('on a GPU: CUDA embeddings and cross-encoder scores are within 1e-4 of the CPU', { skip: HAS_CUDA }, async () => {
    const dir = bertDir();
    const texts = readTexts();
    const cpu = await loadModel(dir, { device: 'cpu', workers: 1 });
    const gpu = await loadModel(dir, { device: 'cuda' });
    const diff = maxAbsDiff(await cpu.encode(texts, { batchSize: 7 }), await gpu.encode(texts, { batchSize: 7 }));
    assert.ok(diff <= 1e-4, `CUDA vs CPU max abs diff ${diff}`);
    await cpu.dispose();
    await gpu.dispose();
    const ceDir = crossDir();
    const pairs = texts.slice(0, 8).map((t, i): [string, string] => [t, texts[(i + 3) % texts.length] as string]);
    const ceCpu = await loadCrossEncoderFromDir(ceDir, { device: 'cpu', workers: 1 });
    const ceGpu = await loadCrossEncoderFromDir(ceDir, { device: 'cuda' });
    const ceDiff = maxAbsDiff(await ceCpu.predict(pairs), await ceGpu.predict(pairs));
    assert.ok(ceDiff <= 1e-4, `cross-encoder CUDA vs CPU max abs diff ${ceDiff}`);
    await ceCpu.dispose();
    await ceGpu.dispose();
  });
});
