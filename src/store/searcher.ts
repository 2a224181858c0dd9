// The contract every search backend keeps (the local index in search-index.ts, the OpenSearch index in
// opensearch/): what a hit is, what a search and a write take, and the argument checks they share.
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError, type CancelSignal } from '../errors.js';
import type { MatrixLike } from '../tensor/matrix.js';
import type { Filter, Metadata } from './filter.js';
import { SEARCH_MODES, type FusionMethod, type SearchMode } from './fusion.js';
import type { IndexPrompts } from './prompts.js';
import type { WriteDocument, WriteResult } from './write-index.js';

export interface IndexHit {
  /** Row number in the index. */
  index: number;
  /** The passage id from the corpus. */
  id: string;
  score: number;
  text: string;
  /** The passage's metadata fields that have a value, when it has any. */
  metadata?: Metadata;
  /**
   * Chunked indexes: the document's window that won (its `text` is that window): its number, its UTF-16 offsets in
   * the document's text (end exclusive), and its own score (`score` is the document's: this one, or with
   * `chunkScore: 'sum'` the sum of its best windows').
   */
  chunk?: { number: number; start: number; end: number; score: number };
}

/** How a chunked index scores a document from its windows: its best window's score, or the sum of its best `sumChunks`. */
export type ChunkScore = 'max' | 'sum';
export const CHUNK_SCORES: readonly ChunkScore[] = ['max', 'sum'];
/** Windows summed by chunkScore 'sum' (default). */
export const DEFAULT_SUM_CHUNKS = 3;

export interface SearchOptions {
  /** Scan every vector even when the index has an HNSW graph or IVF lists (default: use them when there are). */
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
  /**
   * Binary indexes with IVF lists: how many lists (those whose centroids are nearest the query) are scanned (default:
   * the nprobe the lists were built with; nlist scans every list and gives the exact binary path's hits).
   */
  nprobe?: number;
  /**
   * Only passages whose metadata match (filter.ts): `{ year: { gte: 2020 } }`, `{ and: [...] }`, … Vector search
   * with a filter is exact over the allowed rows: a selective filter scores just them; a broad one scans (or walks
   * the graph) skipping the rest, and falls back to the scan when the graph cannot supply k allowed hits.
   */
  filter?: Filter;
  /** Chunked indexes: a document's score from its windows' (default 'max'); other indexes ignore it. */
  chunkScore?: ChunkScore;
  /** chunkScore 'sum': how many of a document's best windows are summed (default 3). */
  sumChunks?: number;
  /** Accumulates where the time went, in ms (a server's per-stage metrics): scoring vectors, and reading the hits' passages. */
  timings?: SearchTimings;
  /**
   * Stop early: an aborted signal rejects the search with CANCELLED, checked before the query encoding, the scan,
   * each query's graph walk or row scoring, and the read of the passages (one kernel scan is not interrupted).
   */
  signal?: CancelSignal;
}

/** Milliseconds spent per search stage, added to by each call given the object. */
export interface SearchTimings {
  searchMs: number;
  fetchMs: number;
}

/** Options of SearchIndex.upsert / delete / compact. */
export interface WriteOptions {
  /** How long to wait for another writer to finish before INDEX_LOCKED (default 0). */
  waitMs?: number;
}

/**
 * What the CLI, the server and the evaluator need of an index, whichever backend holds it: the local index
 * (SearchIndex) or an OpenSearch index (OpenSearchIndex). Encoding always happens in semsearch, with the model the
 * index was built with; the backend stores the vectors and searches them.
 */
export interface Searcher {
  /** 'local' or 'opensearch'. */
  readonly backend: string;
  /** The model queries and documents are encoded with. */
  readonly model: SentenceTransformer;
  /** The prompt texts its documents were encoded with and its queries take ("" for none). */
  readonly prompts: IndexPrompts;
  /** Live documents. */
  readonly count: number;
  /** Whether the index holds documents as token windows (built with --chunk): hits are one per document, with its best window. */
  readonly chunked?: boolean;
  /** The k best passages of each query (mode vector, keyword or hybrid; filters; see SearchOptions). */
  search(queries: string | readonly string[], k?: number, options?: SearchOptions): Promise<IndexHit[][]>;
  /** search() with the query embeddings already computed by `model` (keyword mode needs none). */
  searchEncoded(list: readonly string[], embeddings: MatrixLike | undefined, k?: number, options?: SearchOptions): Promise<IndexHit[][]>;
  /** Vector search with query embeddings already computed by `model`. */
  searchEmbeddings(queries: MatrixLike, k?: number, options?: SearchOptions): Promise<IndexHit[][]>;
  /** Add or replace documents by id. */
  upsert(documents: readonly WriteDocument[], options?: WriteOptions): Promise<WriteResult>;
  /** Delete documents by id: UNKNOWN_DOCUMENT, and nothing deleted, when one is not there. */
  delete(ids: string | readonly string[], options?: WriteOptions): Promise<WriteResult>;
  close(): Promise<void>;
}

export function checkMode(mode: SearchMode | undefined): SearchMode {
  const m = mode ?? 'vector';
  if (!SEARCH_MODES.includes(m)) {
    throw new SemsearchError('INVALID_ARGUMENT', `mode must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(m)}`, { field: 'mode' });
  }
  return m;
}

export function checkChunkScore(options: Pick<SearchOptions, 'chunkScore' | 'sumChunks'>): { how: ChunkScore; sum: number } {
  const how = options.chunkScore ?? 'max';
  if (!CHUNK_SCORES.includes(how)) {
    throw new SemsearchError('INVALID_ARGUMENT', `chunkScore must be one of ${CHUNK_SCORES.join(', ')}, got ${JSON.stringify(how)}`, { field: 'chunkScore' });
  }
  const sum = options.sumChunks ?? DEFAULT_SUM_CHUNKS;
  if (!Number.isInteger(sum) || sum < 1 || sum > 1000) throw new SemsearchError('INVALID_ARGUMENT', `sumChunks must be an integer from 1 to 1000, got ${sum}`, { field: 'sumChunks' });
  return { how, sum };
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new SemsearchError('INVALID_ARGUMENT', `k must be a positive integer, got ${k}`, { field: 'k' });
}
