import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectCpu, type CpuFacts } from '../cpu/features.js';
import { chooseInt8Variant, inaccuracyWarning, INT8, type Int8Choice } from '../cpu/int8.js';
import { SemsearchError } from '../errors.js';
import { onnxFilePath } from '../hub/model-files.js';
import { resolveModel, type ResolveModelOptions } from '../hub/resolve.js';
import { variantOfFile, variantsInFolder } from '../hub/model-files.js';
import { readModelConfig } from '../model/config.js';
import { cpus } from 'node:os';
import { assertDeviceAvailable, checkDevice, type Device } from '../model/device.js';
import { TransformerSession, type SessionOptions } from '../model/onnx-session.js';
import { SessionPool } from '../model/session-pool.js';
import { loadTokenizer } from '../model/tokenizer/load-tokenizer.js';
import { builtOnnxFile, hasCheckpoint, int8KindFor } from '../model/graph/build.js';
import type { GraphOptions } from '../model/graph/encoder-graph.js';
import { defaultParallelism } from './default-parallelism.js';
import { DenseLayer } from './dense.js';
import type { PostModule } from './encode.js';
import { SentenceTransformer, type OnnxChoice } from './sentence-transformer.js';

export interface LoadModelOptions {
  /**
   * Which ONNX file: undefined for onnx/model.onnx, a hub variant such as "qint8_avx512_vnni" or "O3", or 'int8'
   * for the dynamic-quantized file that is accurate on this CPU (see `semsearch doctor`).
   */
  variant?: string;
  /** An explicit ONNX file path relative to the model folder; wins over `variant`. */
  onnxFile?: string;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** ONNX Runtime session tuning (graph optimisation level, memory arena and pattern, spinning); docs/BENCHMARK.md measures each. */
  session?: Omit<SessionOptions, 'intraOpThreads' | 'output' | 'device'>;
  /**
   * Where ONNX Runtime runs the model: 'cpu' (default) or 'cuda', an NVIDIA GPU through ONNX Runtime's CUDA provider,
   * which semsearch's install does not fetch (README, "GPU (CUDA)"). Asking for 'cuda' where the provider or the CUDA
   * and cuDNN libraries are absent is DEVICE_UNAVAILABLE, never a silent run on the CPU. With 'cuda', `workers`
   * defaults to 1 (each worker would hold its own copy of the weights on the GPU).
   */
  device?: Device;
  /**
   * Worker threads, each with its own ONNX Runtime session, that run whole batches at once; `threads` is the budget
   * they share (default: one per core). Default: `defaultParallelism` of that budget (the rule `serve` follows too
   * and `semsearch doctor` reports): 2 when the budget is at least 2 threads, else 1 (one session on the calling
   * thread); 1 on a GPU. Two sessions of one thread each beat one session of two threads by 1.1–1.5× on both
   * model sizes and both CPUs measured (docs/BENCHMARK.md, "Defaults"), with the same embeddings; each worker
   * loads its own copy of the weights (+90 MB for MiniLM-L6, +440 MB for BERT-base): pass `workers: 1` to save it.
   */
  workers?: number;
  /** The CPU to pick and check int8 files for (default: detectCpu(), this one). */
  cpu?: CpuFacts | undefined;
  /**
   * Told once per load when the int8 file is not the one built for this CPU, or when a quantized file asked for by
   * name drifts here (default: process.emitWarning).
   */
  onWarning?: (message: string) => void;
}

/** The device of the options, checked (INVALID_ARGUMENT) and, for 'cuda', available here (DEVICE_UNAVAILABLE); before any download or file read. */
export function deviceOf(options: { device?: unknown }): Device {
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device);
  assertDeviceAvailable(device);
  return device;
}

function warnDefault(message: string): void {
  process.emitWarning(message, { code: 'SEMSEARCH_INT8' });
}

