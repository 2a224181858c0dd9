import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError } from '../errors.js';
import { Matrix, toMatrix, type MatrixLike } from '../tensor/matrix.js';
import { AnnGraph } from './ann.js';
import { DocStore } from './doc-store.js';
import { exactSearch, scoreRows } from './exact-search.js';
import { ParallelSearcher } from './parallel-search.js';
import { MANIFEST, readManifest, type IndexManifest } from './manifest.js';
import { modelFingerprint } from './model-fingerprint.js';
import { readShard, type ShardVectors } from './shards.js';
import { checkFusion, DEFAULT_FUSION_DEPTH, fuse, SEARCH_MODES, type FusionMethod, type SearchMode } from './fusion.js';

export interface IndexHit {
  /** Row number in the index. */
  index: number;
  /** The passage id from the corpus. */
  id: string;
  score: number;
  text: string;
}

export interface SearchOptions {
  /** Scan every vector even when the index has an HNSW graph (default: use the graph when there is one). */
  exact?: boolean;
  /** binary indexes: rescore the hamming candidates with their int8 rows (default true); other precisions ignore it. */
  rescore?: boolean;
  /**
   * binary indexes: hamming candidates per hit that are rescored (default 4, as sentence-transformers'
   * `rescore_multiplier`); more raise recall for a little time, since only the candidates' int8 rows are read.
   */
  rescoreMultiplier?: number;
  /** 'vector' (default), 'keyword' (BM25 over the passages) or 'hybrid' (both, fused). */
  mode?: SearchMode;
  /** hybrid: 'rrf' (reciprocal rank fusion, default) or 'weighted' (min-max normalised scores, `vectorWeight`). */
  fusion?: FusionMethod;
  /** hybrid with weighted fusion: the vector score's weight, 0–1 (default 0.5); the keyword score gets the rest. */
  vectorWeight?: number;
  /** hybrid: how deep each ranking goes before fusion (default 100, at least k). */
  fusionDepth?: number;
  /**
   * Indexes with an HNSW graph: the search expansion for this query (default: the ef the graph was built with).
   * Higher finds the true neighbours more often and costs more; max(k, ef) candidates are rescored exactly.
   */
  ef?: number;
}

export interface OpenIndexOptions {
  /** A loaded model to encode queries with; it must be the one the index was built with. */
  model?: SentenceTransformer;
  /** Check every shard's sha256 (default true); size is always checked. */
  verify?: boolean;
  /** ONNX Runtime threads for query encoding. */
  threads?: number;
  /** Worker threads for exact search (default: one per core; 1 searches on the calling thread). */
  searchThreads?: number;
  /** Told when the index's ONNX file drifts on this CPU (an int8 file built for another one); default process.emitWarning. */
  onWarning?: (message: string) => void;
}

function checkMode(mode: SearchMode | undefined): SearchMode {
  const m = mode ?? 'vector';
  if (!SEARCH_MODES.includes(m)) {
    throw new SemsearchError('INVALID_ARGUMENT', `mode must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(m)}`, { field: 'mode' });
  }
  return m;
}

/** Largest binary rescore multiplier: k × it candidates are held and rescored per query. */
export const MAX_RESCORE_MULTIPLIER = 100;

// Below this many stored values a scan takes well under a millisecond and workers would only add latency.
const PARALLEL_MIN_VALUES = 4_000_000;

export interface IndexInfo {
  dir: string;
  model: string;
  modelType: string;
  similarity: string;
  count: number;
  dim: number;
  precision: string;
  shards: number;
  complete: boolean;
  vectorBytes: number;
  docStoreBytes: number;
  /** The HNSW graph, when built: its quantization and size. */
  ann?: { quantization: string; bytes: number };
  /** The model's ONNX file the index was built with and queries are encoded with, relative to the model folder. */
  onnxFile: string;
}

/**
 * What an index holds and how big its files are, from its manifest and file sizes alone: no model is loaded and no
 * shard is read or hashed, so it is instant on any size of index.
 */
