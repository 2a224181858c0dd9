import type { OptionSpec } from './command.js';

// Options several commands share, declared once so they read and check the same everywhere.

export const MODEL_OPTION = { type: 'string', short: 'm', description: 'model folder or hub name (required)' } as const satisfies OptionSpec;

export const VARIANT_OPTION = {
  type: 'string',
  description: "ONNX variant: 'int8' for the quantized file accurate on this CPU, or a hub variant such as O2 or quint8_avx2",
} as const satisfies OptionSpec;

export const BATCH_SIZE_OPTION = { type: 'number', description: 'texts per forward pass (default 32)', positiveInteger: true } as const satisfies OptionSpec;

export const THREADS_OPTION = { type: 'number', description: 'ONNX Runtime threads (default: one per core)', positiveInteger: true } as const satisfies OptionSpec;

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
