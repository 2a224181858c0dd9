import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCpu } from '../src/cpu/features.js';
import { chooseInt8Variant } from '../src/cpu/int8.js';
import { variantsInFolder } from '../src/hub/model-files.js';

/** One model of the benchmark: where it lives and the shape that sets its cost. */
export interface BenchModel {
  name: string;
  label: string;
  dir: string;
  randomWeights: boolean;
  arch: string;
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  maxSeqLength: number;
  pooling: string;
  normalize: boolean;
  /** ONNX files present, relative to dir. */
  /** int8: the quantized file semsearch's variant 'int8' takes on this CPU (null when none is accurate here). */
  files: { fp32: string; int8: string | null };
}

export const BENCH_MODEL_NAMES = ['minilm-l6', 'minilm-l12', 'distilbert', 'bert-base', 'mpnet-base'] as const;
export const REAL_MODEL_NAME = 'all-MiniLM-L6-v2';

const LABELS: Record<string, string> = {
  'all-MiniLM-L6-v2': 'all-MiniLM-L6-v2 (real weights, BERT 6x384)',
  'minilm-l6': 'MiniLM-L6 (BERT 6x384)',
  'minilm-l12': 'MiniLM-L12 (BERT 12x384)',
  distilbert: 'DistilBERT (6x768)',
  'bert-base': 'BERT-base (12x768)',
  'mpnet-base': 'MPNet-base (12x768)',
};

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Read a model folder's shape from its own files; null when the folder or its ONNX export is missing. */
export function describeModel(name: string, dir: string, randomWeights: boolean): BenchModel | null {
  if (!existsSync(join(dir, 'onnx', 'model.onnx')) || !existsSync(join(dir, 'config.json'))) return null;
  const c = readJson(join(dir, 'config.json'));
  const num = (...keys: string[]): number => {
    for (const k of keys) if (typeof c[k] === 'number') return c[k] as number;
    return Number.NaN;
  };
  const st = existsSync(join(dir, 'sentence_bert_config.json')) ? readJson(join(dir, 'sentence_bert_config.json')) : {};
  const poolingFile = join(dir, '1_Pooling', 'config.json');
  const p = existsSync(poolingFile) ? readJson(poolingFile) : {};
  const pooling = typeof p['pooling_mode'] === 'string' ? (p['pooling_mode'] as string) : p['pooling_mode_cls_token'] === true ? 'cls' : 'mean';
  const modules = existsSync(join(dir, 'modules.json')) ? (JSON.parse(readFileSync(join(dir, 'modules.json'), 'utf8')) as { type: string }[]) : [];
  // The file semsearch's variant 'int8' takes on this CPU, so the bench measures what a user gets here.
  const offered = variantsInFolder(dir);
  let int8: string | null = null;
  try {
    int8 = join('onnx', `model_${chooseInt8Variant(offered, detectCpu(), dir).variant}.onnx`);
  } catch {
    int8 = null;
  }
  return {
    name,
    label: LABELS[name] ?? name,
    dir,
    randomWeights,
    arch: String(c['model_type']),
    layers: num('num_hidden_layers', 'n_layers'),
    hidden: num('hidden_size', 'dim'),
    intermediate: num('intermediate_size', 'hidden_dim'),
    heads: num('num_attention_heads', 'n_heads'),
    maxSeqLength: typeof st['max_seq_length'] === 'number' ? (st['max_seq_length'] as number) : 512,
    pooling,
    normalize: modules.some((m) => m.type.endsWith('Normalize')),
    files: { fp32: join('onnx', 'model.onnx'), int8 },
  };
}

/**
 * Multiply-add work of the encoder layers for one sequence of `len` tokens, counted as 2 flops per
 * multiply-add: Q, K, V and output projections (4·L·h²), the FFN (2·L·h·i), scores and weighted values
 * (2·L²·h), all times 2 flops and the layer count. Embeddings, LayerNorm, softmax and pooling are left out
 * (under 1% here).
 */
export function sequenceFlops(m: Pick<BenchModel, 'layers' | 'hidden' | 'intermediate'>, len: number): number {
  const h = m.hidden;
  return m.layers * 2 * (4 * len * h * h + 2 * len * h * m.intermediate + 2 * len * len * h);
}

/** FLOPs of a workload: as computed (padded batches, sorted as the library sorts) and the useful part (real tokens). */
export function workloadFlops(m: BenchModel, lengths: readonly number[], batchSize: number, sorted: boolean): { padded: number; useful: number; paddedTokens: number; tokens: number } {
  const order = sorted ? [...lengths].sort((a, b) => b - a) : [...lengths];
  let padded = 0;
  let useful = 0;
  let paddedTokens = 0;
  let tokens = 0;
  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize);
    const L = Math.max(...batch);
    padded += batch.length * sequenceFlops(m, L);
    paddedTokens += batch.length * L;
    for (const l of batch) {
      useful += sequenceFlops(m, l);
      tokens += l;
    }
  }
  return { padded, useful, paddedTokens, tokens };
}
