import { SemsearchError } from '../errors.js';
import type { ChunkingInfo, FieldType, IndexModelInfo } from '../store/manifest.js';
import type { OpenSearchConnection } from './connection.js';

/** OpenSearch's name for the model's similarity: dot models are inner-product, cos models cosine. */
export type SpaceType = 'innerproduct' | 'cosinesimil';

/** HNSW parameters of the lucene engine (OpenSearch's defaults: m 16, ef_construction 100). */
export interface HnswOptions {
  m?: number;
  efConstruction?: number;
}

/** Where a push stands while it runs: enough to resume it after a crash without resending what the cluster took. */
export interface PushState {
  /** Which local index: its folder and build time (another index of the same shape is not the same source). */
  source: string;
  /** The local index's document store and committed state being pushed. */
  docs: string;
  generation: number;
  count: number;
  /** Rows below this are in the cluster (acknowledged by every bulk item). */
  row: number;
  /** 'rows' while documents are sent; 'deletes' once only the deletions are left. */
  phase: 'rows' | 'deletes';
  /** Rows from here on are sent (0 for a full push, the last synced count for an incremental one). */
  from: number;
  /** The generation whose deletes are applied; -1: compare every remote id with the local index (a full resync). */
  deletesSince: number;
}

/**
 * What semsearch keeps in the OpenSearch index's mapping `_meta`: the model (so a reader loads the same one), how
 * to read the scores back, and how far the index follows a local one.
 */
export interface RemoteMeta {
  format: 'semsearch-opensearch';
  version: 1;
  model: IndexModelInfo;
  dim: number;
  /** Vectors are L2-normalised (cos models), as in the local index. */
  normalized: boolean;
  /** The local index's precision, whose arithmetic exact rescoring repeats ('float32' rounds scores to float32). */
  precision: 'float32' | 'float16';
  spaceType: SpaceType;
  fields: Record<string, FieldType>;
  /**
   * A chunked local index (`index --chunk`): the cluster holds one OpenSearch document per window, whose `id` is the
   * document's and whose `_id` is windowId(id, number), and searches group the windows into documents.
   */
  chunking?: ChunkingInfo;
  /** The local state the cluster last matched in full. */
  synced?: { source: string; docs: string; generation: number; count: number };
  /** A push under way (absent when none is). */
  push?: PushState;
  updatedAt: string;
}

export const VECTOR_FIELD = 'vector';
export const METADATA_FIELD = 'metadata';
export const CHUNK_FIELD = 'chunk';

/**
 * The OpenSearch `_id` of a document's window: the id, '#', the window number. The number never holds a '#', so
 * the last '#' splits it back, and two windows never share an `_id`.
 */
export function windowId(id: string, number: number): string {
  return `${id}#${number}`;
}

export function spaceTypeOf(model: IndexModelInfo): SpaceType {
  if (model.similarityFnName === 'cosine') return 'cosinesimil';
  if (model.similarityFnName === 'dot') return 'innerproduct';
  throw new SemsearchError('UNSUPPORTED_MODEL', `${model.ref} scores by ${model.similarityFnName}; the OpenSearch backend takes dot and cosine models`, { field: 'model' });
}

/** The mapping of one metadata field: strings are exact-match keywords, numbers doubles. */
function fieldMapping(type: FieldType): { type: string } {
  return { type: type === 'string' ? 'keyword' : type === 'number' ? 'double' : 'boolean' };
}

export function metadataMappings(fields: Readonly<Record<string, FieldType>>): Record<string, { type: string }> {
  return Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, fieldMapping(type)]));
}

export interface CreateOptions {
  shards: number;
  replicas: number;
  hnsw?: HnswOptions;
}

/**
 * The body that creates the index: `knn_vector` with the model's dimension and space, the lucene engine's HNSW
 * (the one engine a jar-only plugin has; the official distribution adds faiss), id and metadata as exact fields,
 * the text for BM25, and refresh off while documents stream in (push turns it back on).
 */
