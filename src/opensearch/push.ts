import { join, resolve } from 'node:path';
import { SemsearchError } from '../errors.js';
import { FLOAT16_VALUES } from '../tensor/float16.js';
import { DocStore, type StoredDoc } from '../store/doc-store.js';
import { DEFAULT_DOCS_FILE, readManifest, type FieldType, type IndexManifest } from '../store/manifest.js';
import { readShard, type ShardVectors } from '../store/shards.js';
import { bulkWrite, type BulkOp } from './bulk.js';
import { OpenSearchConnection, type ConnectOptions } from './connection.js';
import { createBody, readMeta, spaceTypeOf, windowId, writeMeta, type HnswOptions, type PushState, type RemoteMeta } from './mapping.js';
import { countOf, documentSource } from './opensearch-index.js';

export interface PushOptions extends ConnectOptions {
  indexName: string;
  /** New index only: primary shards (default: one per data node) and replicas (default 1 when there are two or more data nodes, else 0). */
  shards?: number;
  replicas?: number;
  /** New index only: HNSW parameters of the lucene engine. */
  hnsw?: HnswOptions;
  /** Documents per `_bulk` request (default 500). */
  batchSize?: number;
  /** Bulk requests in flight at once (default 2). */
  concurrency?: number;
  /** Send every live document again and delete what the local index lacks, whatever was synced before. */
  full?: boolean;
  /** How long one bulk's transient failures are retried (default 120 s). */
  retryForMs?: number;
  /** Seconds between checkpoints written to the index's `_meta` (default 5; 0: after every batch). */
  checkpointSeconds?: number;
  onProgress?: (p: PushProgress) => void;
  onRetry?: (ops: number, reason: string) => void;
}

export interface PushProgress {
  phase: 'rows' | 'deletes' | 'refresh';
  /** Documents sent (rows phase) or deleted (deletes phase) by this run. */
  done: number;
  /** Documents this run has to send or delete in the phase. */
  total: number;
  seconds: number;
}

export interface PushResult {
  indexName: string;
  /** 'created': a new index; 'resumed': an interrupted push finished; 'incremental': writes since the last push; 'full': everything resent; 'unchanged'. */
  mode: 'created' | 'resumed' | 'incremental' | 'full' | 'unchanged';
  sent: number;
  deleted: number;
  /** Documents in the OpenSearch index afterwards, and live ones in the local index. */
  remote: number;
  local: number;
  seconds: number;
  docsPerSecond: number;
}

