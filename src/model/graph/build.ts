import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import { readJsonObject } from '../json-file.js';
import { bertGraph, distilbertGraph, electraGraph, mpnetGraph, robertaGraph, type GraphOptions } from './encoder-graph.js';
import { encodeModel } from './onnx-proto.js';
import { checkpointFiles, readCheckpoint } from './safetensors.js';

/** Architectures whose ONNX graph semsearch builds from the checkpoint. */
export const BUILT_MODEL_TYPES = ['bert', 'distilbert', 'mpnet', 'electra', 'roberta', 'xlm-roberta'] as const;

/** Whether a folder has weights a graph could be built from. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')) || existsSync(join(dir, 'pytorch_model.bin'));
}

/** The transformer of a model folder as a serialised ONNX model, built from config.json and its safetensors weights. */
export function buildOnnx(dir: string, options: GraphOptions = {}): Uint8Array {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new SemsearchError('CONFIG_MISSING', `${file} is missing: is ${dir} a model folder?`, { file });
  const config = readJsonObject(file);
  const type = config['model_type'];
  const graph =
    type === 'bert' ? bertGraph : type === 'distilbert' ? distilbertGraph : type === 'mpnet' ? mpnetGraph : type === 'electra' ? electraGraph : type === 'roberta' || type === 'xlm-roberta' ? robertaGraph : undefined;
  if (graph === undefined) {
    throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: semsearch builds ONNX graphs for ${BUILT_MODEL_TYPES.join(', ')} so far, not model_type ${JSON.stringify(type)}; export this one with sentence-transformers (backend="onnx")`, {
      file,
      field: 'model_type',
    });
  }
  // Progress in steps: reading the weights, each layer, serialising (each of the three about a third of the time).
  const report = options.onProgress;
  let steps = 0;
  const tensors = readCheckpoint(dir);
  const model = graph(config, tensors, file, {
    ...options,
    ...(report !== undefined
      ? {
          onProgress: (done: number, layers: number) => {
            steps = layers + 2;
            report(done + 1, steps);
          },
        }
      : {}),
  });
  const bytes = encodeModel(model);
  if (report !== undefined && steps > 0) report(steps, steps);
  return bytes;
}

/**
 * The int8 weights that are accurate and fast on a CPU, as the hub's files are chosen (src/cpu/int8.ts): signed on
 * AVX-512 (VNNI's u8 × s8 instructions), unsigned elsewhere (AVX2's u8 × u8 path).
 */
export function int8KindFor(isa: string): 's8' | 'u8' {
  return isa === 'avx512_vnni' || isa === 'avx512' ? 's8' : 'u8';
}

/** The hub's file names for the two kinds (onnx/model_<variant>.onnx), so a written file is found as theirs are. */
export const INT8_FILES = { s8: 'qint8_avx512_vnni', u8: 'quint8_avx2' } as const;

/** Where built graphs are kept: $SEMSEARCH_BUILD_CACHE, else ~/.cache/semsearch/built. */
export function buildCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['SEMSEARCH_BUILD_CACHE'] ?? join(homedir(), '.cache', 'semsearch', 'built');
}

/**
 * The built ONNX file of a folder without an export, made once and kept under the sha256 of its config.json and weight
 * files: the same checkpoint is never built twice, and a changed one is built again. Written to a temporary name and
 * renamed, so a crash never leaves half a file under the final name.
 */
export function builtOnnxFile(dir: string, cacheDir = buildCacheDir(), options: GraphOptions = {}): string {
  const { shards, index } = checkpointFiles(dir);
  const h = createHash('sha256');
  for (const f of [join(dir, 'config.json'), ...(index !== undefined ? [index] : []), ...shards]) h.update(readFileSync(f));
  const key = h.digest('hex');
  const base = options.head === 'classification' ? 'classifier' : 'model';
  const out = join(cacheDir, key, options.int8 === undefined ? `${base}.onnx` : `${base}_${INT8_FILES[options.int8]}.onnx`);
  if (existsSync(out)) return out;
  const bytes = buildOnnx(dir, options);
  mkdirSync(join(cacheDir, key), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  return out;
}
