import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { commitIdOf, readFolder, type Files, type FixtureRepo } from './hub-server.js';

/**
 * A small fake sentence-transformers repo laid out like msmarco-distilbert-dot-v5 with its ONNX exports: real
 * configs, a toy tokenizer, and pseudo-random bytes standing in for the ONNX graphs and weights. Written to a
 * folder first, so tests can also load it as a local folder and compare bytes.
 */
export const FIXTURE_ID = 'sentence-transformers/msmarco-fixture-dot-v5';

/** Deterministic bytes, so the fixture has the same hashes and commit on every run and in every process. */
export function pseudoRandomBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export interface FixtureOptions {
  /** Size of onnx/model.onnx (default 96 kB): large enough to be slowed down and cut in the middle. */
  onnxBytes?: number;
  /** More files for the repo, e.g. the hub's quantized ONNX exports. */
  extraFiles?: Record<string, Buffer>;
}

export function fixtureFiles(options: FixtureOptions = {}): Record<string, string | Buffer> {
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  return {
    ...options.extraFiles,
    '.gitattributes': '*.onnx filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n',
    'README.md': '# msmarco-fixture-dot-v5\nA test fixture.\n',
    'modules.json': json([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' },
      { idx: 3, name: '3', path: '3_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]),
    'config_sentence_transformers.json': json({ __version__: { sentence_transformers: '2.2.0' }, similarity_fn_name: 'dot' }),
    'sentence_bert_config.json': json({ max_seq_length: 512, do_lower_case: false }),
    'config.json': json({ model_type: 'distilbert', dim: 8, n_layers: 1, vocab_size: 12 }),
    'tokenizer.json': json({ version: '1.0', model: { type: 'WordPiece', vocab: { '[PAD]': 0, '[UNK]': 1 } } }),
    'tokenizer_config.json': json({ do_lower_case: true, model_max_length: 512 }),
    'special_tokens_map.json': json({ unk_token: '[UNK]', pad_token: '[PAD]' }),
    'vocab.txt': '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nquick\nbrown\nfox\n##es\njump\n.\n',
    '1_Pooling/config.json': json({ word_embedding_dimension: 8, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }),
    '2_Dense/config.json': json({ in_features: 8, out_features: 4, bias: true, activation_function: 'torch.nn.modules.linear.Identity' }),
    '2_Dense/model.safetensors': pseudoRandomBytes(1500, 'dense-safetensors'),
    '2_Dense/pytorch_model.bin': pseudoRandomBytes(1600, 'dense-bin'),
    'model.safetensors': pseudoRandomBytes(20_000, 'transformer-safetensors'),
    'pytorch_model.bin': pseudoRandomBytes(21_000, 'transformer-bin'),
    'onnx/model.onnx': pseudoRandomBytes(options.onnxBytes ?? 96_000, 'onnx-model'),
    'onnx/model_qint8_avx2.onnx': pseudoRandomBytes(9_000, 'onnx-qint8'),
    'onnx/model_O4.onnx': pseudoRandomBytes(4_000, 'onnx-o4'),
    'onnx/model_O4.onnx_data': pseudoRandomBytes(12_000, 'onnx-o4-data'),
    'openvino/openvino_model.xml': '<net/>\n',
  };
}

/** The files semsearch must fetch for the default variant, and the ones it must leave on the hub. */
export const NEEDED_DEFAULT = [
  'modules.json',
  'config_sentence_transformers.json',
  'sentence_bert_config.json',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  '1_Pooling/config.json',
  '2_Dense/config.json',
  '2_Dense/model.safetensors',
  'onnx/model.onnx',
];
export const NEVER_FETCHED = ['model.safetensors', 'pytorch_model.bin', '2_Dense/pytorch_model.bin', 'openvino/openvino_model.xml', 'README.md'];

export function writeFolder(dir: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    const full = join(dir, ...p.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

export interface Fixture {
  repo: FixtureRepo;
  /** The model folder the repo was built from (the main branch). */
  dir: string;
  /** Commit of `main`. */
  commit: string;
  /** Commit of tag `v1.0`: an older config.json. */
  oldCommit: string;
  files: Files;
}

export function makeFixture(root: string, options: FixtureOptions & { id?: string; private?: boolean } = {}): Fixture {
  const dir = join(root, 'fixture-model');
  writeFolder(dir, fixtureFiles(options));
  const files = readFolder(dir);
  const old: Files = new Map(files);
  old.set('config.json', Buffer.from('{"model_type": "distilbert", "dim": 8, "n_layers": 1, "vocab_size": 10}\n'));
  const commit = commitIdOf(files);
  const oldCommit = commitIdOf(old);
  const repo: FixtureRepo = {
    id: options.id ?? FIXTURE_ID,
    commits: new Map([
      [commit, files],
      [oldCommit, old],
    ]),
    refs: new Map([
      ['main', commit],
      ['v1.0', oldCommit],
    ]),
    ...(options.private === undefined ? {} : { private: options.private }),
  };
  return { repo, dir, commit, oldCommit, files };
}