export function createBody(meta: RemoteMeta, o: CreateOptions): Record<string, unknown> {
  return {
    settings: {
      index: {
        number_of_shards: o.shards,
        number_of_replicas: o.replicas,
        knn: true,
        refresh_interval: '-1',
      },
    },
    mappings: {
      dynamic: 'strict',
      _meta: { semsearch: meta },
      properties: {
        id: { type: 'keyword' },
        text: { type: 'text' },
        [VECTOR_FIELD]: {
          type: 'knn_vector',
          dimension: meta.dim,
          method: {
            name: 'hnsw',
            engine: 'lucene',
            space_type: meta.spaceType,
            parameters: { m: o.hnsw?.m ?? 16, ef_construction: o.hnsw?.efConstruction ?? 100 },
          },
        },
        [METADATA_FIELD]: { type: 'object', dynamic: 'strict', properties: metadataMappings(meta.fields) },
        // A window's place in its document (number, UTF-16 offsets) and the document's window count, which lets a
        // search tell when a document's windows are all counted (chunkScore 'sum').
        ...(meta.chunking !== undefined
          ? { [CHUNK_FIELD]: { type: 'object', dynamic: 'strict', properties: { number: { type: 'integer' }, start: { type: 'integer' }, end: { type: 'integer' }, windows: { type: 'integer' } } } }
          : {}),
      },
    },
  };
}

export function checkIndexName(name: string): void {
  // OpenSearch's own rules, checked here so the error names the option rather than coming back as HTTP 400.
  if (typeof name !== 'string' || name === '' || name !== name.toLowerCase() || /[\\/*?"<>| ,#:]/.test(name) || /^[-_+]/.test(name) || name === '.' || name === '..' || Buffer.byteLength(name) > 255) {
    throw new SemsearchError('INVALID_ARGUMENT', `index name ${JSON.stringify(name)} is not a valid OpenSearch index name (lowercase, no spaces or \\/*?"<>|,#:, not starting with -_+)`, { field: 'indexName' });
  }
}

/** The index's semsearch `_meta`, or undefined when the index does not exist. INDEX_MISMATCH when it is not semsearch's. */
export async function readMeta(conn: OpenSearchConnection, index: string): Promise<RemoteMeta | undefined> {
  checkIndexName(index);
  const r = await conn.request<Record<string, { mappings?: { _meta?: { semsearch?: RemoteMeta } } }>>('GET', `/${encodeURIComponent(index)}/_mapping`, undefined, { ignore: [404] });
  if (r.status === 404) return undefined;
  const meta = Object.values(r.body)[0]?.mappings?._meta?.semsearch;
  if (meta?.format !== 'semsearch-opensearch') {
    throw new SemsearchError('INDEX_MISMATCH', `the OpenSearch index ${index} at ${conn.url} was not made by semsearch push (its mapping has no semsearch _meta); choose another --index-name`, { field: 'indexName' });
  }
  if (meta.version !== 1) throw new SemsearchError('INDEX_MISMATCH', `the OpenSearch index ${index} has semsearch metadata version ${String(meta.version)}; this semsearch reads version 1`, { field: 'indexName' });
  return meta;
}

/** Replace the semsearch `_meta` (OpenSearch replaces `_meta` whole), with new metadata fields mapped in the same call. */
export async function writeMeta(conn: OpenSearchConnection, index: string, meta: RemoteMeta, newFields: Readonly<Record<string, FieldType>> = {}): Promise<void> {
  const body: Record<string, unknown> = { _meta: { semsearch: { ...meta, updatedAt: new Date().toISOString() } } };
  if (Object.keys(newFields).length > 0) body.properties = { [METADATA_FIELD]: { properties: metadataMappings(newFields) } };
  await conn.request('PUT', `/${encodeURIComponent(index)}/_mapping`, body);
}

