import { DEVICES } from '../model/device.js';
import type { OptionSpec } from './command.js';

// Options several commands share, declared once so they read and check the same everywhere.

/** --url wherever a cluster is named: one node's address, or several comma-separated, which share the requests. */
export const URL_DESCRIPTION =
  "opensearch: the cluster's address, e.g. http://127.0.0.1:9200 (OpenSearch's usual port; npm run cluster's test cluster listens on 9250), or several nodes comma-separated (http://10.0.0.1:9200,http://10.0.0.2:9200), which share the requests";

export const MODEL_OPTION = { type: 'string', short: 'm', description: 'model folder or hub name (required)' } as const satisfies OptionSpec;

export const VARIANT_OPTION = {
  type: 'string',
  description: "ONNX variant: 'int8' for the quantized file accurate on this CPU, or a hub variant such as O2 or quint8_avx2",
} as const satisfies OptionSpec;

export const BATCH_SIZE_OPTION = { type: 'number', description: 'texts per forward pass (default 32)', positiveInteger: true } as const satisfies OptionSpec;

export const THREADS_OPTION = { type: 'number', description: 'ONNX Runtime threads (default: one per core)', positiveInteger: true } as const satisfies OptionSpec;

export const DEVICE_OPTION = {
  type: 'string',
  description: "where ONNX Runtime runs the model: cpu (default) or cuda (an NVIDIA GPU; needs ONNX Runtime's CUDA provider, see README \"GPU (CUDA)\")",
  choices: DEVICES,
} as const satisfies OptionSpec;

/** `--device`, as the options of loadModel / loadCrossEncoder / openIndex take it (absent: the CPU). */
export function deviceOption(values: { device?: 'cpu' | 'cuda' | undefined }): { device?: 'cpu' | 'cuda' } {
  return values.device !== undefined ? { device: values.device } : {};
}

export const EXACT_OPTION = { type: 'boolean', description: 'scan every vector even when the index has an HNSW graph' } as const satisfies OptionSpec;
export const RESCORE_MULTIPLIER_OPTION = {
  type: 'number',
  description: 'binary indexes: hamming candidates rescored per hit (default 4); more find more of the float top-k',
  positiveInteger: true,
} as const satisfies OptionSpec;
export const EF_OPTION = {
  type: 'number',
  description: 'indexes with an HNSW graph: search expansion per query (default: the graph\'s own); higher is slower and closer to exact',
  positiveInteger: true,
} as const satisfies OptionSpec;

export const NPROBE_OPTION = {
  type: 'number',
  description: 'binary indexes with IVF lists: lists scanned per query (default: the lists\' own); the index\'s nlist gives the exact hits',
  positiveInteger: true,
} as const satisfies OptionSpec;

/** Where an index lives: a local folder (default) or an OpenSearch index that `semsearch push` filled. */
export const BACKEND_OPTIONS = {
  backend: { type: 'string', description: 'local (default: the index folder) or opensearch (with --url and --index-name)', choices: ['local', 'opensearch'] },
  url: { type: 'string', description: URL_DESCRIPTION },
  'index-name': { type: 'string', description: 'opensearch: the index name' },
  oversample: { type: 'number', description: 'opensearch: candidates asked of each shard per hit (default 10)', positiveInteger: true },
  rescore: { type: 'boolean', description: "opensearch: rescore the candidates with semsearch's own arithmetic, so scores equal the local index's" },
} as const satisfies Record<string, OptionSpec>;

/**
 * --cross-encoder wherever a cross-encoder is named (search, serve, eval, mine): a folder or hub name. Commands add
 * their own description of what it does there, and their old spelling as a deprecated alias.
 */
export const CROSS_ENCODER_OPTION = { type: 'string', description: 'a cross-encoder (folder or hub name)' } as const satisfies OptionSpec;

/** -o, --out for every output a command writes (an index folder, a JSONL or run file). */
export const OUT_OPTION = { type: 'string', short: 'o', description: 'write the output here' } as const satisfies OptionSpec;
