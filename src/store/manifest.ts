import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { writeError } from './io-errors.js';
import type { SimilarityFnName } from '../model/config.js';

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

export type AnnQuantization = 'f32' | 'f16' | 'i8';
/** The most documents (or ids) one write takes: each write is one transaction and one commit. */
export const MAX_WRITE_BATCH = 10_000;

export const ANN_QUANTIZATIONS: readonly AnnQuantization[] = ['f32', 'f16', 'i8'];

/** The manifest's record of an HNSW graph file (ann.ts builds and opens it). */
export interface AnnEntry {
  file: string;
  quantization: AnnQuantization;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  sha256: string;
  bytes: number;
  /**
   * i8 graphs: the factor vectors (and queries) are multiplied by before usearch quantizes them, 1 / the largest
   * |component|, so its [-1, 1] → [-127, 127] mapping uses the whole int8 range. Absent: 1 (graphs from before it).
   */
  scale?: number;
  /**
   * Rows 0 … rows−1 were offered to the graph when it was built or last merged; rows from here on are new since
   * and searched exactly beside the graph until a write merges them in. Absent: count (graphs from before it).
   */
  rows?: number;
  /**
   * Nodes the graph holds (the rows below `rows` that were live when they joined it). Deletes never touch the
   * graph: a deleted row stays a node and searches skip it, until a write or compact rebuilds the graph. Absent:
   * rows less the deleted rows (graphs from before it, whose deletes were removed from the graph).
   */
  nodes?: number;
}

/**
 * The manifest's record of an IVF partition of a binary index (ivf.ts builds and opens it): k-means centroids and,
 * per centroid, the rows nearest it. A search scans the sign bits of the rows of the `nprobe` lists nearest the
 * query, then rescores the best hamming candidates with their int8 rows, as the exact binary path does.
 */
export interface IvfEntry {
  file: string;
  sha256: string;
  bytes: number;
  /** Lists (centroids). */
  nlist: number;
  /** Lists a search scans by default (SearchOptions.nprobe overrides it per search). */
  nprobe: number;
  /**
   * Rows 0 … rows−1 are in the lists (deleted ones too, skipped by searches); rows written since are not, and every
   * search scans them exactly beside the probed lists until compact reassigns them.
   */
  rows: number;
  /** How the centroids were trained: Lloyd iterations over a seeded sample of the rows' int8 values. */
  training: { sample: number; iterations: number; seed: number };
}

/** The type of a metadata field: each field keeps one type for the life of the index. */
export type FieldType = 'string' | 'number' | 'boolean';
export const FIELD_TYPES: readonly FieldType[] = ['string', 'number', 'boolean'];

/** The document store of an index that was never compacted. */
export const DEFAULT_DOCS_FILE = 'docs.sqlite';

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
  /**
   * The prompt text every document was encoded with and every query takes ("" for none); absent in indexes built
   * before prompts were recorded (store/prompts.ts says what those used).
   */
  prompts?: { query: string; document: string };
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
  /**
   * Where in the corpus the index stands. prefixSha256 hashes every record read so far (id and text, skipped ones
   * too), so a rerun can tell a corpus edited, cut or extended since from one that only needs resuming.
   */
  corpus: { path: string; format: string; consumed: number; skipped: number; lastId: string | null; prefixSha256?: string };
  complete: boolean;
  /** An HNSW graph over the vectors, when one was built. */
  ann?: AnnEntry;
  /** An IVF partition of a binary index's rows, when one was built. */
  ivf?: IvfEntry;
  /**
   * Writes after the build (upsert, delete, compact) committed so far; absent: 0. The document store tags each
   * row with the generation that added it and the one that deleted it, so a reader holding this manifest sees
   * exactly the rows it commits, whatever a writer has put in SQLite since.
   */
  generation?: number;
  /** Rows of the vectors that are deleted (tombstones), until `compact` drops them; absent: 0. */
  deleted?: number;
  /** The SQLite document store, relative to the index folder (compact writes a new one); absent: docs.sqlite. */
  docs?: string;
  /** Metadata fields and their types. */
  fields?: Record<string, FieldType>;
  /**
   * A chunked index (`index --chunk`): each document longer than the window is stored as several rows, its token
   * windows (encoder/chunk.ts), and searches return one hit per document. Writes chunk the same way.
   */
  chunking?: ChunkingInfo;
  /** Chunked indexes: live documents (rows are windows, so `count` less `deleted` counts windows). */
  documents?: number;
  createdAt: string;
  updatedAt: string;
}

