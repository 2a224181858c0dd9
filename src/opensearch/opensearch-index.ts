import { loadModel } from '../encoder/load-model.js';
import type { Device } from '../model/device.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError } from '../errors.js';
import { Matrix, toMatrix, type MatrixLike } from '../tensor/matrix.js';
import { floatRowScore } from '../store/exact-search.js';
import { checkFusion, DEFAULT_FUSION_DEPTH, fuse, type SearchMode } from '../store/fusion.js';
import type { Metadata } from '../store/filter.js';
import { modelFingerprint } from '../store/model-fingerprint.js';
import { indexPrompts, type IndexPrompts } from '../store/prompts.js';
import { documentRows } from '../store/chunk-rows.js';
import type { ScoredRow } from '../store/exact-search.js';
import { groupRanking } from '../store/group.js';
import { checkChunkScore, checkK, checkMode, type IndexHit, type Searcher, type SearchOptions, type WriteOptions } from '../store/searcher.js';
import { checkDocuments, checkIds, unknownDocuments, type WriteDocument, type WriteResult } from '../store/write-index.js';
import { bulkWrite } from './bulk.js';
import { OpenSearchConnection, type ConnectOptions } from './connection.js';
import { CHUNK_FIELD, readMeta, VECTOR_FIELD, windowId, writeMeta, type RemoteMeta } from './mapping.js';
import { checkOversample, DEFAULT_OVERSAMPLE, filterQuery, similarityFromScore, vectorJson } from './query.js';

/** OpenSearch's cap on a k-NN query's k. */
const MAX_KNN_K = 10_000;

export interface OpenSearchIndexOptions extends ConnectOptions {
  /** The OpenSearch index that `semsearch push` filled. */
  indexName: string;
  /** A loaded model to encode with; it must be the one the index was pushed with. */
  model?: SentenceTransformer;
  /** ONNX Runtime threads for encoding. */
  threads?: number;
  /** Where ONNX Runtime encodes: 'cpu' (default) or 'cuda' (see LoadModelOptions.device). */
  device?: Device;
  onWarning?: (message: string) => void;
  /** Candidates asked of each shard per hit wanted (k × oversample; default 10). */
  oversample?: number;
  /**
   * Rescore the candidates with the query embedding in semsearch's own arithmetic (default false): the scores then
   * equal the local index's bit for bit, and the order follows them.
   */
  rescore?: boolean;
}

/** Search options of the OpenSearch backend: those of the local index, with oversampling and rescoring per call. */
export interface RemoteSearchOptions extends SearchOptions {
  oversample?: number;
}

export interface RemoteInfo {
  backend: 'opensearch';
  url: string;
  indexName: string;
  model: string;
  modelType: string;
  /** The ONNX file queries are encoded with, relative to the model folder. */
  onnxFile: string;
  similarity: string;
  spaceType: string;
  dim: number;
  /** The local index's precision, whose arithmetic rescoring repeats. */
  precision: RemoteMeta['precision'];
  live: number;
  fields: RemoteMeta['fields'];
  shards: number;
  replicas: number;
  /** A chunked index: its window settings and the windows the cluster holds (`live` counts documents). */
  chunking?: { maxTokens: number; overlap: number; windows: number };
  synced?: RemoteMeta['synced'];
  pushing: boolean;
  /** This connection's defaults: candidates per hit asked of each shard, and whether they are rescored here. */
  oversample: number;
  rescore: boolean;
}

/** A window's place in its document, as a chunked index's source holds it. */
interface WindowSource {
  number: number;
  start: number;
  end: number;
  /** The document's window count. */
  windows: number;
}

interface SearchHitBody {
  _id: string;
  _score: number;
  _source?: { id?: string; text?: string; metadata?: Metadata; vector?: number[]; chunk?: WindowSource };
}

/** One entry of a ranking of OpenSearch documents (windows in a chunked index), best first. */
interface Ranked {
  h: SearchHitBody;
  score: number;
}

/**
 * An index held by an OpenSearch cluster (filled by `semsearch push`), searched like a local one: semsearch encodes
 * the queries with the model the index was pushed with, and the cluster searches the vectors (k-NN, lucene HNSW),
 * the texts (BM25) or both (fused here, as locally). Each shard is asked for k × oversample candidates; with
 * `rescore` their scores are recomputed here in the local index's arithmetic.
 */
