import { statSync, type Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Device } from '../model/device.js';
import { join, resolve } from 'node:path';
import { loadModel } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError, throwIfCancelled, type CancelSignal } from '../errors.js';
import { Matrix, toMatrix, type MatrixLike } from '../tensor/matrix.js';
import { AnnGraph, checkEf } from './ann.js';
import { DocStore } from './doc-store.js';
import { exactSearch, rescoreBinary, rowBitset, scoreRows, signBits, skips, type ExactSearchOptions, type ScoredRow } from './exact-search.js';
import { checkNprobe, ivfCandidates, IvfSearcher } from './ivf.js';
import { ParallelSearcher } from './parallel-search.js';
import { GEMM_PRECISIONS, GemmSearcher } from './gemm-search.js';
import { DEFAULT_DOCS_FILE, MANIFEST, readManifest, type FieldType, type IndexManifest } from './manifest.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { graphExtent, IndexWriter, type CompactOptions, type WriteDocument, type WriteResult } from './write-index.js';
import { MAX_EF } from './ann.js';
import { modelFingerprint } from './model-fingerprint.js';
import { indexPrompts, type IndexPrompts } from './prompts.js';
import { readShard, type ShardVectors } from './shards.js';
import { checkFusion, DEFAULT_FUSION_DEPTH, fuse } from './fusion.js';
import { groupRanking, type DocumentHit } from './group.js';
import { checkChunkScore, checkK, checkMode, type IndexHit, type Searcher, type SearchOptions, type SearchTimings, type WriteOptions } from './searcher.js';

export interface OpenIndexOptions {
  /** A loaded model to encode queries with; it must be the one the index was built with. */
  model?: SentenceTransformer;
  /** Check every shard's sha256 (default true); size is always checked. */
  verify?: boolean;
  /** ONNX Runtime threads for query encoding. */
  threads?: number;
  /** Where ONNX Runtime encodes queries: 'cpu' (default) or 'cuda' (see LoadModelOptions.device). */
  device?: Device;
  /** Whether the query encoder's idle intra-op threads spin before sleeping (ONNX Runtime's default: yes). */
  allowSpinning?: boolean;
  /** Worker threads for exact search (default: one per core; 1 searches on the calling thread). */
  searchThreads?: number;
  /** Told when the index's ONNX file drifts on this CPU (an int8 file built for another one); default process.emitWarning. */
  onWarning?: (message: string) => void;
  /**
   * Before each search, see whether a writer has committed since (one stat of the manifest) and load the new
   * state if so (default true). false: the index stays as opened until refresh() is called.
   */
  autoRefresh?: boolean;
}

/** Largest binary rescore multiplier: k × it candidates are held and rescored per query. */
export const MAX_RESCORE_MULTIPLIER = 100;

// Below this many stored values a scan takes well under a millisecond and workers would only add latency.
const PARALLEL_MIN_VALUES = 4_000_000;

/**
 * Exact scans of at least this many queries at once go through the Gemm graph (gemm-search.ts), which answers the
 * same hits: one pass over the rows serves them all at BLAS speed, where the scan passes once per query.
 */
export const GEMM_MIN_QUERIES = 8;