export function indexInfo(dir: string, m: IndexManifest): IndexInfo {
  let vectorBytes = 0;
  for (const s of m.shards) {
    vectorBytes += sizeOf(join(dir, s.file));
    if (s.rescoreFile !== undefined) vectorBytes += sizeOf(join(dir, s.rescoreFile));
  }
  return {
    dir,
    model: m.model.ref,
    modelType: m.model.modelType,
    onnxFile: m.model.onnxFile,
    similarity: m.model.similarityFnName,
    count: m.count,
    dim: m.dim,
    precision: m.precision,
    shards: m.shards.length,
    complete: m.complete,
    vectorBytes,
    docStoreBytes: sizeOf(join(dir, 'docs.sqlite')),
    ...(m.ann !== undefined ? { ann: { quantization: m.ann.quantization, bytes: m.ann.bytes } } : {}),
  };
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch (cause) {
    throw new SemsearchError('INDEX_CORRUPT', `${file}, which the index lists, is missing`, { file, cause });
  }
}

/** indexInfo of the index in `dir`, without opening it for search. */
export function readIndexInfo(dirIn: string): IndexInfo {
  const dir = resolve(dirIn);
  return indexInfo(dir, readManifest(dir));
}

/** A built index, loaded for search: shards in memory, passages in SQLite, the model from the manifest. */
export class SearchIndex {
  readonly dir: string;
  readonly manifest: IndexManifest;
  readonly model: SentenceTransformer;
  private readonly shards: ShardVectors[];
  private readonly docs: DocStore;
  private readonly ownModel: boolean;
  private readonly ann: AnnGraph | undefined;
  private readonly parallel: ParallelSearcher | undefined;

  private constructor(
    dir: string,
    manifest: IndexManifest,
    model: SentenceTransformer,
    shards: ShardVectors[],
    docs: DocStore,
    ownModel: boolean,
    ann: AnnGraph | undefined,
    searchThreads: number | undefined,
  ) {
    this.dir = dir;
    this.manifest = manifest;
    this.model = model;
    this.shards = shards;
    this.docs = docs;
    this.ownModel = ownModel;
    this.ann = ann;
    const values = manifest.count * manifest.dim;
    this.parallel = searchThreads !== 1 && values >= PARALLEL_MIN_VALUES && shards.length > 1 ? new ParallelSearcher(shards, searchThreads) : undefined;
  }

  static async open(dirIn: string, options: OpenIndexOptions = {}): Promise<SearchIndex> {
    const dir = resolve(dirIn);
    const manifest = readManifest(dir);
    const verify = options.verify !== false;
    const shards = manifest.shards.map((e) => readShard(dir, e, manifest.precision, manifest.dim, verify));
    const docs = new DocStore(join(dir, 'docs.sqlite'), { readonly: true });
    try {
      docs.checkRows(manifest.count);
    } catch (e) {
      docs.close();
      throw e;
    }
    let model = options.model;
    const ownModel = model === undefined;
    let ann: AnnGraph | undefined;
    try {
      if (manifest.ann !== undefined) ann = await AnnGraph.open(dir, manifest.ann, manifest.dim, verify);
      model ??= await loadModel(manifest.model.ref, {
        onnxFile: manifest.model.onnxFile,
        // Queries come one or a few at a time: a second session would hold a second copy of the weights for nothing.
        workers: 1,
        ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      });
      if (modelFingerprint(model) !== manifest.model.fingerprint) {
        throw new SemsearchError('INDEX_MISMATCH', `the index at ${dir} was built with ${manifest.model.ref}; queries must be encoded with that same model`, {
          file: join(dir, MANIFEST),
          field: 'model',
        });
      }
    } catch (e) {
      docs.close();
      if (ownModel && model !== undefined) await model.dispose();
      throw e;
    }
    return new SearchIndex(dir, manifest, model, shards, docs, ownModel, ann, options.searchThreads);
  }

  get count(): number {
    return this.manifest.count;
  }

  /**
   * The k best passages of each query. mode 'vector' (default) encodes the queries with the index's model (its
   * query prompt, if any); 'keyword' ranks by BM25 alone; 'hybrid' fuses the two rankings (fusion.ts).
   */
  async search(queries: string | readonly string[], k = 10, options: SearchOptions = {}): Promise<IndexHit[][]> {
    const list = typeof queries === 'string' ? [queries] : queries;
    const mode = checkMode(options.mode);
    if (mode === 'hybrid') checkFusion(options);
    return this.searchEncoded(list, mode === 'keyword' ? undefined : await this.model.encodeQuery(list), k, options);
  }