export class OpenSearchIndex implements Searcher {
  readonly backend = 'opensearch';
  readonly conn: OpenSearchConnection;
  readonly indexName: string;
  readonly model: SentenceTransformer;
  private meta: RemoteMeta;
  private live: number;
  private readonly ownModel: boolean;
  /** Candidates per hit asked of each shard, unless a search says otherwise. */
  readonly oversample: number;
  /** Whether candidates are rescored here, unless a search says otherwise. */
  readonly rescore: boolean;

  private constructor(conn: OpenSearchConnection, indexName: string, meta: RemoteMeta, model: SentenceTransformer, ownModel: boolean, live: number, o: OpenSearchIndexOptions) {
    this.conn = conn;
    this.indexName = indexName;
    this.meta = meta;
    this.model = model;
    this.ownModel = ownModel;
    this.live = live;
    this.oversample = checkOversample(o.oversample ?? DEFAULT_OVERSAMPLE);
    this.rescore = o.rescore === true;
  }

  get prompts(): IndexPrompts {
    return indexPrompts(this.meta.model, this.model);
  }

  static async open(options: OpenSearchIndexOptions): Promise<OpenSearchIndex> {
    const conn = new OpenSearchConnection(options);
    let model = options.model;
    const ownModel = model === undefined;
    try {
      const meta = await readMeta(conn, options.indexName);
      if (meta === undefined) {
        throw new SemsearchError('INDEX_NOT_FOUND', `OpenSearch at ${conn.url} has no index ${options.indexName}: fill it with semsearch push <index> --url ${conn.url} --index-name ${options.indexName}`, { field: 'indexName' });
      }
      model ??= await loadModel(meta.model.ref, {
        onnxFile: meta.model.onnxFile,
        workers: 1,
        ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.device !== undefined ? { device: options.device } : {}),
      });
      if (modelFingerprint(model) !== meta.model.fingerprint) {
        throw new SemsearchError('INDEX_MISMATCH', `the OpenSearch index ${options.indexName} holds vectors of ${meta.model.ref}; queries must be encoded with that same model`, { field: 'model' });
      }
      const live = await countOf(conn, options.indexName, meta.chunking !== undefined);
      return new OpenSearchIndex(conn, options.indexName, meta, model, ownModel, live, options);
    } catch (e) {
      if (ownModel && model !== undefined) await model.dispose();
      await conn.close();
      throw e;
    }
  }

  /** Whether the index holds documents as token windows (pushed from an index built with --chunk): hits are one per document. */
  get chunked(): boolean {
    return this.meta.chunking !== undefined;
  }

  /** Live documents, as of the last open, write or refreshCount(). */
  get count(): number {
    return this.live;
  }

  /** Ask the cluster for the live count now (documents others have written since are counted once the index refreshed). */
  async refreshCount(): Promise<number> {
    this.live = await countOf(this.conn, this.indexName, this.chunked);
    return this.live;
  }

  async search(queries: string | readonly string[], k = 10, options: RemoteSearchOptions = {}): Promise<IndexHit[][]> {
    const list = typeof queries === 'string' ? [queries] : queries;
    const mode = checkMode(options.mode);
    if (mode === 'hybrid') checkFusion(options);
    return this.searchEncoded(list, mode === 'keyword' ? undefined : await this.model.encode(list, { prompt: this.prompts.query }), k, options);
  }

  async searchEncoded(list: readonly string[], embeddings: MatrixLike | undefined, k = 10, options: RemoteSearchOptions = {}): Promise<IndexHit[][]> {
    checkK(k);
    const mode = checkMode(options.mode);
    if (mode === 'hybrid') checkFusion(options);
    if (mode !== 'keyword' && embeddings === undefined) throw new SemsearchError('INVALID_ARGUMENT', `${mode} search needs the query embeddings`, { field: 'queries' });
    // Options of the local graph would be ignored here, and a hit list said to be exact would not be.
    if (options.exact === true) {
      throw new SemsearchError('INVALID_ARGUMENT', 'an OpenSearch index is searched through its HNSW graphs, never exactly: raise oversample for recall, and rescore for exact scores of the candidates', { field: 'exact' });
    }
    if (options.ef !== undefined) throw new SemsearchError('INVALID_ARGUMENT', 'ef is an option of the local HNSW graph; on OpenSearch, raise oversample instead', { field: 'ef' });
    if (options.nprobe !== undefined) throw new SemsearchError('INVALID_ARGUMENT', 'nprobe is an option of a local binary index\'s IVF lists; on OpenSearch, raise oversample instead', { field: 'nprobe' });
    const t0 = performance.now();
    try {
      return await this.searchBy(mode, list, embeddings, k, options);
    } finally {
      if (options.timings !== undefined) options.timings.searchMs += performance.now() - t0;
    }
  }

  private async searchBy(mode: SearchMode, list: readonly string[], embeddings: MatrixLike | undefined, k: number, options: RemoteSearchOptions): Promise<IndexHit[][]> {
    const filter = options.filter !== undefined ? filterQuery(options.filter, this.meta.fields) : undefined;
    const q = mode === 'keyword' ? undefined : this.queryMatrix(toMatrix(embeddings as MatrixLike, 'queries'));
    const queries = q?.rows ?? list.length;
    // The ranking of OpenSearch documents, `depth` deep, for the queries numbered in `which`.
    const rank = async (depth: number, which: readonly number[]): Promise<Ranked[][]> => {
      const texts = which.map((qi) => list[qi] as string);
      if (mode === 'vector') return this.vectorRank(q as Matrix, which, depth, options, filter);
      if (mode === 'keyword') return this.keywordRank(texts, depth, filter);
      const deep = Math.max(depth, options.fusionDepth ?? DEFAULT_FUSION_DEPTH);
      const [keyword, vector] = await Promise.all([this.keywordRank(texts, deep, filter), this.vectorRank(q as Matrix, which, deep, options, filter)]);
      return which.map((_, j) => {
        // Fusion ranks by position; entries are told apart by their OpenSearch _id, numbered for it here.
        const numbers = new Map<string, number>();
        const entries: Ranked[] = [];
        const number = (r: Ranked): number => {
          let n = numbers.get(r.h._id);
          if (n === undefined) {
            n = entries.push(r) - 1;
            numbers.set(r.h._id, n);
          }
          return n;
        };
        const v = (vector[j] ?? []).map((r) => ({ index: number(r), score: r.score }));
        const kw = (keyword[j] ?? []).map((r) => ({ index: number(r), score: r.score }));
        return fuse(v, kw, options)
          .slice(0, depth)
          .map((f) => ({ h: (entries[f.index] as Ranked).h, score: f.score }));
      });
    };
    const all = Array.from({ length: queries }, (_, qi) => qi);
    if (!this.chunked) return (await rank(k, all)).map((ranked) => ranked.map((r) => this.hit(r.h, r.score)));
    return this.groupedHits(all, k, rank, options);
  }

  /**
   * A chunked index's hits, one per document: the windows' ranking is read deeper until it settles the k best
   * documents (groupRanking, as the local index groups) or reaches OpenSearch's 10,000-hit cap. A document's window
   * count travels in each window's source, so 'sum' knows when a document's windows are all counted.
   */
  private async groupedHits(all: readonly number[], k: number, rank: (depth: number, which: readonly number[]) => Promise<Ranked[][]>, options: RemoteSearchOptions): Promise<IndexHit[][]> {
    const group = checkChunkScore(options);
    const out: IndexHit[][] = all.map(() => []);
    let open = all;
    for (let depth = Math.min(MAX_KNN_K, Math.max(4 * k, k + 16)); open.length > 0; depth = Math.min(MAX_KNN_K, depth * 4)) {
      const ranked = await rank(depth, open);
      const still: number[] = [];
      open.forEach((qi, j) => {
        const entries = ranked[j] ?? [];
        const windows = new Map<string, number>();
        const idOf = (row: number): string => {
          const h = (entries[row] as Ranked).h;
          const c = h._source?.chunk;
          const id = h._source?.id;
          if (c === undefined || id === undefined) {
            throw new SemsearchError('BACKEND_ERROR', `OpenSearch document ${h._id} of ${this.indexName} has no id or window in its source, which a chunked index's documents hold: push the index again`, { field: 'indexName' });
          }
          windows.set(id, c.windows);
          return id;
        };
        const rows: ScoredRow[] = entries.map((r, row) => ({ row, score: r.score }));
        const settled = groupRanking(rows, k, entries.length < depth || depth >= MAX_KNN_K, group, idOf, (id) => windows.get(id) as number);
        if (settled === undefined) still.push(qi);
        else out[qi] = settled.map((d) => this.hit((entries[d.row] as Ranked).h, d.score, d.chunkScore));
      });
      open = still;
    }
    return out;
  }

  /** search() with query embeddings already computed by the index's model. */
  async searchEmbeddings(queries: MatrixLike, k = 10, options: RemoteSearchOptions = {}): Promise<IndexHit[][]> {
    return this.searchEncoded([], queries, k, { ...options, mode: 'vector' });
  }

  private async msearch(bodies: Record<string, unknown>[]): Promise<SearchHitBody[][]> {
    if (bodies.length === 0) return [];
    const header = JSON.stringify({ index: this.indexName });
    const ndjson = bodies.map((b) => `${header}\n${JSON.stringify(b)}\n`).join('');
    const r = await this.conn.request<{ responses: { hits?: { hits: SearchHitBody[] }; error?: unknown; status?: number }[] }>('POST', '/_msearch', undefined, { ndjson });
    return r.body.responses.map((x) => {
      if (x.error !== undefined || x.hits === undefined) {
        throw new SemsearchError('BACKEND_ERROR', `OpenSearch at ${this.conn.url} failed a search of ${this.indexName}: ${JSON.stringify(x.error).slice(0, 400)}`, { field: 'indexName' });
      }
      return x.hits.hits;
    });
  }

  private hit(h: SearchHitBody, score: number, chunkScore?: number): IndexHit {
    const s = h._source ?? {};
    const c = s.chunk;
    return {
      index: -1,
      id: s.id ?? h._id,
      score,
      text: s.text ?? '',
      ...(s.metadata !== undefined && Object.keys(s.metadata).length > 0 ? { metadata: s.metadata } : {}),
      ...(c !== undefined ? { chunk: { number: c.number, start: c.start, end: c.end, score: chunkScore ?? score } } : {}),
    };
  }

  private async keywordRank(list: readonly string[], k: number, filter: Record<string, unknown> | undefined): Promise<Ranked[][]> {
    const bodies = list.map((q) => ({
      size: k,
      _source: { excludes: [VECTOR_FIELD] },
      query: { bool: { must: [{ match: { text: q } }], ...(filter !== undefined ? { filter: [filter] } : {}) } },
    }));
    return (await this.msearch(bodies)).map((hits) => hits.map((h) => ({ h, score: h._score })));
  }

  /** Query embeddings as the index scores them: cos indexes hold unit vectors and score by the dot product with a unit query, as locally. */
  private queryMatrix(q0: Matrix): Matrix {
    if (q0.dim !== this.meta.dim) throw new SemsearchError('SHAPE_MISMATCH', `query embeddings have dim ${q0.dim}, the index ${this.meta.dim}`, { field: 'queries' });
    return this.meta.normalized ? normalizeRows(new Matrix(q0.rows, q0.dim, Float32Array.from(q0.data))) : q0;
  }

  /** The k-NN ranking, k deep, of the query rows numbered in `which`. */
  private async vectorRank(q: Matrix, which: readonly number[], k: number, options: RemoteSearchOptions, filter: Record<string, unknown> | undefined): Promise<Ranked[][]> {
    const oversample = checkOversample(options.oversample ?? this.oversample);
    const rescore = options.rescore ?? this.rescore;
    const candidates = Math.min(MAX_KNN_K, k * oversample);
    const bodies = which.map((qi) => ({
      // Rescoring needs every candidate back with its vector; otherwise the cluster's own top k is the answer.
      size: rescore ? candidates : k,
      _source: rescore ? true : { excludes: [VECTOR_FIELD] },
      query: { knn: { [VECTOR_FIELD]: { vector: JSON.parse(vectorJson(q.row(qi))) as number[], k: candidates, ...(filter !== undefined ? { filter } : {}) } } },
    }));
    const answers = await this.msearch(bodies);
    return answers.map((hits, j) => {
      if (!rescore) return hits.map((h) => ({ h, score: similarityFromScore(h._score, this.meta.spaceType) }));
      const qv = q.row(which[j] as number);
      const scored = hits.map((h, order) => {
        const v = h._source?.vector;
        if (v === undefined || v.length !== this.meta.dim) {
          throw new SemsearchError('BACKEND_ERROR', `OpenSearch document ${h._id} of ${this.indexName} has no ${this.meta.dim}-dim vector in its source, so it cannot be rescored`, { field: 'rescore' });
        }
        // The source holds the shortest decimals of float32 values: back to exactly those float32 values first.
        return { h, order, score: floatRowScore(qv, Float32Array.from(v), 0, this.meta.dim, this.meta.precision === 'float32') };
      });
      scored.sort((a, b) => b.score - a.score || a.order - b.order);
      return scored.slice(0, k).map((x) => ({ h: x.h, score: x.score }));
    });
  }

  /** Add or replace documents by id, encoded here with the index's model; searchable when this resolves. */
  async upsert(documents: readonly WriteDocument[], _options: WriteOptions = {}): Promise<WriteResult> {
    const newFields = checkDocuments(documents, this.meta.fields);
    if (Object.keys(newFields).length > 0) {
      const meta = { ...this.meta, fields: { ...this.meta.fields, ...newFields } };
      await writeMeta(this.conn, this.indexName, meta, newFields);
      this.meta = meta;
    }
    const chunking = this.meta.chunking;
    // A chunked index stores each document as its windows, cut and encoded as a local chunked index cuts them.
    const rows = documents.flatMap((d) => documentRows(this.model, d, chunking, this.prompts.document));
    const emb = (await this.model.encode(
      rows.map((r) => r.input),
      { prompt: this.prompts.document },
    )) as Matrix;
    if (this.meta.normalized) normalizeRows(emb);
    const windows = new Map<string, number>();
    for (const r of rows) windows.set(r.id, (windows.get(r.id) ?? 0) + 1);
    const results = await bulkWrite(
      this.conn,
      this.indexName,
      rows.map((r, i) => {
        if (r.chunk === undefined) return { op: 'index', id: r.id, source: documentSource(r.id, r.text, r.metadata, emb.row(i)) };
        return { op: 'index', id: windowId(r.id, r.chunk.number), source: documentSource(r.id, r.text, r.metadata, emb.row(i), { ...r.chunk, windows: windows.get(r.id) as number }) };
      }),
      { refresh: 'wait_for' },
    );
    let replaced: number;
    if (chunking === undefined) replaced = [...results.values()].filter((r) => r === 'updated').length;
    else {
      // Every document has a window 0: one replaced it when it was there before. Windows past the new count are the
      // old text's tail; they go after the new windows are in, so a crash between leaves a document, never none.
      replaced = documents.filter((d) => results.get(windowId(d.id, 0)) === 'updated').length;
      await this.deleteWindows({ bool: { should: [...windows].map(([id, n]) => ({ bool: { filter: [{ term: { id } }, { range: { 'chunk.number': { gte: n } } }] } })), minimum_should_match: 1 } });
    }
    this.live = await countOf(this.conn, this.indexName, this.chunked);
    return { generation: 0, added: documents.length - replaced, replaced, deleted: 0, dropped: 0, live: this.live };
  }

  /** Delete documents by id: UNKNOWN_DOCUMENT, and nothing deleted, when one is not in the index. */
  async delete(idsIn: string | readonly string[], _options: WriteOptions = {}): Promise<WriteResult> {
    const ids = typeof idsIn === 'string' ? [idsIn] : idsIn;
    checkIds(ids);
    if (this.chunked) {
      // A document is there while any of its windows is (a delete that crashed half-way is finished by the next).
      const r = await this.conn.request<{ aggregations: { ids: { buckets: { key: string }[] } } }>('POST', `/${encodeURIComponent(this.indexName)}/_search`, {
        size: 0,
        query: { terms: { id: ids } },
        aggs: { ids: { terms: { field: 'id', size: ids.length } } },
      });
      const found = new Set(r.body.aggregations.ids.buckets.map((b) => b.key));
      const unknown = ids.filter((id) => !found.has(id));
      if (unknown.length > 0) throw unknownDocuments(unknown);
      await this.deleteWindows({ terms: { id: ids } });
    } else {
      const r = await this.conn.request<{ docs: { _id: string; found: boolean }[] }>('POST', `/${encodeURIComponent(this.indexName)}/_mget`, { ids }, { query: { _source: false } });
      const unknown = r.body.docs.filter((d) => !d.found).map((d) => d._id);
      if (unknown.length > 0) throw unknownDocuments(unknown);
      await bulkWrite(
        this.conn,
        this.indexName,
        ids.map((id) => ({ op: 'delete', id })),
        { refresh: 'wait_for' },
      );
    }
    this.live = await countOf(this.conn, this.indexName, this.chunked);
    return { generation: 0, added: 0, replaced: 0, deleted: ids.length, dropped: 0, live: this.live };
  }

  /**
   * Delete the windows a query matches, searchable when this resolves. By their _ids through _bulk, not
   * _delete_by_query: that lives in the reindex module, which a cluster may lack.
   */
  private async deleteWindows(query: Record<string, unknown>): Promise<void> {
    await this.conn.request('POST', `/${encodeURIComponent(this.indexName)}/_refresh`);
    const ids: string[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      const body = { size: 5000, _source: false, sort: [{ id: 'asc' }, { 'chunk.number': 'asc' }], query, ...(after !== undefined ? { search_after: after } : {}) };
      const r = await this.conn.request<{ hits: { hits: { _id: string; sort: unknown[] }[] } }>('POST', `/${encodeURIComponent(this.indexName)}/_search`, body);
      const hits = r.body.hits.hits;
      if (hits.length === 0) break;
      for (const h of hits) ids.push(h._id);
      after = hits[hits.length - 1]?.sort;
    }
    for (let i = 0; i < ids.length; i += 1000) {
      await bulkWrite(
        this.conn,
        this.indexName,
        ids.slice(i, i + 1000).map((id) => ({ op: 'delete', id })),
        { refresh: 'wait_for' },
      );
    }
  }

  async info(): Promise<RemoteInfo> {
    const meta = (await readMeta(this.conn, this.indexName)) ?? this.meta;
    const s = await this.conn.request<Record<string, { settings: { index: { number_of_shards: string; number_of_replicas: string } } }>>('GET', `/${encodeURIComponent(this.indexName)}/_settings`);
    const idx = Object.values(s.body)[0]?.settings.index;
    return {
      backend: 'opensearch',
      url: this.conn.url,
      indexName: this.indexName,
      model: meta.model.ref,
      modelType: meta.model.modelType,
      onnxFile: meta.model.onnxFile,
      similarity: meta.model.similarityFnName,
      spaceType: meta.spaceType,
      dim: meta.dim,
      precision: meta.precision,
      live: await this.refreshCount(),
      fields: meta.fields,
      shards: Number(idx?.number_of_shards ?? 0),
      replicas: Number(idx?.number_of_replicas ?? 0),
      ...(meta.chunking !== undefined ? { chunking: { ...meta.chunking, windows: await countOf(this.conn, this.indexName, false) } } : {}),
      ...(meta.synced !== undefined ? { synced: meta.synced } : {}),
      pushing: meta.push !== undefined,
      oversample: this.oversample,
      rescore: this.rescore,
    };
  }

  async close(): Promise<void> {
    await this.conn.close();
    if (this.ownModel) await this.model.dispose();
  }
}

