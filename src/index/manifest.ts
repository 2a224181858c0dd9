import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemsearchError } from '../errors.js';
import type { SimilarityFnName } from '../model/config.js';
import type { AnnEntry } from './ann.js';

export type IndexPrecision = 'float32' | 'float16' | 'int8' | 'binary';
export const INDEX_PRECISIONS: readonly IndexPrecision[] = ['float32', 'float16', 'int8', 'binary'];

export interface ShardEntry {
  /** Vector file, relative to the index folder. */
  file: string;
  rows: number;
  sha256: string;
  /** binary indexes keep an int8 copy for rescoring, as the sentence-transformers quantized-retrieval recipe. */
  rescoreFile?: string;
  rescoreSha256?: string;
}

export interface IndexModelInfo {
  /** What the user passed: a hub name or an absolute folder. */
  ref: string;
  onnxFile: string;
  modelType: string;
  dimension: number;
  similarityFnName: SimilarityFnName;
  maxSeqLength: number;
  /** Hash of the model's configuration, tokenizer and ONNX file: a query must use the same model. */
  fingerprint: string;
}

/**
 * The index's single source of truth. Only complete shards are listed; it is replaced atomically (write,
 * fsync, rename) after each shard, so a crash at any moment leaves the last consistent state.
 */
export interface IndexManifest {
  format: 'semsearch-index';
  version: 1;
  model: IndexModelInfo;
  precision: IndexPrecision;
  dim: number;
  /** Vectors were L2-normalised before storage (cosine models), so a dot product is the cosine. */
  normalized: boolean;
  /** int8 and binary: per-dimension ranges of the quantisation, computed on the first shard. */
  ranges?: { min: number[]; max: number[] };
  shardSize: number;
  count: number;
  shards: ShardEntry[];
  corpus: { path: string; format: string; consumed: number; skipped: number; lastId: string | null };
  complete: boolean;
  /** An HNSW graph over the vectors, when one was built. */
  ann?: AnnEntry;
  createdAt: string;
  updatedAt: string;
}

export const MANIFEST = 'manifest.json';

export function readManifest(dir: string): IndexManifest {
  const file = join(dir, MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SemsearchError('INDEX_NOT_FOUND', `${dir} is not a semsearch index: ${file} is missing`, { file, cause });
  }
  let m: IndexManifest;
  try {
    m = JSON.parse(text) as IndexManifest;
  } catch (cause) {
    throw new SemsearchError('INDEX_CORRUPT', `${file} is not valid JSON`, { file, cause });
  }
  if (m.format !== 'semsearch-index' || m.version !== 1) {
    throw new SemsearchError('INDEX_CORRUPT', `${file} is not a version 1 semsearch index manifest`, { file, field: 'format' });
  }
  if (!INDEX_PRECISIONS.includes(m.precision) || !Array.isArray(m.shards) || !Number.isInteger(m.count) || !Number.isInteger(m.dim)) {
    throw new SemsearchError('INDEX_CORRUPT', `${file} lacks precision, dim, count or shards`, { file });
  }
  const rows = m.shards.reduce((s, e) => s + e.rows, 0);
  if (rows !== m.count) {
    throw new SemsearchError('INDEX_CORRUPT', `${file}: shards hold ${rows} rows but count is ${m.count}`, { file, field: 'count' });
  }
  return m;
}

/** Durable, atomic replace: readers see the old manifest or the new one, never a torn one. */
export function writeManifest(dir: string, m: IndexManifest): void {
  const file = join(dir, MANIFEST);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(m, null, 2));
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
  syncDir(dirname(file));
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