export interface IndexInfo {
  dir: string;
  model: string;
  modelType: string;
  similarity: string;
  /** Rows of vectors, deleted ones included until compact. */
  count: number;
  /** Live documents: count less the deleted (a chunked index: its documents, whose windows the rows are). */
  live: number;
  /** Chunked indexes: how documents are cut, and the live windows. */
  chunking?: { maxTokens: number; overlap: number; windows: number };
  deleted: number;
  /** Writes committed since the build. */
  generation: number;
  /** Metadata fields and their types. */
  fields: Record<string, FieldType>;
  dim: number;
  precision: string;
  shards: number;
  complete: boolean;
  vectorBytes: number;
  docStoreBytes: number;
  /** The HNSW graph, when built: its quantization and size. */
  ann?: { quantization: string; bytes: number };
  /** IVF lists, when built: lists, the default nprobe, the rows they hold (later rows are scanned exactly) and the file's size. */
  ivf?: { nlist: number; nprobe: number; rows: number; bytes: number };
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
    live: m.documents ?? m.count - (m.deleted ?? 0),
    ...(m.chunking !== undefined ? { chunking: { ...m.chunking, windows: m.count - (m.deleted ?? 0) } } : {}),
    deleted: m.deleted ?? 0,
    generation: m.generation ?? 0,
    fields: { ...(m.fields ?? {}) },
    dim: m.dim,
    precision: m.precision,
    shards: m.shards.length,
    complete: m.complete,
    vectorBytes,
    docStoreBytes: sizeOf(join(dir, m.docs ?? DEFAULT_DOCS_FILE)),
    ...(m.ann !== undefined ? { ann: { quantization: m.ann.quantization, bytes: m.ann.bytes } } : {}),
    ...(m.ivf !== undefined ? { ivf: { nlist: m.ivf.nlist, nprobe: m.ivf.nprobe, rows: m.ivf.rows, bytes: m.ivf.bytes } } : {}),
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

/**
 * One committed state of an index, as a reader holds it: the manifest, its shards in memory, the document store,
 * the graph and the deleted rows. A search runs on one snapshot from start to end, so it sees all of a write or
 * none of it.
 */
interface Snapshot {
  manifest: IndexManifest;
  shards: ShardVectors[];
  byFile: Map<string, ShardVectors>;
  docs: DocStore;
  docsFile: string;
  ann: AnnGraph | undefined;
  /** With a graph: the rows it was given (below `rows`), its nodes, how many of them are live, and the live rows after it (searched exactly). */
  graph: { rows: number; nodes: number; live: number; tail: number[] } | undefined;
  parallel: ParallelSearcher | undefined;
  /** With IVF lists: their searcher, and the live rows written since they were built (no list holds them: scanned exactly). */
  ivf: { searcher: IvfSearcher; tail: number[] } | undefined;
  view: { count: number; generation: number };
  /** Deleted rows as a skip bitset (absent when none). */
  deleted: Uint8Array | undefined;
  live: number;
  /** Live documents: `live`, or in a chunked index the documents its windows belong to. */
  documents: number;
  fields: Record<string, FieldType>;
  /** Rows allowed by recent filters, by the filter's canonical JSON. */
  filters: Map<string, AllowedRows>;
  users: number;
  retired: boolean;
}

interface AllowedRows {
  rows: number[];
  /** Rows the filter refuses (and deleted rows), as a skip bitset. */
  skip: Uint8Array;
}

/** A filter allowing at most this share of the live rows scores just them; a broader one scans, skipping the rest. */
const SELECTIVE = 1 / 8;
const FILTER_CACHE = 16;

function manifestKey(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** A built index, loaded for search: shards in memory, passages in SQLite, the model from the manifest. */
/**
 * ONNX Runtime sessions of the model an index opens for its queries (`semsearch search`, each server worker): queries
 * come one or a few at a time, and a second session would hold a second copy of the weights for nothing.
 */
export const INDEX_MODEL_WORKERS = 1;

export class SearchIndex implements Searcher {
  readonly backend = 'local';
  readonly dir: string;
  readonly model: SentenceTransformer;
  private snap: Snapshot;
  private readonly ownModel: boolean;
  private readonly verify: boolean;
  private readonly searchThreads: number | undefined;
  private readonly autoRefresh: boolean;
  private seen: string;
  private refreshing: Promise<boolean> | undefined;
  /** The batch-search session, made at the first batch that needs it. */
  private gemm: Promise<GemmSearcher> | undefined;

  private constructor(dir: string, snap: Snapshot, model: SentenceTransformer, ownModel: boolean, options: OpenIndexOptions, seen: string) {
    this.dir = dir;
    this.snap = snap;
    this.model = model;
    this.ownModel = ownModel;
    this.verify = options.verify !== false;
    this.searchThreads = options.searchThreads;
    this.autoRefresh = options.autoRefresh !== false;
    this.seen = seen;
  }

  /** The manifest of the state searches now use. */
  get manifest(): IndexManifest {
    return this.snap.manifest;
  }

  get prompts(): IndexPrompts {
    return indexPrompts(this.snap.manifest.model, this.model);
  }

  static async open(dirIn: string, options: OpenIndexOptions = {}): Promise<SearchIndex> {
    const dir = resolve(dirIn);
    const seen = SearchIndex.statManifest(dir);
    const snap = await SearchIndex.load(dir, readManifest(dir), undefined, options.verify !== false, options.searchThreads);
    let model = options.model;
    const ownModel = model === undefined;
    try {
      model ??= await loadModel(snap.manifest.model.ref, {
        onnxFile: snap.manifest.model.onnxFile,
        workers: INDEX_MODEL_WORKERS,
        ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.device !== undefined ? { device: options.device } : {}),
        ...(options.allowSpinning !== undefined ? { session: { allowSpinning: options.allowSpinning } } : {}),
      });
      if (modelFingerprint(model) !== snap.manifest.model.fingerprint) {
        throw new SemsearchError('INDEX_MISMATCH', `the index at ${dir} was built with ${snap.manifest.model.ref}; queries must be encoded with that same model`, {
          file: join(dir, MANIFEST),
          field: 'model',
        });
      }
    } catch (e) {
      await SearchIndex.release(snap, undefined);
      if (ownModel && model !== undefined) await model.dispose();
      throw e;
    }
    return new SearchIndex(dir, snap, model, ownModel, options, seen);
  }

  private static statManifest(dir: string): string {
    try {
      return manifestKey(statSync(join(dir, MANIFEST)));
    } catch (cause) {
      throw new SemsearchError('INDEX_NOT_FOUND', `${dir} is not a semsearch index: ${join(dir, MANIFEST)} is missing`, { file: join(dir, MANIFEST), cause });
    }
  }

  /** Load the state a manifest commits, reusing what the previous snapshot already holds (unchanged shards, store, graph). */
  private static async load(dir: string, manifest: IndexManifest, prev: Snapshot | undefined, verify: boolean, searchThreads: number | undefined): Promise<Snapshot> {
    const byFile = new Map<string, ShardVectors>();
    const shards = manifest.shards.map((e) => {
      const old = prev?.byFile.get(`${e.file}:${e.sha256}`);
      const s = old ?? readShard(dir, e, manifest.precision, manifest.dim, verify);
      byFile.set(`${e.file}:${e.sha256}`, s);
      return s;
    });
    const docsFile = manifest.docs ?? DEFAULT_DOCS_FILE;
    const ownDocs = prev === undefined || prev.docsFile !== docsFile;
    const docs = ownDocs ? new DocStore(join(dir, docsFile), { reader: true }) : prev.docs;
    if (manifest.chunking !== undefined && !docs.chunked) {
      docs.close();
      throw new SemsearchError('INDEX_CORRUPT', `${docs.file} has no windows, which the manifest's chunking says it holds: rebuild the index`, { file: docs.file });
    }
    try {
      const view = { count: manifest.count, generation: manifest.generation ?? 0 };
      if (ownDocs) docs.checkRows(manifest.count);
      const deletedRows = docs.deletedRows(view);
      if (deletedRows.length !== (manifest.deleted ?? 0)) {
        throw new SemsearchError('INDEX_CORRUPT', `${docs.file} marks ${deletedRows.length} rows deleted, the manifest ${manifest.deleted ?? 0}: rebuild the index`, { file: docs.file });
      }
      let ann = prev?.ann;
      if (manifest.ann === undefined) ann = undefined;
      else if (ann === undefined || ann.entry.file !== manifest.ann.file || ann.entry.sha256 !== manifest.ann.sha256) ann = await AnnGraph.open(dir, manifest.ann, manifest.dim, verify);
      const sameShards = prev !== undefined && prev.shards.length === shards.length && prev.shards.every((x, i) => x === shards[i]);
      const values = manifest.count * manifest.dim;
      const parallel = sameShards
        ? prev.parallel
        : searchThreads !== 1 && values >= PARALLEL_MIN_VALUES && shards.length > 1
          ? new ParallelSearcher(shards, searchThreads)
          : undefined;
      let ivf: Snapshot['ivf'];
      if (manifest.ivf !== undefined) {
        const e = manifest.ivf;
        const reuse = prev?.ivf !== undefined && prev.ivf.searcher.entry.file === e.file && prev.ivf.searcher.entry.sha256 === e.sha256 ? prev.ivf.searcher : undefined;
        const threads = searchThreads !== 1 && e.rows * manifest.dim >= PARALLEL_MIN_VALUES ? (searchThreads ?? availableParallelism()) : 1;
        const searcher = reuse ?? IvfSearcher.open(dir, e, manifest.dim, shards, verify, threads);
        const deletedSet = new Set(deletedRows);
        const tail: number[] = [];
        for (let r = e.rows; r < manifest.count; r++) if (!deletedSet.has(r)) tail.push(r);
        ivf = { searcher, tail };
      }
      const extent = graphExtent(manifest);
      let graph: Snapshot['graph'];
      if (extent !== undefined) {
        const deletedSet = new Set(deletedRows);
        const tail: number[] = [];
        for (let r = extent.rows; r < manifest.count; r++) if (!deletedSet.has(r)) tail.push(r);
        graph = { rows: extent.rows, nodes: extent.nodes, live: manifest.count - deletedRows.length - tail.length, tail };
      }
      return {
        manifest,
        shards,
        byFile,
        docs,
        docsFile,
        ann,
        graph,
        parallel,
        ivf,
        view,
        deleted: deletedRows.length > 0 ? rowBitset(manifest.count, deletedRows) : undefined,
        live: manifest.count - deletedRows.length,
        documents: manifest.documents ?? manifest.count - deletedRows.length,
        fields: { ...(manifest.fields ?? {}) },
        filters: new Map(),
        users: 0,
        retired: false,
      };
    } catch (e) {
      if (ownDocs) docs.close();
      throw e;
    }
  }

  /** Close what an old snapshot holds that its successor does not share, once no search uses it. */
  private static async release(old: Snapshot, next: Snapshot | undefined): Promise<void> {
    if (old.parallel !== undefined && old.parallel !== next?.parallel) await old.parallel.close();
    if (old.ivf !== undefined && old.ivf.searcher !== next?.ivf?.searcher) await old.ivf.searcher.close();
    if (old.docs !== next?.docs) old.docs.close();
  }

  /**
   * Load the index's latest committed state if a writer has committed since this one was loaded. Searches in
   * flight finish on the state they started with. Resolves true when the state changed.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.reload().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async reload(): Promise<boolean> {
    // A writer may commit again, and remove the files of the manifest just read, while we load it: read again.
    for (let attempt = 0; ; attempt++) {
      const key = SearchIndex.statManifest(this.dir);
      if (key === this.seen) return false;
      const m = readManifest(this.dir);
      const cur = this.snap.manifest;
      if ((m.generation ?? 0) === (cur.generation ?? 0) && m.count === cur.count && m.updatedAt === cur.updatedAt && m.ann?.sha256 === cur.ann?.sha256) {
        this.seen = key;
        return false;
      }
      let next: Snapshot;
      try {
        next = await SearchIndex.load(this.dir, m, this.snap, this.verify, this.searchThreads);
      } catch (e) {
        if (attempt < 4 && SearchIndex.statManifest(this.dir) !== key) continue;
        throw e;
      }
      const old = this.snap;
      this.snap = next;
      this.seen = key;
      old.retired = true;
      if (old.users === 0) await SearchIndex.release(old, next);
      return true;
    }
  }

  /** Run `fn` on the current snapshot, refreshed first when autoRefresh is on. */
  private async withSnapshot<T>(fn: (s: Snapshot) => Promise<T>): Promise<T> {
    if (this.autoRefresh) await this.refresh();
    const s = this.snap;
    s.users++;
    try {
      return await fn(s);
    } finally {
      s.users--;
      if (s.retired && s.users === 0 && s !== this.snap) await SearchIndex.release(s, this.snap);
    }
  }

  /** Live documents (rows of vectors less the deleted ones). */
  get count(): number {
    return this.snap.documents;
  }

  /** Whether the index holds documents as token windows (built with --chunk): searches return one hit per document. */
  get chunked(): boolean {
    return this.snap.manifest.chunking !== undefined;
  }

  /**
   * The k best passages of each query. mode 'vector' (default) encodes the queries with the index's model (its
   * query prompt, if any); 'keyword' ranks by BM25 alone; 'hybrid' fuses the two rankings (fusion.ts).
   */
  async search(queries: string | readonly string[], k = 10, options: SearchOptions = {}): Promise<IndexHit[][]> {
    const list = typeof queries === 'string' ? [queries] : queries;
    const mode = checkMode(options.mode);
    if (mode === 'hybrid') checkFusion(options);
    throwIfCancelled(options.signal, 'search');
    return this.searchEncoded(list, mode === 'keyword' ? undefined : await this.model.encode(list, { prompt: this.prompts.query, ...(options.signal !== undefined ? { signal: options.signal } : {}) }), k, options);
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
    checkK(k);
    throwIfCancelled(options.signal, 'search');
    if (mode === 'hybrid') checkFusion(options);
    return this.withSnapshot(async (s) => {
      const t0 = performance.now();
      const filter = options.filter !== undefined ? compileFilter(options.filter, s.fields) : undefined;
      const rank = async (kk: number): Promise<ScoredRow[][]> => {
        let ranked: { index: number; score: number }[][];
        if (mode === 'keyword') ranked = list.map((q) => s.docs.keywordSearch(q, kk, s.view, filter));
        else {
          // Each ranking goes deeper than k, so a passage near the top of either one can still reach the fused top k.
          const depth = Math.min(s.live, Math.max(kk, options.fusionDepth ?? DEFAULT_FUSION_DEPTH));
          const keyword = list.map((q) => s.docs.keywordSearch(q, depth, s.view, filter));
          const vector = await this.vectorSearch(s, embeddings as MatrixLike, depth, options, filter);
          ranked = list.map((_, qi) => fuse((vector[qi] ?? []).map((h) => ({ index: h.row, score: h.score })), keyword[qi] ?? [], options).slice(0, kk));
        }
        return ranked.map((hits) => hits.map((h) => ({ row: h.index, score: h.score })));
      };
      if (s.manifest.chunking !== undefined) return this.groupedHits(s, list.length, k, rank, t0, options, filter);
      const kk = Math.min(k, s.live);
      if (kk === 0) return list.map(() => []);
      return this.fetchHits(s, await rank(kk), t0, options.timings, options.signal);
    });
  }

  /** The passages of ranked rows, with the time of ranking (since t0) and of reading them added to `timings`. */
  private fetchHits(s: Snapshot, ranked: readonly (readonly ScoredRow[])[], t0: number, timings: SearchTimings | undefined, signal?: CancelSignal): IndexHit[][] {
    throwIfCancelled(signal, 'search');
    const t1 = performance.now();
    const out = ranked.map((hits) => hits.map((h) => this.hit(s, h.row, h.score)));
    if (timings !== undefined) {
      timings.searchMs += t1 - t0;
      timings.fetchMs += performance.now() - t1;
    }
    return out;
  }

  private hit(s: Snapshot, row: number, score: number, chunkScore?: number): IndexHit {
    const doc = s.docs.get(row, s.fields);
    if (doc === undefined) {
      throw new SemsearchError('INDEX_CORRUPT', `${s.docs.file} has no passage for row ${row}, which the vectors hold: rebuild the index`, { file: s.docs.file });
    }
    return {
      index: row,
      id: doc.id,
      score,
      text: doc.text,
      ...(doc.metadata !== undefined ? { metadata: doc.metadata } : {}),
      ...(doc.chunk !== undefined ? { chunk: { ...doc.chunk, score: chunkScore ?? score } } : {}),
    };
  }

  /**
   * A chunked index's hits: one per document. The windows' ranking (`rank`, any mode) is read deeper until it
   * settles the k best documents (groupRanking) or runs out, so the answer is the grouping of the whole ranking.
   */
  private async groupedHits(
    s: Snapshot,
    queries: number,
    k: number,
    rank: (depth: number) => Promise<ScoredRow[][]>,
    t0: number,
    options: SearchOptions,
    filter: CompiledFilter | undefined,
  ): Promise<IndexHit[][]> {
    const group = checkChunkScore(options);
    const rows = filter !== undefined ? this.allowedRows(s, filter).rows.length : s.live;
    const out: (DocumentHit[] | undefined)[] = new Array<DocumentHit[] | undefined>(queries).fill(undefined);
    if (rows === 0) return Array.from({ length: queries }, () => []);
    const ids = new Map<number, string>();
    const idOf = (row: number): string => {
      let id = ids.get(row);
      if (id === undefined) {
        id = s.docs.idOf(row);
        if (id === undefined) throw new SemsearchError('INDEX_CORRUPT', `${s.docs.file} has no passage for row ${row}, which the vectors hold: rebuild the index`, { file: s.docs.file });
        ids.set(row, id);
      }
      return id;
    };
    const windows = new Map<string, number>();
    const windowsOf = (id: string): number => {
      let n = windows.get(id);
      if (n === undefined) windows.set(id, (n = s.docs.visibleRowCount(id, s.view)));
      return n;
    };
    for (let depth = Math.min(rows, Math.max(4 * k, k + 16)); ; depth = Math.min(rows, depth * 4)) {
      throwIfCancelled(options.signal, 'search');
      const ranked = await rank(depth);
      let open = 0;
      ranked.forEach((r, qi) => {
        if (out[qi] !== undefined) return;
        const settled = groupRanking(r, k, r.length < depth || depth >= rows, group, idOf, windowsOf);
        if (settled === undefined) open++;
        else out[qi] = settled;
      });
      if (open === 0) break;
    }
    throwIfCancelled(options.signal, 'search');
    const t1 = performance.now();
    const hits = out.map((docs) => (docs ?? []).map((d) => this.hit(s, d.row, d.score, d.chunkScore)));
    if (options.timings !== undefined) {
      options.timings.searchMs += t1 - t0;
      options.timings.fetchMs += performance.now() - t1;
    }
    return hits;
  }

  /** Whether searches go through an HNSW graph by default. */
  get hasAnn(): boolean {
    return this.snap.ann !== undefined;
  }

  /** Search with query embeddings already computed by the index's model. */
  async searchEmbeddings(queries: MatrixLike, k = 10, options: SearchOptions = {}): Promise<IndexHit[][]> {
    checkK(k);
    throwIfCancelled(options.signal, 'search');
    return this.withSnapshot(async (s) => {
      const t0 = performance.now();
      const filter = options.filter !== undefined ? compileFilter(options.filter, s.fields) : undefined;
      if (s.manifest.chunking !== undefined) return this.groupedHits(s, toMatrix(queries, 'queries').rows, k, (depth) => this.vectorSearch(s, queries, depth, options, filter), t0, options, filter);
      return this.fetchHits(s, await this.vectorSearch(s, queries, k, options, filter), t0, options.timings, options.signal);
    });
  }

  private allowedRows(s: Snapshot, filter: CompiledFilter): AllowedRows {
    let a = s.filters.get(filter.key);
    if (a === undefined) {
      const rows = s.docs.filterRows(s.view, filter);
      const skip = new Uint8Array(new SharedArrayBuffer(Math.ceil(s.manifest.count / 8))).fill(0xff);
      for (const r of rows) skip[r >> 3] = (skip[r >> 3] as number) & ~(1 << (r & 7));
      a = { rows, skip };
      if (s.filters.size >= FILTER_CACHE) s.filters.delete(s.filters.keys().next().value as string);
      s.filters.set(filter.key, a);
    }
    return a;
  }

  /** Vector top-k of each query among the live rows a filter allows: the exact scan, the graph, or the allowed rows alone. */
  private async vectorSearch(s: Snapshot, queries: MatrixLike, k: number, options: SearchOptions, filter: CompiledFilter | undefined): Promise<ScoredRow[][]> {
    const m = s.manifest;
    const mult = options.rescoreMultiplier;
    if (mult !== undefined && (!Number.isInteger(mult) || mult < 1 || mult > MAX_RESCORE_MULTIPLIER)) {
      throw new SemsearchError('INVALID_ARGUMENT', `rescoreMultiplier must be an integer from 1 to ${MAX_RESCORE_MULTIPLIER}, got ${mult}`, { field: 'rescoreMultiplier' });
    }
    const q0 = toMatrix(queries, 'queries');
    if (q0.dim !== m.dim) {
      throw new SemsearchError('SHAPE_MISMATCH', `query embeddings have dim ${q0.dim}, the index ${m.dim}`, { field: 'queries' });
    }
    const q = m.normalized ? normalizeRows(new Matrix(q0.rows, q0.dim, Float32Array.from(q0.data))) : q0;
    const allowed = filter !== undefined ? this.allowedRows(s, filter) : undefined;
    const candidates = allowed !== undefined ? allowed.rows.length : s.live;
    const kk = Math.min(k, candidates);
    if (kk === 0) return Array.from({ length: q.rows }, () => []);
    const skip = allowed !== undefined ? allowed.skip : s.deleted;
    const exactOptions: ExactSearchOptions = {
      k: kk,
      precision: m.precision,
      dim: m.dim,
      ...(m.ranges !== undefined ? { ranges: m.ranges } : {}),
      ...(options.rescore === false ? { rescore: false } : {}),
      ...(options.rescoreMultiplier !== undefined ? { rescoreMultiplier: options.rescoreMultiplier } : {}),
      ...(skip !== undefined ? { skip, skipCount: m.count - candidates } : {}),
    };
    // A selective filter: score its rows alone, exactly (binary indexes keep their hamming-then-rescore method).
    if (allowed !== undefined && m.precision !== 'binary' && allowed.rows.length <= s.live * SELECTIVE) {
      return Array.from({ length: q.rows }, (_, qi) => {
        throwIfCancelled(options.signal, 'search');
        return scoreRows(q.row(qi), allowed.rows, s.shards, exactOptions).slice(0, kk);
      });
    }
    // The parallel searcher posts its options to its threads, where a signal cannot go: it is checked before and after.
    const scan = (qm: Matrix): Promise<ScoredRow[][]> | ScoredRow[][] =>
      s.parallel !== undefined
        ? s.parallel.search(qm, exactOptions)
        : exactSearch(qm, s.shards, { ...exactOptions, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
    const exact = async (qm: Matrix): Promise<ScoredRow[][]> => {
      if (qm.rows >= GEMM_MIN_QUERIES && GEMM_PRECISIONS.includes(m.precision)) {
        this.gemm ??= GemmSearcher.create(m.dim, this.searchThreads !== undefined ? { threads: this.searchThreads } : {});
        const found = await (await this.gemm).search(qm, s.shards, { ...exactOptions, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
        if (found !== undefined) return found;
      }
      return scan(qm);
    };
    if (s.ivf !== undefined && options.exact !== true && m.precision === 'binary') return this.ivfSearch(s, s.ivf, q, kk, candidates, options, exactOptions, allowed, exact);
    if (s.ann === undefined || s.graph === undefined || options.exact === true) return exact(q);
    const ef = options.ef ?? s.ann.entry.expansionSearch;
    checkEf(ef);
    // A walk as wide as the rows it could return visits them all and costs more than scanning them, and HNSW
    // guarantees no walk reaches every node (near-duplicate vectors can leave a node with no way in): scan.
    if (ef >= candidates) return exact(q);
    // The graph finds candidates among the rows it was given; the rows added since (the tail) are scored exactly,
    // as are the candidates, on the stored vectors, as on the exact path. Deleted rows are still nodes of the
    // graph (skipped here), so the walk widens by their share, and with a filter by the share of rows it refuses.
    const g = s.graph;
    const tail = allowed !== undefined ? allowed.rows.filter((r) => r >= g.rows) : g.tail;
    const inGraph = allowed !== undefined ? allowed.rows.length - tail.length : g.live;
    const tombstones = g.nodes / Math.max(1, g.live);
    const filtered = allowed !== undefined ? Math.max(ef, Math.ceil((2 * kk * s.live) / candidates)) : ef;
    const widen = Math.min(MAX_EF, Math.ceil(filtered * tombstones));
    const found = inGraph > 0 ? s.ann.search(q.data, q.dim, Math.min(g.nodes, Math.ceil(kk * tombstones)), widen) : Array.from({ length: q.rows }, () => []);
    const out: ScoredRow[][] = [];
    const fallback: number[] = [];
    found.forEach((hits, qi) => {
      throwIfCancelled(options.signal, 'search');
      const rows = hits.map((h) => h.row).filter((r) => r < g.rows && !skips(skip, r));
      // Fewer allowed candidates than k (or than the graph holds): the graph cannot answer this query; the scan can.
      if (rows.length < Math.min(kk, inGraph)) fallback.push(qi);
      out.push(scoreRows(q.row(qi), tail.length > 0 ? rows.concat(tail) : rows, s.shards, exactOptions).slice(0, kk));
    });
    if (fallback.length > 0) {
      const sub = new Matrix(fallback.length, q.dim, new Float32Array(fallback.length * q.dim));
      fallback.forEach((qi, j) => sub.data.set(q.row(qi), j * q.dim));
      throwIfCancelled(options.signal, 'search');
      const again = await exact(sub);
      fallback.forEach((qi, j) => (out[qi] = again[j] ?? []));
    }
    return out;
  }

  /**
   * The IVF path of a binary index: each query's hamming candidates among the rows of its `nprobe` nearest lists and
   * the rows written since the lists were built, rescored as the exact path rescores them. A query whose probed rows
   * hold fewer allowed candidates than it needs (deletes, a filter) is scanned exactly, as the graph path does.
   */
  private async ivfSearch(
    s: Snapshot,
    ivf: NonNullable<Snapshot['ivf']>,
    q: Matrix,
    kk: number,
    candidates: number,
    options: SearchOptions,
    exactOptions: ExactSearchOptions,
    allowed: AllowedRows | undefined,
    exact: (qm: Matrix) => Promise<ScoredRow[][]>,
  ): Promise<ScoredRow[][]> {
    const m = s.manifest;
    const nprobe = options.nprobe ?? ivf.searcher.entry.nprobe;
    checkNprobe(nprobe, ivf.searcher.lists.nlist);
    const kc = options.rescore === false ? kk : kk * (options.rescoreMultiplier ?? 4);
    const from = ivf.searcher.entry.rows;
    const tail = allowed !== undefined ? allowed.rows.filter((r) => r >= from) : ivf.tail;
    const out: ScoredRow[][] = [];
    const fallback: number[] = [];
    for (let qi = 0; qi < q.rows; qi++) {
      throwIfCancelled(options.signal, 'search');
      const qv = q.row(qi);
      const bits = signBits(qv, m.dim);
      const top = await ivfCandidates(ivf.searcher, qv, bits, nprobe, kc, exactOptions.skip, tail, s.shards);
      if (top.size < Math.min(kc, candidates)) fallback.push(qi);
      out.push(rescoreBinary(qv, top, s.shards, exactOptions));
    }
    if (fallback.length > 0) {
      const sub = new Matrix(fallback.length, q.dim, new Float32Array(fallback.length * q.dim));
      fallback.forEach((qi, j) => sub.data.set(q.row(qi), j * q.dim));
      const again = await exact(sub);
      fallback.forEach((qi, j) => (out[qi] = again[j] ?? []));
    }
    return out;
  }

  /**
   * Add or replace documents (upsert by id), encoded with this index's model, then load the committed state. One
   * writer at a time per index: INDEX_LOCKED when another holds it (after `waitMs`).
   */
  async upsert(documents: readonly WriteDocument[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.write((w) => w.upsert(documents), options);
  }

  /** Delete documents by id (UNKNOWN_DOCUMENT, and nothing deleted, when one is not in the index). */
  async delete(ids: string | readonly string[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.write((w) => w.delete(typeof ids === 'string' ? [ids] : ids), options);
  }

  /** Rewrite the index without its deleted rows (see IndexWriter.compact). */
  async compact(options: WriteOptions & CompactOptions = {}): Promise<WriteResult> {
    return this.write((w) => w.compact(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}), options);
  }

  private async write(fn: (w: IndexWriter) => Promise<WriteResult>, options: WriteOptions): Promise<WriteResult> {
    const writer = await IndexWriter.open(this.dir, { model: this.model, ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}) });
    try {
      return await fn(writer);
    } finally {
      await writer.close();
      await this.refresh();
    }
  }

  info(): IndexInfo {
    return indexInfo(this.dir, this.snap.manifest);
  }

  /** The first live passage in row order (undefined in an empty index): a real text of the index to show, e.g. as an example. */
  firstPassage(): IndexHit | undefined {
    const s = this.snap;
    for (let row = 0; row < s.view.count; row++) if (!skips(s.deleted, row)) return this.hit(s, row, 0);
    return undefined;
  }

  async close(): Promise<void> {
    await SearchIndex.release(this.snap, undefined);
    const gemm = this.gemm;
    this.gemm = undefined;
    if (gemm !== undefined) await (await gemm).close();
    if (this.ownModel) await this.model.dispose();
  }
}

export function openIndex(dir: string, options: OpenIndexOptions = {}): Promise<SearchIndex> {
  return SearchIndex.open(dir, options);
}