  /**
   * search() with the query embeddings already computed by the index's model (the server encodes many requests'
   * queries in one batch); keyword mode needs none.
   */
  async searchEncoded(list: readonly string[], embeddings: MatrixLike | undefined, k = 10, options: SearchOptions = {}): Promise<IndexHit[][]> {
    const mode = checkMode(options.mode);
    if (mode !== 'keyword' && embeddings === undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', `${mode} search needs the query embeddings`, { field: 'queries' });
    }
    if (mode === 'vector') return this.searchEmbeddings(embeddings as MatrixLike, k, options);
    if (!Number.isInteger(k) || k < 1) throw new SemsearchError('INVALID_ARGUMENT', `k must be a positive integer, got ${k}`, { field: 'k' });
    const kk = Math.min(k, this.manifest.count);
    if (mode === 'keyword') return list.map((q) => this.docs.keywordSearch(q, kk).map((h) => this.hit(h.index, h.score)));
    checkFusion(options);
    // Each ranking goes deeper than k, so a passage near the top of either one can still reach the fused top k.
    const depth = Math.min(this.manifest.count, Math.max(kk, options.fusionDepth ?? DEFAULT_FUSION_DEPTH));
    const keyword = list.map((q) => this.docs.keywordSearch(q, depth));
    const vector = await this.searchEmbeddings(embeddings as MatrixLike, depth, options);
    return list.map((_, qi) =>
      fuse(vector[qi] ?? [], keyword[qi] ?? [], options)
        .slice(0, kk)
        .map((h) => this.hit(h.index, h.score)),
    );
  }

  private hit(row: number, score: number): IndexHit {
    const doc = this.docs.get(row);
    if (doc === undefined) {
      throw new SemsearchError('INDEX_CORRUPT', `${this.docs.file} has no passage for row ${row}, which the vectors hold: rebuild the index`, { file: this.docs.file });
    }
    return { index: row, id: doc.id, score, text: doc.text };
  }

  /** Whether searches go through an HNSW graph by default. */
  get hasAnn(): boolean {
    return this.ann !== undefined;
  }

  /** Search with query embeddings already computed by the index's model. */
  async searchEmbeddings(queries: MatrixLike, k = 10, options: SearchOptions = {}): Promise<IndexHit[][]> {
    if (!Number.isInteger(k) || k < 1) throw new SemsearchError('INVALID_ARGUMENT', `k must be a positive integer, got ${k}`, { field: 'k' });
    const mult = options.rescoreMultiplier;
    if (mult !== undefined && (!Number.isInteger(mult) || mult < 1 || mult > MAX_RESCORE_MULTIPLIER)) {
      throw new SemsearchError('INVALID_ARGUMENT', `rescoreMultiplier must be an integer from 1 to ${MAX_RESCORE_MULTIPLIER}, got ${mult}`, { field: 'rescoreMultiplier' });
    }
    const q0 = toMatrix(queries, 'queries');
    if (q0.dim !== this.manifest.dim) {
      throw new SemsearchError('SHAPE_MISMATCH', `query embeddings have dim ${q0.dim}, the index ${this.manifest.dim}`, { field: 'queries' });
    }
    const q = this.manifest.normalized ? normalizeRows(new Matrix(q0.rows, q0.dim, Float32Array.from(q0.data))) : q0;
    const kk = Math.min(k, this.manifest.count);
    const exactOptions = {
      k: kk,
      precision: this.manifest.precision,
      dim: this.manifest.dim,
      ...(this.manifest.ranges !== undefined ? { ranges: this.manifest.ranges } : {}),
      ...(options.rescore === false ? { rescore: false } : {}),
      ...(options.rescoreMultiplier !== undefined ? { rescoreMultiplier: options.rescoreMultiplier } : {}),
    };
    let rows;
    if (this.ann !== undefined && options.exact !== true) {
      // The graph finds the candidates; their scores come from the stored vectors, as on the exact path (an i8
      // graph's own distances are on an integer scale).
      const found = this.ann.search(q.data, q.dim, kk, options.ef);
      rows = found.map((hits, qi) => scoreRows(q.row(qi), hits.map((h) => h.row), this.shards, exactOptions).slice(0, kk));
    }
    else if (this.parallel !== undefined) rows = await this.parallel.search(q, exactOptions);
    else rows = exactSearch(q, this.shards, exactOptions);
    return rows.map((hits) => hits.map((h) => this.hit(h.row, h.score)));
  }

  info(): IndexInfo {
    return indexInfo(this.dir, this.manifest);
  }

  async close(): Promise<void> {
    await this.parallel?.close();
    this.docs.close();
    if (this.ownModel) await this.model.dispose();
  }
}

export function openIndex(dir: string, options: OpenIndexOptions = {}): Promise<SearchIndex> {
  return SearchIndex.open(dir, options);
}