/** How a chunked index cuts its documents: tokens per window (special tokens included) and tokens shared by neighbours. */
export interface ChunkingInfo {
  maxTokens: number;
  overlap: number;
}

export const MANIFEST = 'manifest.json';

export function readManifest(dir: string): IndexManifest {
  const file = join(dir, MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') {
      throw new SemsearchError('FILE_NOT_FOUND', `cannot read the manifest ${file}: ${(cause as Error).message}`, { file, cause });
    }
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
  checkEntries(m, file);
  const rows = m.shards.reduce((s, e) => s + e.rows, 0);
  if (rows !== m.count) {
    throw new SemsearchError('INDEX_CORRUPT', `${file}: shards hold ${rows} rows but count is ${m.count}`, { file, field: 'count' });
  }
  return m;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A file name inside the index folder: a relative path that does not climb out of it. */
function isInside(f: unknown): f is string {
  return typeof f === 'string' && f !== '' && !f.startsWith('/') && !f.split(/[\\/]/).includes('..');
}

/**
 * Every field that later code reads, checked up front: a hand-edited or damaged manifest is INDEX_CORRUPT naming
 * the field, not a TypeError or a usearch message from deep inside a search.
 */
function checkEntries(m: IndexManifest, file: string): void {
  const bad = (field: string, why: string): never => {
    throw new SemsearchError('INDEX_CORRUPT', `${file}: ${field} ${why}`, { file, field });
  };
  const model = m.model as Partial<IndexModelInfo> | undefined;
  if (typeof model !== 'object' || model === null) bad('model', 'is missing');
  for (const k of ['ref', 'onnxFile', 'fingerprint'] as const) if (typeof model?.[k] !== 'string' || model[k] === '') bad(`model.${k}`, 'must be a non-empty string');
  if (model?.prompts !== undefined && (typeof model.prompts !== 'object' || model.prompts === null || typeof model.prompts.query !== 'string' || typeof model.prompts.document !== 'string')) {
    bad('model.prompts', 'must hold the query and document prompt texts');
  }
  if (m.count < 0 || m.dim < 1) bad('count', `and dim must be a count and a dimension, got ${m.count} and ${m.dim}`);
  m.shards.forEach((e: Partial<ShardEntry>, i) => {
    if (typeof e !== 'object' || e === null) bad(`shards[${i}]`, 'is not an object');
    if (!isInside(e.file)) bad(`shards[${i}].file`, `must be a file inside the index folder, got ${JSON.stringify(e.file)}`);
    if (!Number.isInteger(e.rows) || (e.rows as number) < 1) bad(`shards[${i}].rows`, `must be a positive integer, got ${JSON.stringify(e.rows)}`);
    if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) bad(`shards[${i}].sha256`, 'must be a sha256 in hex');
    if (m.precision === 'binary' && (!isInside(e.rescoreFile) || typeof e.rescoreSha256 !== 'string' || !SHA256.test(e.rescoreSha256))) {
      bad(`shards[${i}].rescoreFile`, 'and rescoreSha256 are needed for a binary index');
    }
  });
  if (m.ranges !== undefined && (!Array.isArray(m.ranges.min) || !Array.isArray(m.ranges.max) || m.ranges.min.length !== m.dim || m.ranges.max.length !== m.dim)) {
    bad('ranges', `must hold ${m.dim} minima and maxima`);
  }
  if (m.generation !== undefined && (!Number.isInteger(m.generation) || m.generation < 0)) bad('generation', `must be a count, got ${JSON.stringify(m.generation)}`);
  if (m.deleted !== undefined && (!Number.isInteger(m.deleted) || m.deleted < 0 || m.deleted > m.count)) bad('deleted', `must be a count no larger than count, got ${JSON.stringify(m.deleted)}`);
  if (m.docs !== undefined && !isInside(m.docs)) bad('docs', `must be a file inside the index folder, got ${JSON.stringify(m.docs)}`);
  if (m.fields !== undefined) {
    if (typeof m.fields !== 'object' || m.fields === null || Array.isArray(m.fields)) bad('fields', 'must map field names to types');
    for (const [name, type] of Object.entries(m.fields)) if (!FIELD_TYPES.includes(type)) bad(`fields.${name}`, `must be one of ${FIELD_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  if (m.ann !== undefined) {
    const a = m.ann as Partial<AnnEntry>;
    if (!isInside(a.file)) bad('ann.file', `must be a file inside the index folder, got ${JSON.stringify(a.file)}`);
    if (!(ANN_QUANTIZATIONS as readonly string[]).includes(a.quantization as string)) bad('ann.quantization', `must be f32, f16 or i8, got ${JSON.stringify(a.quantization)}`);
    if (typeof a.sha256 !== 'string' || !SHA256.test(a.sha256) || !Number.isInteger(a.bytes)) bad('ann.sha256', 'and ann.bytes must describe the graph file');
    if (m.count === 0) bad('ann', 'is a graph over an index with no vectors');
    if (a.rows !== undefined && !(Number.isInteger(a.rows) && a.rows >= 1 && a.rows <= m.count)) bad('ann.rows', `must be a row count from 1 to count, got ${JSON.stringify(a.rows)}`);
    if (a.nodes !== undefined && !(Number.isInteger(a.nodes) && a.nodes >= 1 && a.nodes <= (a.rows ?? m.count))) bad('ann.nodes', `must be a count from 1 to ann.rows, got ${JSON.stringify(a.nodes)}`);
    if (a.scale !== undefined && !(typeof a.scale === 'number' && Number.isFinite(a.scale) && a.scale > 0)) bad('ann.scale', `must be a positive number, got ${JSON.stringify(a.scale)}`);
  }
  if (m.ivf !== undefined) {
    const v = m.ivf as Partial<IvfEntry>;
    if (!isInside(v.file)) bad('ivf.file', `must be a file inside the index folder, got ${JSON.stringify(v.file)}`);
    if (typeof v.sha256 !== 'string' || !SHA256.test(v.sha256) || !Number.isInteger(v.bytes)) bad('ivf.sha256', 'and ivf.bytes must describe the list file');
    if (m.precision !== 'binary') bad('ivf', `partitions binary indexes only; this one is ${m.precision}`);
    if (!(Number.isInteger(v.nlist) && (v.nlist as number) >= 1)) bad('ivf.nlist', `must be a positive integer, got ${JSON.stringify(v.nlist)}`);
    if (!(Number.isInteger(v.nprobe) && (v.nprobe as number) >= 1 && (v.nprobe as number) <= (v.nlist as number))) bad('ivf.nprobe', `must be an integer from 1 to ivf.nlist, got ${JSON.stringify(v.nprobe)}`);
    if (!(Number.isInteger(v.rows) && (v.rows as number) >= 1 && (v.rows as number) <= m.count)) bad('ivf.rows', `must be a row count from 1 to count, got ${JSON.stringify(v.rows)}`);
  }
}

/** Durable, atomic replace: readers see the old manifest or the new one, never a torn one. */
export function writeManifest(dir: string, m: IndexManifest): void {
  const file = join(dir, MANIFEST);
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(m, null, 2));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    syncDir(dirname(file));
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw writeError(file, `the manifest ${file} (the previous one is intact)`, cause);
  }
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
