import { join } from 'node:path';
import { onnxFilePath, resolveModel, type ResolveModelOptions } from '../hub/index.js';
import { readModelConfig } from '../model/config.js';
import { cpus } from 'node:os';
import { TransformerSession, type SessionOptions } from '../model/onnx-session.js';
import { SessionPool } from '../model/session-pool.js';
import { loadTokenizer } from '../model/tokenizer/load-tokenizer.js';
import { DenseLayer } from './dense.js';
import type { PostModule } from './encode.js';
import { SentenceTransformer } from './sentence-transformer.js';

export interface LoadModelOptions {
  /** Which ONNX file: undefined for onnx/model.onnx, or a hub variant such as "qint8_avx512_vnni" or "O3". */
  variant?: string;
  /** An explicit ONNX file path relative to the model folder; wins over `variant`. */
  onnxFile?: string;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** ONNX Runtime session tuning (graph optimisation level, memory arena and pattern, spinning); docs/BENCHMARK.md measures each. */
  session?: Omit<SessionOptions, 'intraOpThreads'>;
  /**
   * Worker threads, each with its own ONNX Runtime session, that run whole batches at once (default 1: one
   * session on the calling thread). `threads` is then the budget they share (default: one per core). Each worker
   * loads its own copy of the weights. Measured in docs/BENCHMARK.md.
   */
  workers?: number;
}

/** Options of loadModel: the folder options plus where and how to fetch a model given by name. */
export type LoadModelByNameOptions = LoadModelOptions & Omit<ResolveModelOptions, 'variant' | 'lock' | 'symlink'>;

/** Load a sentence-transformers model folder (hub layout, with an ONNX export) into a SentenceTransformer. */
export async function loadModelFromDir(dir: string, options: LoadModelOptions = {}): Promise<SentenceTransformer> {
  const config = readModelConfig(dir);
  const tokenizer = loadTokenizer(dir, config.modelType, { doLowerCase: config.doLowerCase });
  const modules: PostModule[] = [];
  for (const m of config.modules) {
    if (m.kind === 'pooling') modules.push({ kind: 'pooling', config: m.config });
    else if (m.kind === 'dense') modules.push({ kind: 'dense', layer: new DenseLayer(m.config) });
    else if (m.kind === 'normalize') modules.push({ kind: 'normalize' });
  }
  const file = join(dir, options.onnxFile ?? onnxFilePath(options.variant));
  const workers = options.workers ?? 1;
  let session: TransformerSession | SessionPool;
  if (workers === 1) {
    session = await TransformerSession.create(file, { ...options.session, ...(options.threads !== undefined ? { intraOpThreads: options.threads } : {}) });
  } else {
    const budget = options.threads ?? cpus().length;
    session = await SessionPool.create(file, workers, { ...options.session, intraOpThreads: Math.max(1, Math.floor(budget / workers)) });
  }
  return new SentenceTransformer(config, tokenizer, session, modules);
}

/**
 * Load a model as `SentenceTransformer(name)` does: a local folder as is; a hub name ("msmarco-distilbert-dot-v5"
 * gets the "sentence-transformers/" owner) fetched once into the huggingface_hub cache and reused offline after.
 */
export async function loadModel(nameOrPath: string, options: LoadModelByNameOptions = {}): Promise<SentenceTransformer> {
  const { onnxFile, threads, session, workers, ...hub } = options;
  const dir = await resolveModel(nameOrPath, hub);
  return loadModelFromDir(dir, {
    ...(options.variant !== undefined ? { variant: options.variant } : {}),
    ...(onnxFile !== undefined ? { onnxFile } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(session !== undefined ? { session } : {}),
    ...(workers !== undefined ? { workers } : {}),
  });
}