/** Which ONNX file to open, and what the caller should be told about it. */
function pickOnnxFile(dir: string, options: LoadModelOptions): { file: string; choice: OnnxChoice } {
  if (options.onnxFile !== undefined) {
    const named = variantOfFile(options.onnxFile);
    const cpu = options.cpu ?? detectCpu();
    const warning = named === undefined ? undefined : inaccuracyWarning(named, cpu.isa);
    return { file: join(dir, options.onnxFile), choice: { requested: 'file', cpu, ...(warning !== undefined ? { warning } : {}) } };
  }
  const variant = options.variant;
  if (variant === INT8) {
    const cpu = options.cpu ?? detectCpu();
    const int8: Int8Choice = chooseInt8Variant(variantsInFolder(dir), cpu, dir);
    return { file: join(dir, onnxFilePath(int8.variant)), choice: { requested: INT8, cpu, int8 } };
  }
  const file = join(dir, onnxFilePath(variant));
  if (variant === undefined) return { file, choice: { requested: 'default' } };
  const cpu = options.cpu ?? detectCpu();
  const warning = inaccuracyWarning(variant, cpu.isa);
  return { file, choice: { requested: variant, cpu, ...(warning !== undefined ? { warning } : {}) } };
}

/**
 * The ONNX file the options pick in a model folder, checked to exist, and what the caller should be told about it.
 * With `build` (the graph's options: a bi-encoder's transformer, or a cross-encoder's classification head), a folder
 * that has weights but no export (what `save()` writes) gets a graph built from them (src/model/graph), kept in the
 * build cache.
 */
export function onnxFileOf(dir: string, options: LoadModelOptions, build?: GraphOptions): { file: string; choice: OnnxChoice } {
  // 'int8' on a folder with no export at all: quantize the built graph for this CPU.
  if (build !== undefined && options.variant === INT8 && options.onnxFile === undefined && variantsInFolder(dir).length === 0 && hasCheckpoint(dir)) {
    const cpu = options.cpu ?? detectCpu();
    return { file: builtOnnxFile(dir, undefined, { ...build, int8: int8KindFor(cpu.isa) }), choice: { requested: 'built-int8', cpu } };
  }
  const picked = pickOnnxFile(dir, options);
  const asDefault = options.variant === undefined && (options.onnxFile === undefined || options.onnxFile === DEFAULT_ONNX);
  if (!existsSync(picked.file) && build !== undefined && asDefault && hasCheckpoint(dir)) {
    return { file: builtOnnxFile(dir, undefined, build), choice: { requested: 'built' } };
  }
  if (!existsSync(picked.file)) {
    const offered = variantsInFolder(dir);
    throw new SemsearchError(
      'ONNX_MISSING',
      `${picked.file} does not exist; ` +
        (offered.length > 0
          ? `${dir} has the ONNX variants ${offered.join(', ')} (pass one as variant / --variant, '(default)' being no variant, or 'int8' for the quantized one accurate on this CPU)`
          : `${dir} has no ONNX export at all: export one with sentence-transformers (SentenceTransformer(dir, backend="onnx").save(dir), or CrossEncoder for a cross-encoder)`),
      { file: picked.file, field: 'variant' },
    );
  }
  return picked;
}

/**
 * The ONNX Runtime runner of a file: one session on the calling thread, or (workers > 1) a pool of worker sessions
 * sharing the thread budget. `output` says what the file computes: token embeddings, or a classifier's logits.
 */
export async function openRunner(file: string, options: Pick<LoadModelOptions, 'threads' | 'workers' | 'session' | 'device'>, output: 'tokens' | 'logits' = 'tokens'): Promise<TransformerSession | SessionPool> {
  const device = deviceOf(options);
  const plan = sessionPlan({ ...options, device });
  if (plan.workers === 1) {
    return TransformerSession.create(file, { ...options.session, output, device, ...(plan.intraOpThreads !== undefined ? { intraOpThreads: plan.intraOpThreads } : {}) });
  }
  return SessionPool.create(file, plan.workers, { ...options.session, output, device, intraOpThreads: plan.intraOpThreads as number });
}

