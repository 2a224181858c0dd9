/** The JSON contract between bench/encode.ts and the processes it measures (one process per system and model). */

export type SystemName = 'semsearch' | 'st-torch' | 'st-onnx' | 'transformers.js';

export interface WorkloadJob {
  name: string;
  textsFile: string;
  embeddingsFile: string;
}

/** semsearch's own knobs, the levers of the speed study. */
export interface SemsearchLevers {
  /** 'sorted': one encode call (the library sorts by length); 'input': one call per batch in the given order. */
  order?: 'sorted' | 'input';
  /** encode's `batching`: 'padding-aware' (the default) or 'fixed' (sentence-transformers' own batches). */
  batching?: 'padding-aware' | 'fixed';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  allowSpinning?: boolean;
  /** loadModel's `workers`: sessions on worker threads sharing the thread budget. */
  workers?: number;
}

export interface EncodeJob {
  kind: 'encode';
  system: SystemName;
  modelDir: string;
  /** ONNX file relative to modelDir (ignored by st-torch). */
  onnxFile: string;
  backend?: 'torch' | 'onnx';
  threads: number;
  batchSize: number;
  warmupTexts: number;
  reps: number;
  workloads: WorkloadJob[];
  resultFile: string;
  /** transformers.js: pooling and normalisation from the model's modules, truncation at max_seq_length. */
  pooling?: string;
  normalize?: boolean;
  maxSeqLength?: number;
  /** transformers.js: batches in the given order (how its pipeline is called) or sorted by length as sentence-transformers does. */
  order?: 'sorted' | 'input';
  levers?: SemsearchLevers;
}

/** A cross-encoder measurement: `reps` timed predict() calls over the same (query, passage) pairs. */
export interface CrossJob {
  kind: 'cross';
  system: 'semsearch' | 'st-torch' | 'st-onnx';
  modelDir: string;
  onnxFile: string;
  threads: number;
  batchSize: number;
  warmupPairs: number;
  reps: number;
  pairsFile: string;
  scoresFile: string;
  resultFile: string;
}

export interface CrossResult {
  loadSeconds: number;
  versions: Record<string, string>;
  times: number[];
  pairs: number;
  peakRssMB: number;
}

export interface WorkloadResult {
  times: number[];
  items: number;
  rows: number;
  dim: number;
  /** semsearch only: token count of each text with special tokens and truncation. */
  lengths?: number[];
  /** semsearch only: seconds to tokenize the workload once (no model run). */
  tokenizeSeconds?: number;
  /** semsearch only: share of encode() time spent inside ONNX Runtime's run. */
  ortShare?: number;
}

export interface EncodeResult {
  loadSeconds: number;
  versions: Record<string, string>;
  workloads: Record<string, WorkloadResult>;
  peakRssMB: number;
}
