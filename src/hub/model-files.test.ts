import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingForOffline, onnxFilePath, parseModules, selectModelFiles } from './model-files.js';
import { fixtureFiles, NEEDED_DEFAULT, NEVER_FETCHED } from './test-support/fixture.js';
import { isSemsearchError } from '../errors.js';

const listing = Object.keys(fixtureFiles({ onnxBytes: 10 }));
const modules = parseModules(String(fixtureFiles({ onnxBytes: 10 })['modules.json']), 'modules.json');

test('the default selection: configs, tokenizer, module folders, onnx/model.onnx; no transformer weights', () => {
  const files = selectModelFiles('o/n', listing, modules);
  assert.deepEqual([...files].sort(), [...NEEDED_DEFAULT].sort());
  for (const f of NEVER_FETCHED) assert.ok(!files.includes(f), f);
});

test('a variant picks onnx/model_<variant>.onnx, with its external data file when the repo has one', () => {
  const q = selectModelFiles('o/n', listing, modules, 'qint8_avx2');
  assert.ok(q.includes('onnx/model_qint8_avx2.onnx'));
  assert.ok(!q.includes('onnx/model.onnx'));
  const o4 = selectModelFiles('o/n', listing, modules, 'O4');
  assert.ok(o4.includes('onnx/model_O4.onnx') && o4.includes('onnx/model_O4.onnx_data'));
  assert.equal(onnxFilePath('qint8_avx512_vnni'), 'onnx/model_qint8_avx512_vnni.onnx');
  assert.equal(onnxFilePath(), 'onnx/model.onnx');
  assert.equal(onnxFilePath('default'), 'onnx/model.onnx');
});

test('a variant the repo lacks is HUB_NOT_FOUND naming the ones it has', () => {
  assert.throws(
    () => selectModelFiles('o/n', listing, modules, 'quint8_avx2'),
    (e) => isSemsearchError(e, 'HUB_NOT_FOUND') && e.message.includes('onnx/model_quint8_avx2.onnx') && e.message.includes('qint8_avx2, O4'),
  );
  assert.throws(
    () => selectModelFiles('o/n', ['config.json'], []),
    (e) => isSemsearchError(e, 'HUB_NOT_FOUND') && e.message.includes('no ONNX export'),
  );
  assert.throws(() => onnxFilePath('../x'), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test('an old-style repo with the transformer in a subfolder: its configs, never its weights', () => {
  const files = selectModelFiles(
    'o/n',
    ['modules.json', '0_Transformer/config.json', '0_Transformer/vocab.txt', '0_Transformer/pytorch_model.bin', '1_Pooling/config.json', 'onnx/model.onnx'],
    [
      { path: '0_Transformer', type: 'sentence_transformers.models.Transformer' },
      { path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ],
  );
  assert.deepEqual(files.sort(), ['0_Transformer/config.json', '0_Transformer/vocab.txt', '1_Pooling/config.json', 'modules.json', 'onnx/model.onnx']);
});

test('modules.json must be an array of {path, type} inside the model folder', () => {
  assert.throws(() => parseModules('{', 'm.json'), (e) => isSemsearchError(e, 'CONFIG_INVALID') && e.file === 'm.json');
  assert.throws(() => parseModules('{}', 'm.json'), (e) => isSemsearchError(e, 'CONFIG_INVALID'));
  assert.throws(() => parseModules('[{"path": 1}]', 'm.json'), (e) => isSemsearchError(e, 'CONFIG_INVALID'));
  assert.throws(() => parseModules('[{"path": "../x", "type": "t"}]', 'm.json'), (e) => isSemsearchError(e, 'CONFIG_INVALID'));
  assert.deepEqual(parseModules('[{"path": "./1_Pooling/", "type": "t"}]', 'm.json'), [{ path: '1_Pooling', type: 't' }]);
});

test('offline, a snapshot needs the ONNX file, config.json and a tokenizer', () => {
  const have = new Set(['config.json', 'tokenizer.json', 'onnx/model.onnx']);
  assert.deepEqual(missingForOffline((f) => have.has(f)), []);
  assert.deepEqual(missingForOffline((f) => have.has(f), 'O4'), ['onnx/model_O4.onnx']);
  assert.deepEqual(missingForOffline(() => false), ['onnx/model.onnx', 'config.json', 'tokenizer.json']);
});

test("variant 'int8' fetches only the quantized file accurate on the CPU given", () => {
  const hub = ['config.json', 'tokenizer.json', 'modules.json', 'onnx/model.onnx', 'onnx/model_qint8_avx512_vnni.onnx', 'onnx/model_qint8_avx512.onnx', 'onnx/model_quint8_avx2.onnx', 'onnx/model_qint8_arm64.onnx'];
  const onnxOf = (isa: 'avx512_vnni' | 'avx2' | 'arm64'): string[] => selectModelFiles('o/n', hub, [], 'int8', { isa }).filter((f) => f.startsWith('onnx/'));
  assert.deepEqual(onnxOf('avx512_vnni'), ['onnx/model_qint8_avx512_vnni.onnx']);
  assert.deepEqual(onnxOf('avx2'), ['onnx/model_quint8_avx2.onnx']);
  assert.deepEqual(onnxOf('arm64'), ['onnx/model_qint8_arm64.onnx']);
  assert.throws(
    () => selectModelFiles('o/n', ['config.json', 'onnx/model.onnx', 'onnx/model_qint8_avx512_vnni.onnx'], [], 'int8', { isa: 'avx2' }),
    (e) => isSemsearchError(e, 'ONNX_MISSING') && e.message.includes('o/n has no int8 ONNX file that is accurate on this CPU (avx2)'),
  );
  assert.throws(() => onnxFilePath('int8'), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test("offline with 'int8', any cached file accurate on the CPU will do; else the one built for it is missing", () => {
  const have = new Set(['config.json', 'tokenizer.json', 'onnx/model_qint8_avx512_vnni.onnx']);
  assert.deepEqual(missingForOffline((f) => have.has(f), 'int8', { isa: 'avx512_vnni' }), []);
  assert.deepEqual(missingForOffline((f) => have.has(f), 'int8', { isa: 'avx2' }), ['onnx/model_quint8_avx2.onnx']);
});