function checkPositive(v: number | undefined, name: string, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`, { field: name });
  }
}

/** A float copy of one row of a float32 or float16 shard. */
function rowVector(shard: ShardVectors, r: number, dim: number, precision: IndexManifest['precision']): Float32Array {
  if (precision === 'float32') return (shard.data as Float32Array).slice(r * dim, (r + 1) * dim);
  const h = shard.data as Uint16Array;
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = FLOAT16_VALUES[h[r * dim + i] as number] as number;
  return out;
}

/** Rows of the manifest's shards, read one shard at a time as the row-ordered documents reach them. */
class ShardCursor {
  private loaded: { start: number; shard: ShardVectors } | undefined;
  private readonly starts: number[] = [];

  constructor(
    private readonly dir: string,
    private readonly m: IndexManifest,
  ) {
    let n = 0;
    for (const s of m.shards) {
      this.starts.push(n);
      n += s.rows;
    }
  }

  vector(row: number): Float32Array {
    if (this.loaded === undefined || row < this.loaded.start || row >= this.loaded.start + this.loaded.shard.rows) {
      let i = this.starts.length - 1;
      while (i > 0 && (this.starts[i] as number) > row) i--;
      const entry = this.m.shards[i];
      if (entry === undefined || row >= (this.starts[i] as number) + entry.rows) {
        throw new SemsearchError('INDEX_CORRUPT', `${this.dir} lists no vectors for row ${row}`, { file: join(this.dir, 'manifest.json') });
      }
      this.loaded = { start: this.starts[i] as number, shard: readShard(this.dir, entry, this.m.precision, this.m.dim, true) };
    }
    return rowVector(this.loaded.shard, row - this.loaded.start, this.m.dim, this.m.precision);
  }
}

async function dataNodes(conn: OpenSearchConnection): Promise<number> {
  const r = await conn.request<{ number_of_data_nodes: number }>('GET', '/_cluster/health');
  return Math.max(1, r.body.number_of_data_nodes);
}

async function setRefresh(conn: OpenSearchConnection, index: string, value: string | null): Promise<void> {
  await conn.request('PUT', `/${encodeURIComponent(index)}/_settings`, { index: { refresh_interval: value } });
}

/**
 * Every document the OpenSearch index holds, page by page (search_after, so no scroll context is left behind): its
 * `_id` and its sort values, [id] or, in a chunked index, [id, window number] (an id alone repeats across windows,
 * and search_after on it would skip windows at a page boundary).
 */
async function* remoteDocs(conn: OpenSearchConnection, index: string, chunked: boolean): AsyncGenerator<{ _id: string; sort: unknown[] }[]> {
  let after: unknown[] | undefined;
  const sort = chunked ? [{ id: 'asc' }, { 'chunk.number': 'asc' }] : [{ id: 'asc' }];
  for (;;) {
    const body = { size: 5000, _source: false, sort, query: { match_all: {} }, ...(after !== undefined ? { search_after: after } : {}) };
    const r = await conn.request<{ hits: { hits: { _id: string; sort: unknown[] }[] } }>('POST', `/${encodeURIComponent(index)}/_search`, body);
    const hits = r.body.hits.hits;
    if (hits.length === 0) return;
    yield hits;
    after = hits[hits.length - 1]?.sort;
  }
}

/**
 * Copy a local index into an OpenSearch index, or bring a copy up to date. A new index gets its mapping from the
 * model (knn_vector of its dimension, innerproduct for dot models and cosinesimil for cos models, lucene HNSW) and
 * refresh off during the load. Documents keep their passage ids as OpenSearch ids, so whatever is sent twice stays
 * one document. Progress is checkpointed in the index's `_meta`: after a crash (of this process, or of a node) the
 * next push resumes from the last checkpoint. A later push sends only the documents written since the last one and
 * deletes what was deleted; after a compact (or with `full`) it sends everything and deletes what the local index
 * no longer holds.
 */
export async function pushIndex(dirIn: string, options: PushOptions): Promise<PushResult> {
  const t0 = performance.now();
  const dir = resolve(dirIn);
  const m = readManifest(dir);
  if (!m.complete) throw new SemsearchError('INVALID_ARGUMENT', `the index at ${dir} is not complete: finish it with semsearch index before pushing it`, { field: 'index' });
  if (m.precision !== 'float32' && m.precision !== 'float16') {
    throw new SemsearchError('INVALID_ARGUMENT', `the index at ${dir} stores ${m.precision} vectors; push takes float32 or float16 indexes (OpenSearch stores float vectors, and ${m.precision} ones are approximations)`, { field: 'precision' });
  }
  checkPositive(options.batchSize, 'batchSize', 10_000);
  checkPositive(options.concurrency, 'concurrency', 16);
  checkPositive(options.shards, 'shards', 1024);
  if (options.replicas !== undefined && (!Number.isInteger(options.replicas) || options.replicas < 0 || options.replicas > 16)) {
    throw new SemsearchError('INVALID_ARGUMENT', `replicas must be an integer from 0 to 16, got ${JSON.stringify(options.replicas)}`, { field: 'replicas' });
  }
  const docsFile = m.docs ?? DEFAULT_DOCS_FILE;
  const generation = m.generation ?? 0;
  const fields: Record<string, FieldType> = { ...(m.fields ?? {}) };
  const chunked = m.chunking !== undefined;
  const live = chunked ? (m.documents ?? 0) : m.count - (m.deleted ?? 0);
  const conn = new OpenSearchConnection(options);
  const index = options.indexName;
  const docs = new DocStore(join(dir, docsFile), { reader: true });
  try {
    let meta = await readMeta(conn, index);
    let mode: PushResult['mode'];
    const source = `${dir}@${m.createdAt}`;
    const target = { source, docs: docsFile, generation, count: m.count };
    if (meta === undefined) {
      const nodes = await dataNodes(conn);
      meta = {
        format: 'semsearch-opensearch',
        version: 1,
        model: m.model,
        dim: m.dim,
        normalized: m.normalized,
        precision: m.precision,
        spaceType: spaceTypeOf(m.model),
        fields,
        ...(m.chunking !== undefined ? { chunking: m.chunking } : {}),
        push: { ...target, row: 0, phase: 'rows', from: 0, deletesSince: generation },
        updatedAt: new Date().toISOString(),
      };
      const body = createBody(meta, { shards: options.shards ?? nodes, replicas: options.replicas ?? (nodes > 1 ? 1 : 0), ...(options.hnsw !== undefined ? { hnsw: options.hnsw } : {}) });
      await conn.request('PUT', `/${encodeURIComponent(index)}`, body);
      mode = 'created';
    } else {
      if (meta.model.fingerprint !== m.model.fingerprint || meta.dim !== m.dim || JSON.stringify(meta.model.prompts) !== JSON.stringify(m.model.prompts)) {
        throw new SemsearchError('INDEX_MISMATCH', `the OpenSearch index ${index} holds vectors of ${meta.model.ref} (dim ${meta.dim}); the index at ${dir} was built with ${m.model.ref} (dim ${m.dim}): push it under another --index-name`, { field: 'indexName' });
      }
      // Compared field by field: the cluster hands _meta back with its keys in its own order.
      if (meta.chunking?.maxTokens !== m.chunking?.maxTokens || meta.chunking?.overlap !== m.chunking?.overlap) {
        const what = (c: RemoteMeta['chunking']): string => (c === undefined ? 'whole passages (no --chunk)' : `windows of ${c.maxTokens} tokens overlapping by ${c.overlap}`);
        throw new SemsearchError('INDEX_MISMATCH', `the OpenSearch index ${index} holds ${what(meta.chunking)}; the index at ${dir} holds ${what(m.chunking)}: push it under another --index-name`, { field: 'indexName' });
      }
      const p = meta.push;
      const s = meta.synced;
      let state: PushState | undefined;
      if (options.full === true) {
        state = { ...target, row: 0, phase: 'rows', from: 0, deletesSince: -1 };
        mode = 'full';
      } else if (p !== undefined && p.source === source && p.docs === docsFile && p.generation === generation && p.count === m.count) {
        state = p;
        mode = 'resumed';
      } else if (p === undefined && s?.source === source && s.docs === docsFile && s.generation === generation && s.count === m.count) {
        mode = 'unchanged';
      } else if (p === undefined && s?.source === source && s.docs === docsFile && s.generation <= generation && s.count <= m.count) {
        state = { ...target, row: s.count, phase: 'rows', from: s.count, deletesSince: s.generation };
        mode = 'incremental';
      } else {
        // Another local index, a compact that renumbered the rows, or a local write under an unfinished push: resend everything.
        state = { ...target, row: 0, phase: 'rows', from: 0, deletesSince: -1 };
        mode = 'full';
      }
      const newFields = Object.fromEntries(Object.entries(fields).filter(([name]) => meta?.fields[name] === undefined));
      if (state !== undefined) {
        meta = { ...meta, fields: { ...meta.fields, ...fields }, push: state };
        await writeMeta(conn, index, meta, newFields);
        await setRefresh(conn, index, '-1');
      }
    }
    const state = meta.push;
    let sent = 0;
    let deleted = 0;
    if (state !== undefined) {
      const view = { count: state.count, generation: state.generation };
      const checkpointMs = (options.checkpointSeconds ?? 5) * 1000;
      let lastCheckpoint = performance.now();
      const checkpoint = async (force: boolean): Promise<void> => {
        if (!force && performance.now() - lastCheckpoint < checkpointMs) return;
        await writeMeta(conn, index, meta as RemoteMeta);
        lastCheckpoint = performance.now();
      };
      const progress = (phase: PushProgress['phase'], done: number, total: number): void => options.onProgress?.({ phase, done, total, seconds: (performance.now() - t0) / 1000 });

      // Deletes of ids the cluster may lack are harmless (a resumed push repeats some): only real ones are counted.
      const deleteIds = async (ids: readonly string[]): Promise<number> => {
        let n = 0;
        for (let i = 0; i < ids.length; i += 1000) {
          const results = await bulkWrite(
            conn,
            index,
            ids.slice(i, i + 1000).map((id) => ({ op: 'delete', id })),
            options.retryForMs !== undefined ? { retryForMs: options.retryForMs } : {},
          );
          for (const r of results.values()) if (r === 'deleted') n++;
          progress('deletes', Math.min(i + 1000, ids.length), ids.length);
        }
        return n;
      };

      if (state.phase === 'rows') {
        const total = docs.liveCountFrom(view, state.row);
        const cursor = new ShardCursor(dir, m);
        const batchSize = options.batchSize ?? 500;
        const concurrency = options.concurrency ?? 2;
        const inflight: { end: number; done: Promise<number> }[] = [];
        const settle = async (): Promise<void> => {
          const first = inflight.shift() as { end: number; done: Promise<number> };
          sent += await first.done;
          state.row = first.end;
          progress('rows', sent, total);
          await checkpoint(false);
        };
        // A window carries its document's window count; one document's windows are neighbours, so one count serves them.
        let counted: { id: string; windows: number } | undefined;
        const windowsOf = (id: string): number => {
          if (counted?.id !== id) counted = { id, windows: docs.visibleRowCount(id, view) };
          return counted.windows;
        };
        const opOf = (d: StoredDoc): BulkOp => {
          const vector = cursor.vector(d.index);
          if (!chunked) return { op: 'index', id: d.id, source: documentSource(d.id, d.text, d.metadata, vector) };
          const c = d.chunk;
          if (c === undefined) throw new SemsearchError('INDEX_CORRUPT', `${join(dir, docsFile)} row ${d.index} has no window, which the manifest's chunking says it holds: rebuild the index`, { file: join(dir, docsFile) });
          return { op: 'index', id: windowId(d.id, c.number), source: documentSource(d.id, d.text, d.metadata, vector, { ...c, windows: windowsOf(d.id) }) };
        };
        const send = (batch: StoredDoc[], end: number): void => {
          const ops: BulkOp[] = batch.map(opOf);
          const done = bulkWrite(conn, index, ops, { ...(options.retryForMs !== undefined ? { retryForMs: options.retryForMs } : {}), ...(options.onRetry !== undefined ? { onRetry: options.onRetry } : {}) }).then(() => ops.length);
          // Failures surface in order through settle(); this keeps a later batch's from going unhandled meanwhile.
          done.catch(() => undefined);
          inflight.push({ end, done });
        };
        try {
          let batch: StoredDoc[] = [];
          for (const d of docs.liveDocs(view, fields, state.row)) {
            batch.push(d);
            if (batch.length >= batchSize) {
              send(batch, d.index + 1);
              batch = [];
              if (inflight.length >= concurrency) await settle();
            }
          }
          if (batch.length > 0) send(batch, state.count);
          while (inflight.length > 0) await settle();
        } finally {
          await Promise.allSettled(inflight.map((f) => f.done));
        }
        state.row = state.count;
        state.phase = 'deletes';
        await checkpoint(true);
      }

      if (state.deletesSince >= 0) {
        // Only rows the cluster had: those below where this push began sending.
        deleted += await deleteIds(
          chunked ? docs.deletedWindowsSince(state.deletesSince, state.from, view).map((w) => windowId(w.id, w.number)) : docs.deletedIdsSince(state.deletesSince, state.from, view),
        );
      } else {
        // A full resync: what the cluster holds and the local index does not is deleted. Refresh first, so the
        // ids just sent are among those listed (they are live locally and stay).
        await conn.request('POST', `/${encodeURIComponent(index)}/_refresh`);
        const stray: string[] = [];
        for await (const page of remoteDocs(conn, index, chunked)) {
          for (const h of page) {
            const id = String(h.sort[0]);
            const gone = chunked ? docs.visibleWindow(id, Number(h.sort[1]), view) === undefined : docs.visibleRow(id, view) === undefined;
            if (gone) stray.push(h._id);
          }
        }
        deleted += await deleteIds(stray);
      }
    }
    if (mode !== 'unchanged') {
      options.onProgress?.({ phase: 'refresh', done: 0, total: 0, seconds: (performance.now() - t0) / 1000 });
      await setRefresh(conn, index, null);
      await conn.request('POST', `/${encodeURIComponent(index)}/_refresh`);
      const { push: _done, ...rest } = meta;
      meta = { ...rest, synced: { source, docs: docsFile, generation, count: m.count } };
      await writeMeta(conn, index, meta);
    }
    const remote = await countOf(conn, index, chunked);
    const seconds = (performance.now() - t0) / 1000;
    return { indexName: index, mode, sent, deleted, remote, local: live, seconds, docsPerSecond: sent / Math.max(seconds, 1e-9) };
  } finally {
    docs.close();
    await conn.close();
  }
}