/** The `_source` of one document (a window of one, in a chunked index), as JSON text (its vector in float32-exact digits). */
export function documentSource(id: string, text: string, metadata: Metadata | undefined, vector: Float32Array, chunk?: WindowSource): string {
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (v !== null && v !== undefined) meta[k] = v;
  const window = chunk !== undefined ? `,"${CHUNK_FIELD}":${JSON.stringify({ number: chunk.number, start: chunk.start, end: chunk.end, windows: chunk.windows })}` : '';
  return `{"id":${JSON.stringify(id)},"text":${JSON.stringify(text)},"metadata":${JSON.stringify(meta)}${window},"${VECTOR_FIELD}":${vectorJson(vector)}}`;
}

/** Live documents: every OpenSearch document, or in a chunked index each document's window 0 (every document has one). */
export async function countOf(conn: OpenSearchConnection, index: string, chunked = false): Promise<number> {
  const path = `/${encodeURIComponent(index)}/_count`;
  const r = chunked ? await conn.request<{ count: number }>('POST', path, { query: { term: { 'chunk.number': 0 } } }) : await conn.request<{ count: number }>('GET', path);
  return r.body.count;
}

/** Open an OpenSearch index filled by `semsearch push` for search and writes. */
export function openOpenSearchIndex(options: OpenSearchIndexOptions): Promise<OpenSearchIndex> {
  return OpenSearchIndex.open(options);
}
