import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSemsearchError } from '../errors.js';
import { cudaInstallCommand, cudaStatus } from '../model/device.js';
import { createServer } from '../server/server.js';
import { openIndex } from '../store/search-index.js';
import { runCaptured, type CliRun } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const CE = fileURLToPath(new URL('../model/fixtures/cross-encoders/bert-1', import.meta.url));
const run = (argv: string[], stdin = ''): Promise<CliRun> => runCaptured(argv, { stdin });
const NO_CUDA = cudaStatus().available ? "this machine has ONNX Runtime's CUDA provider installed; its absence cannot be shown here" : false;

const tmp = mkdtempSync(join(tmpdir(), 'semsearch-cli-device-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A small index built on the CPU, for the commands that open one. */
async function smallIndex(): Promise<string> {
  const corpus = join(tmp, 'corpus.tsv');
  writeFileSync(corpus, ['1\tLondon is the capital of England', '2\tParis is the capital of France', '3\tThe Thames flows through London'].join('\n') + '\n');
  const out = join(tmp, 'index');
  const r = await run(['index', corpus, '-m', BERT, '-o', out, '--device', 'cpu', '--threads', '1']);
  assert.equal(r.code, 0, r.err);
  return out;
}

test('--device is offered by every command that loads a model, and takes cpu or cuda only', async () => {
  for (const command of ['index', 'add', 'search', 'encode', 'eval', 'mine', 'serve']) {
    const help = await run([command, '--help']);
    assert.match(help.out, /--device <cpu\|cuda>/, command);
  }
  for (const bad of ['gpu', 'CUDA', 'cuda ', '0']) {
    const r = await run(['encode', '-m', BERT, '--device', bad, 'x']);
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /INVALID_ARGUMENT: --device must be one of cpu, cuda, got /, bad);
  }
  const j = await run(['encode', '-m', BERT, '--device', 'gpu', '--json', 'x']);
  assert.equal((JSON.parse(j.err) as { error: { field: string } }).error.field, '--device');
  const cpu = await run(['encode', '-m', BERT, '--device', 'cpu', 'x']);
  const plain = await run(['encode', '-m', BERT, 'x']);
  assert.equal(cpu.code, 0, cpu.err);
  assert.equal(cpu.out, plain.out);
});

test('--device cuda without ONNX Runtime\'s CUDA provider: DEVICE_UNAVAILABLE from each command, naming the install command', { skip: NO_CUDA }, async () => {
  const index = await smallIndex();
  const corpus = join(tmp, 'more.tsv');
  writeFileSync(corpus, '4\tBerlin is the capital of Germany\n');
  const runs: [string, string[]][] = [
    ['encode', ['encode', '-m', BERT, '--device', 'cuda', 'x']],
    ['index', ['index', corpus, '-m', BERT, '-o', join(tmp, 'index-cuda'), '--device', 'cuda']],
    ['add', ['add', index, corpus, '--device', 'cuda']],
    ['search', ['search', index, 'capital', '--device', 'cuda']],
    ['search --cross-encoder', ['search', index, 'capital', '--cross-encoder', CE, '--device', 'cuda']],
    ['serve', ['serve', index, '--port', '0', '--device', 'cuda']],
  ];
  for (const [name, argv] of runs) {
    const r = await run(argv);
    assert.equal(r.code, 1, `${name}: ${r.err}`);
    assert.match(r.err, /DEVICE_UNAVAILABLE: device 'cuda' was asked for, but /, name);
    assert.ok(r.err.includes(cudaInstallCommand()), `${name}: ${r.err}`);
    assert.doesNotMatch(r.out, /listening/, name);
  }
  // The index asked of CUDA was never started, and the one built on the CPU is unchanged.
  const s = await run(['search', index, 'capital', '--json']);
  assert.equal(s.code, 0, s.err);
  assert.equal((JSON.parse(s.out) as { hits: unknown[] }).hits.length, 3);
});

test('semsearch doctor names the devices: the CPU, and CUDA with why it is or is not available', async () => {
  const d = await run(['doctor']);
  assert.equal(d.code, 0, d.err);
  const status = cudaStatus();
  if (status.available) assert.match(d.out, /^devices {6}cpu: yes; cuda: yes, ONNX Runtime's CUDA provider is in /m);
  else {
    assert.match(d.out, /^devices {6}cpu: yes; cuda: no: /m);
    assert.ok(d.out.includes(cudaInstallCommand()), d.out);
  }
  const j = JSON.parse((await run(['doctor', '--json'])).out) as { devices: { cpu: { available: boolean }; cuda: { available: boolean; missing: string[]; reason?: string; install?: string } } };
  assert.equal(j.devices.cpu.available, true);
  assert.equal(j.devices.cuda.available, status.available);
  assert.deepEqual(j.devices.cuda.missing, status.missing);
  if (!status.available) {
    assert.equal(j.devices.cuda.reason, status.reason);
    assert.equal(j.devices.cuda.install, cudaInstallCommand());
  }
});

test('the library entry points that load a model take device too: openIndex, and createServer before it listens', async () => {
  const index = await smallIndex();
  await assert.rejects(createServer({ index, device: 'gpu' as 'cpu' }), (e: unknown) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'device');
  await assert.rejects(openIndex(index, { device: 'GPU' as 'cpu' }), (e: unknown) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'device');
  if (NO_CUDA === false) {
    await assert.rejects(createServer({ index, device: 'cuda' }), { code: 'DEVICE_UNAVAILABLE' });
    await assert.rejects(openIndex(index, { device: 'cuda' }), { code: 'DEVICE_UNAVAILABLE' });
  }
  const opened = await openIndex(index, { device: 'cpu' });
  // The fixture model is tiny and untrained: the hit is not the answer, but there is one.
  assert.equal((await opened.search('capital of France', 1))[0]?.length, 1);
  await opened.close();
});