/**
 * How many ONNX Runtime sessions loadModel (and loadCrossEncoder) opens for these options, and the intra-op threads of
 * each: `intraOpThreads` is absent where ONNX Runtime picks (one session and no `threads`: one per core). With no
 * options this is what they do by default, which `semsearch doctor` reports.
 */
export function sessionPlan(options: Pick<LoadModelOptions, 'threads' | 'workers' | 'device'> = {}, cores: number = cpus().length): { workers: number; intraOpThreads?: number } {
  // The thread budget is what the rule splits: the caller's `threads`, else the cores.
  const budget = options.threads ?? cores;
  const workers = options.workers ?? defaultParallelism(budget, options.device).workers;
  if (workers === 1) return { workers, ...(options.threads !== undefined ? { intraOpThreads: options.threads } : {}) };
  return { workers, intraOpThreads: Math.max(1, Math.floor(budget / workers)) };
}

/** The export's usual place; a folder without it but with weights gets a built graph in its stead. */
const DEFAULT_ONNX = 'onnx/model.onnx';

/** Options of loadModel: the folder options plus where and how to fetch a model given by name. */
export type LoadModelByNameOptions = LoadModelOptions & Omit<ResolveModelOptions, 'variant'>;

/** Load a sentence-transformers model folder (hub layout, with an ONNX export) into a SentenceTransformer. */
export async function loadModelFromDir(dir: string, options: LoadModelOptions = {}): Promise<SentenceTransformer> {
  deviceOf(options);
  const config = readModelConfig(dir);
  const tokenizer = loadTokenizer(dir, config.modelType, { doLowerCase: config.doLowerCase });
  const modules: PostModule[] = [];
  for (const m of config.modules) {
    if (m.kind === 'pooling') modules.push({ kind: 'pooling', config: m.config });
    else if (m.kind === 'dense') modules.push({ kind: 'dense', layer: new DenseLayer(m.config) });
    else if (m.kind === 'normalize') modules.push({ kind: 'normalize' });
  }
  const { file, choice } = onnxFileOf(dir, options, {});
  const session = await openRunner(file, options);
  const model = new SentenceTransformer(config, tokenizer, session, modules, choice);
  const warning = choice.warning ?? choice.int8?.fallback;
  if (warning !== undefined) (options.onWarning ?? warnDefault)(warning);
  return model;
}

/**
 * Load a model as `SentenceTransformer(name)` does: a local folder as is; a hub name ("msmarco-distilbert-dot-v5"
 * gets the "sentence-transformers/" owner) fetched once into the huggingface_hub cache and reused offline after.
 */
export async function loadModel(nameOrPath: string, options: LoadModelByNameOptions = {}): Promise<SentenceTransformer> {
  deviceOf(options);
  const { folder, hub } = splitByName(options);
  return loadModelFromDir(await resolveModel(nameOrPath, hub), folder);
}

const FOLDER_KEYS = ['variant', 'onnxFile', 'threads', 'session', 'workers', 'cpu', 'onWarning', 'device'] as const;

/**
 * A load-by-name's options, split: what resolving the name uses (the hub's, and variant and cpu, which pick the file
 * to fetch) and what loading the folder uses (the options given, nothing undefined).
 */
export function splitByName<O extends LoadModelByNameOptions>(options: O): { folder: LoadModelOptions; hub: Omit<O, 'onnxFile' | 'threads' | 'session' | 'workers' | 'onWarning' | 'device'> } {
  const { onnxFile: _f, threads: _t, session: _s, workers: _w, onWarning: _o, device: _d, ...hub } = options;
  const folder: Record<string, unknown> = {};
  for (const k of FOLDER_KEYS) if (options[k] !== undefined) folder[k] = options[k];
  return { folder: folder as LoadModelOptions, hub };
}
