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
import { checkK, checkMode, type IndexHit, type Searcher, type SearchOptions, type WriteOptions } from '../store/searcher.js';
import { checkDocuments, checkIds, unknownDocuments, type WriteDocument, type WriteResult } from '../store/write-index.js';
import { bulkWrite } from './bulk.js';
import { OpenSearchConnection, type ConnectOptions } from './connection.js';
import { readMeta, VECTOR_FIELD, writeMeta, type RemoteMeta } from './mapping.js';
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
  synced?: RemoteMeta['synced'];
  pushing: boolean;
  /** This connection's defaults: candidates per hit asked of each shard, and whether they are rescored here. */
  oversample: number;
  rescore: boolean;
}

interface SearchHitBody {
  _id: string;
  _score: number;
  _source?: { id?: string; text?: string; metadata?: Metadata; vector?: number[] };
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
      const live = await countOf(conn, options.indexName);
      return new OpenSearchIndex(conn, options.indexName, meta, model, ownModel, live, options);
    } catch (e) {
      if (ownModel && model !== undefined) await model.dispose();
      await conn.close();
      throw e;
    }
  }

  /** Live documents, as of the last open, write or refreshCount(). */
  get count(): number {
    return this.live;
  }

  /** Ask the cluster for the live count now (documents others have written since are counted once the index refreshed). */
  async refreshCount(): Promise<number> {
    this.live = await countOf(this.conn, this.indexName);
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
    if (mode === 'vector') return this.vectorSearch(toMatrix(embeddings as MatrixLike, 'queries'), k, options, filter);
    const depth = Math.max(k, options.fusionDepth ?? DEFAULT_FUSION_DEPTH);
    const keyword = await this.keywordSearch(list, mode === 'keyword' ? k : depth, filter);
    if (mode === 'keyword') return keyword;
    const vector = await this.vectorSearch(toMatrix(embeddings as MatrixLike, 'queries'), depth, options, filter);
    return list.map((_, qi) => {
      // Fusion ranks by position; hits are told apart by id, numbered for it here.
      const numbers = new Map<string, number>();
      const hits: IndexHit[] = [];
      const number = (h: IndexHit): number => {
        let n = numbers.get(h.id);
        if (n === undefined) {
          n = hits.push(h) - 1;
          numbers.set(h.id, n);
        }
        return n;
      };
      const v = (vector[qi] ?? []).map((h) => ({ index: number(h), score: h.score }));
      const kw = (keyword[qi] ?? []).map((h) => ({ index: number(h), score: h.score }));
      return fuse(v, kw, options)
        .slice(0, k)
        .map((f) => ({ ...(hits[f.index] as IndexHit), score: f.score }));
    });
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

  private hit(h: SearchHitBody, score: number): IndexHit {
    const s = h._source ?? {};
    return { index: -1, id: s.id ?? h._id, score, text: s.text ?? '', ...(s.metadata !== undefined && Object.keys(s.metadata).length > 0 ? { metadata: s.metadata } : {}) };
  }

  private async keywordSearch(list: readonly string[], k: number, filter: Record<string, unknown> | undefined): Promise<IndexHit[][]> {
    const bodies = list.map((q) => ({
      size: k,
      _source: { excludes: [VECTOR_FIELD] },
      query: { bool: { must: [{ match: { text: q } }], ...(filter !== undefined ? { filter: [filter] } : {}) } },
    }));
    return (await this.msearch(bodies)).map((hits) => hits.map((h) => this.hit(h, h._score)));
  }

  private async vectorSearch(q0: Matrix, k: number, options: RemoteSearchOptions, filter: Record<string, unknown> | undefined): Promise<IndexHit[][]> {
    if (q0.dim !== this.meta.dim) throw new SemsearchError('SHAPE_MISMATCH', `query embeddings have dim ${q0.dim}, the index ${this.meta.dim}`, { field: 'queries' });
    // As the local index does: cos indexes hold unit vectors and score by the dot product with a unit query.
    const q = this.meta.normalized ? normalizeRows(new Matrix(q0.rows, q0.dim, Float32Array.from(q0.data))) : q0;
    const oversample = checkOversample(options.oversample ?? this.oversample);
    const rescore = options.rescore ?? this.rescore;
    const candidates = Math.min(MAX_KNN_K, k * oversample);
    const bodies = Array.from({ length: q.rows }, (_, qi) => ({
      // Rescoring needs every candidate back with its vector; otherwise the cluster's own top k is the answer.
      size: rescore ? candidates : k,
      _source: rescore ? true : { excludes: [VECTOR_FIELD] },
      query: { knn: { [VECTOR_FIELD]: { vector: JSON.parse(vectorJson(q.row(qi))) as number[], k: candidates, ...(filter !== undefined ? { filter } : {}) } } },
    }));
    const answers = await this.msearch(bodies);
    return answers.map((hits, qi) => {
      if (!rescore) return hits.map((h) => this.hit(h, similarityFromScore(h._score, this.meta.spaceType)));
      const qv = q.row(qi);
      const scored = hits.map((h, order) => {
        const v = h._source?.vector;
        if (v === undefined || v.length !== this.meta.dim) {
          throw new SemsearchError('BACKEND_ERROR', `OpenSearch document ${h._id} of ${this.indexName} has no ${this.meta.dim}-dim vector in its source, so it cannot be rescored`, { field: 'rescore' });
        }
        // The source holds the shortest decimals of float32 values: back to exactly those float32 values first.
        return { h, order, score: floatRowScore(qv, Float32Array.from(v), 0, this.meta.dim, this.meta.precision === 'float32') };
      });
      scored.sort((a, b) => b.score - a.score || a.order - b.order);
      return scored.slice(0, k).map((x) => this.hit(x.h, x.score));
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
    const emb = (await this.model.encode(documents.map((d) => d.text), { prompt: this.prompts.document })) as Matrix;
    if (this.meta.normalized) normalizeRows(emb);
    const results = await bulkWrite(
      this.conn,
      this.indexName,
      documents.map((d, i) => ({ op: 'index', id: d.id, source: documentSource(d.id, d.text, d.metadata, emb.row(i)) })),
      { refresh: 'wait_for' },
    );
    const replaced = [...results.values()].filter((r) => r === 'updated').length;
    this.live = await countOf(this.conn, this.indexName);
    return { generation: 0, added: documents.length - replaced, replaced, deleted: 0, dropped: 0, live: this.live };
  }

  /** Delete documents by id: UNKNOWN_DOCUMENT, and nothing deleted, when one is not in the index. */
  async delete(idsIn: string | readonly string[], _options: WriteOptions = {}): Promise<WriteResult> {
    const ids = typeof idsIn === 'string' ? [idsIn] : idsIn;
    checkIds(ids);
    const r = await this.conn.request<{ docs: { _id: string; found: boolean }[] }>('POST', `/${encodeURIComponent(this.indexName)}/_mget`, { ids }, { query: { _source: false } });
    const unknown = r.body.docs.filter((d) => !d.found).map((d) => d._id);
    if (unknown.length > 0) throw unknownDocuments(unknown);
    await bulkWrite(
      this.conn,
      this.indexName,
      ids.map((id) => ({ op: 'delete', id })),
      { refresh: 'wait_for' },
    );
    this.live = await countOf(this.conn, this.indexName);
    return { generation: 0, added: 0, replaced: 0, deleted: ids.length, dropped: 0, live: this.live };
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

/** The `_source` of one document, as JSON text (its vector in float32-exact digits). */
export function documentSource(id: string, text: string, metadata: Metadata | undefined, vector: Float32Array): string {
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (v !== null && v !== undefined) meta[k] = v;
  return `{"id":${JSON.stringify(id)},"text":${JSON.stringify(text)},"metadata":${JSON.stringify(meta)},"${VECTOR_FIELD}":${vectorJson(vector)}}`;
}

export async function countOf(conn: OpenSearchConnection, index: string): Promise<number> {
  const r = await conn.request<{ count: number }>('GET', `/${encodeURIComponent(index)}/_count`);
  return r.body.count;
}

/** Open an OpenSearch index filled by `semsearch push` for search and writes. */
export function openOpenSearchIndex(options: OpenSearchIndexOptions): Promise<OpenSearchIndex> {
  return OpenSearchIndex.open(options);
}
