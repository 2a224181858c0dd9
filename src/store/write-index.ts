import { readdirSync, rmSync } from 'node:fs';
import type { Device } from '../model/device.js';
import { join, resolve } from 'node:path';
import { loadModel } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { checkWellFormed } from '../corpus/encoding.js';
import { SemsearchError } from '../errors.js';
import type { Matrix } from '../tensor/matrix.js';
import { extendGraph, graphThreads, shardFloats, writeGraph } from './ann.js';
import { readIvfLists, writeIvf } from './ivf.js';
import { DocStore, type DocRow } from './doc-store.js';
import { checkMetadata, type Metadata } from './filter.js';
import { DEFAULT_DOCS_FILE, MANIFEST, MAX_WRITE_BATCH, readManifest, writeManifest, type AnnEntry, type FieldType, type IndexManifest } from './manifest.js';
import { modelFingerprint } from './model-fingerprint.js';
import { indexPrompts } from './prompts.js';
import { encodeShard, readShard, readVerified, removeUnlistedShards, rowBytes, writeShard, type ShardVectors } from './shards.js';
import { lockForWriting } from './writer-lock.js';
import { documentRows } from './chunk-rows.js';

/** A document to add or replace: its id, text, and optional metadata fields. */
export interface WriteDocument {
  id: string;
  text: string;
  metadata?: Metadata;
}

/** What a committed write did. */
export interface WriteResult {
  /** The generation the write committed (the manifest's `generation`). */
  generation: number;
  /** Documents added whose id was new. */
  added: number;
  /** Documents whose earlier version was replaced. */
  replaced: number;
  /** Documents deleted. */
  deleted: number;
  /** Rows compact dropped. */
  dropped: number;
  /** Live documents in the index after the write. */
  live: number;
}

/** How far a compact has got: rows copied into the new shards, then the graph rebuilt over them (when there is one). */
export interface CompactProgress {
  phase: 'rows' | 'graph';
  done: number;
  total: number;
}

export interface CompactOptions {
  /** Told after each shard written and each shard added to the new graph. */
  onProgress?: (p: CompactProgress) => void;
}

export interface IndexWriterOptions {
  /** The model to encode with (default: loaded from the manifest); it must be the one the index was built with. */
  model?: SentenceTransformer;
  threads?: number;
  /** Where ONNX Runtime encodes: 'cpu' (default) or 'cuda' (see LoadModelOptions.device). */
  device?: Device;
  batchSize?: number;
  /** How long to wait for another writer to finish before INDEX_LOCKED (default 0: fail at once). */
  waitMs?: number;
  onWarning?: (message: string) => void;
  /** When a write merges new rows into the HNSW graph, or rebuilds it (defaults: DEFAULT_GRAPH_POLICY). */
  graphPolicy?: GraphPolicy;
}

/**
 * How the HNSW graph follows writes. Writes never change a graph in place: new rows are searched exactly beside it
 * (the tail) and deleted rows stay in it as nodes searches skip (tombstones), as Lucene's segments and Qdrant's
 * appendable segments do. A write merges the tail into the graph when it grows past `tailRows` (inserting rows,
 * as a build does), and rebuilds the graph over the live rows when tombstones pass `tombstoneShare` of its nodes.
 */
export interface GraphPolicy {
  /** Live rows the exactly-searched tail may hold before a write merges them into the graph (default: 1024, or 1/32 of the graph's nodes if more). */
  tailRows?: number;
  /** Share of the graph's nodes that may be deleted rows before a write rebuilds it over the live rows (default 0.25). */
  tombstoneShare?: number;
}

export const DEFAULT_GRAPH_POLICY = { tailRows: 1024, tailShare: 1 / 32, tombstoneShare: 0.25 } as const;

/** The graph's entry with rows and nodes filled in for a manifest from before they were recorded. */
export function graphExtent(m: IndexManifest): (AnnEntry & { rows: number; nodes: number }) | undefined {
  if (m.ann === undefined) return undefined;
  const rows = m.ann.rows ?? m.count;
  return { ...m.ann, rows, nodes: m.ann.nodes ?? rows - (m.deleted ?? 0) };
}

// Defined with the manifest's constants, which the CLI reads for its help without loading the writer.
export { MAX_WRITE_BATCH };

/** The error of a delete naming ids no live document has: the first few of them, and how many more. */
export function unknownDocuments(ids: readonly string[]): SemsearchError {
  const more = ids.length > 5 ? ` (and ${ids.length - 5} more)` : '';
  return new SemsearchError('UNKNOWN_DOCUMENT', `the index holds no document ${ids.slice(0, 5).join(', ')}${more}; nothing was deleted`, { field: 'ids' });
}

/** A write encodes with the index's own model (INDEX_MISMATCH otherwise). */
function checkModel(model: SentenceTransformer, m: IndexManifest, dir: string): void {
  if (modelFingerprint(model) !== m.model.fingerprint) {
    throw new SemsearchError('INDEX_MISMATCH', `the index at ${dir} was built with ${m.model.ref}; documents must be encoded with that same model`, {
      file: join(dir, MANIFEST),
      field: 'model',
    });
  }
}

function docsFile(m: IndexManifest): string {
  return m.docs ?? DEFAULT_DOCS_FILE;
}

/** Live documents: rows less the deleted, or a chunked index's own count (its rows are windows). */
function liveCount(m: IndexManifest): number {
  return m.documents ?? m.count - (m.deleted ?? 0);
}

async function lockWithin(dir: string, waitMs: number): Promise<() => Promise<void>> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await lockForWriting(dir);
    } catch (e) {
      if ((e as SemsearchError).code !== 'INDEX_LOCKED' || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/**
 * Writes to a built index, one at a time (the writer lock): upsert, delete and compact. Each write goes to SQLite
 * and to new files first, and the manifest's atomic replacement commits it, so a reader, or a crash, sees all of
 * a write or none of it. Opening the writer undoes what a killed writer left uncommitted.
 */
export class IndexWriter {
  readonly dir: string;
  private manifest: IndexManifest;
  private docs: DocStore;
  /** The model, loaded when an upsert first needs it (deletes and compact encode nothing). */
  private model: SentenceTransformer | undefined;
  private loading: Promise<SentenceTransformer> | undefined;
  private readonly options: IndexWriterOptions;
  private readonly release: () => Promise<void>;
  private closed = false;

  private constructor(dir: string, manifest: IndexManifest, docs: DocStore, options: IndexWriterOptions, release: () => Promise<void>) {
    this.dir = dir;
    this.manifest = manifest;
    this.docs = docs;
    this.model = options.model;
    this.options = options;
    this.release = release;
  }

  private encoder(): Promise<SentenceTransformer> {
    if (this.model !== undefined) return Promise.resolve(this.model);
    const m = this.manifest;
    const o = this.options;
    this.loading ??= loadModel(m.model.ref, {
      onnxFile: m.model.onnxFile,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.device !== undefined ? { device: o.device } : {}),
      ...(o.onWarning !== undefined ? { onWarning: o.onWarning } : {}),
    }).then(async (model) => {
      try {
        checkModel(model, m, this.dir);
      } catch (e) {
        await model.dispose();
        throw e;
      }
      this.model = model;
      return model;
    });
    return this.loading;
  }

  static async open(dirIn: string, options: IndexWriterOptions = {}): Promise<IndexWriter> {
    const dir = resolve(dirIn);
    const manifest = readManifest(dir);
    if (!manifest.complete) {
      throw new SemsearchError('INDEX_MISMATCH', `the index at ${dir} is not complete: finish its build (run the same semsearch index again) before adding or deleting`, {
        file: join(dir, MANIFEST),
        field: 'complete',
      });
    }
    if (options.model !== undefined) checkModel(options.model, manifest, dir);
    const release = await lockWithin(dir, options.waitMs ?? 0);
    let docs: DocStore | undefined;
    try {
      // Under the lock, the manifest is final: read it again, in case a writer committed while we waited.
      const m = readManifest(dir);
      docs = new DocStore(join(dir, docsFile(m)), { wal: false, chunked: m.chunking !== undefined });
      const undone = docs.rollback({ count: m.count, generation: m.generation ?? 0 });
      const files = removeUnlisted(dir, m);
      const w = new IndexWriter(dir, m, docs, options, release);
      w.recovered = { ...undone, files };
      return w;
    } catch (e) {
      docs?.close();
      await release();
      throw e;
    }
  }

  /**
   * What opening undid of a killed writer's work: SQLite rows past the manifest's count, deletes of an uncommitted
   * generation, and files the manifest does not name.
   */
  recovered: { rows: number; deletes: number; files: string[] } = { rows: 0, deletes: 0, files: [] };

  /** Which of these ids name no live document (checked before a delete split into several writes). */
  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => this.docs.liveRow(id) === undefined);
  }

  /** The manifest as last committed. */
  get committed(): IndexManifest {
    return this.manifest;
  }

  /**
   * Add documents, replacing any live document with the same id (its old row becomes a tombstone). The batch is
   * checked whole before anything is written: ids present and unique, texts non-empty, metadata of one type per
   * field (the index's, for fields it has).
   */
  async upsert(documents: readonly WriteDocument[]): Promise<WriteResult> {
    this.checkOpen();
    const m = this.manifest;
    const newFields = checkDocuments(documents, m.fields ?? {});
    const fields: Record<string, FieldType> = { ...(m.fields ?? {}), ...newFields };
    // A replaced document's every row (every window of a chunked one) becomes a tombstone.
    const replaced: number[] = [];
    let replacedDocs = 0;
    for (const d of documents) {
      const rows = this.docs.liveRows(d.id);
      if (rows.length > 0) replacedDocs++;
      replaced.push(...rows);
    }

    const model = await this.encoder();
    return this.undoingOnFailure(async () => {
      const documentPrompt = indexPrompts(m.model, model).document;
      const rows = documents.flatMap((d) => documentRows(model, d, m.chunking, documentPrompt));
      const emb = (await model.encode(
        rows.map((r) => r.input),
        { batchSize: this.options.batchSize ?? 32, prompt: documentPrompt },
      )) as Matrix;
      if (m.normalized) normalizeRows(emb);
      const ranges = m.ranges !== undefined ? { min: Float32Array.from(m.ranges.min), max: Float32Array.from(m.ranges.max) } : undefined;
      const stored = encodeShard(emb, m.precision, ranges);

      const generation = (m.generation ?? 0) + 1;
      const next: IndexManifest = structuredClone(m);
      const obsolete = this.appendVectors(next, stored, generation);
      this.docs.applyWrite(generation, replaced, m.count, rows, fields);
      next.count = m.count + rows.length;
      next.deleted = (m.deleted ?? 0) + replaced.length;
      if (m.documents !== undefined) next.documents = m.documents + documents.length - replacedDocs;
      if (Object.keys(fields).length > 0) next.fields = fields;
      await this.followGraph(next, generation, obsolete);
      return this.commit(next, generation, obsolete, { added: documents.length - replacedDocs, replaced: replacedDocs, deleted: 0, dropped: 0 });
    });
  }

  /** Delete documents by id. Every id must name a live document (else UNKNOWN_DOCUMENT and nothing is deleted). */
  async delete(ids: readonly string[]): Promise<WriteResult> {
    this.checkOpen();
    const m = this.manifest;
    checkIds(ids);
    const rows: number[] = [];
    const unknown: string[] = [];
    for (const id of ids) {
      const live = this.docs.liveRows(id);
      if (live.length === 0) unknown.push(id);
      else rows.push(...live);
    }
    if (unknown.length > 0) throw unknownDocuments(unknown);
    return this.undoingOnFailure(async () => {
      const generation = (m.generation ?? 0) + 1;
      const next: IndexManifest = structuredClone(m);
      const obsolete: string[] = [];
      this.docs.applyWrite(generation, rows, m.count, [], m.fields ?? {});
      next.deleted = (m.deleted ?? 0) + rows.length;
      if (m.documents !== undefined) next.documents = m.documents - ids.length;
      await this.followGraph(next, generation, obsolete);
      return this.commit(next, generation, obsolete, { added: 0, replaced: 0, deleted: ids.length, dropped: 0 });
    });
  }

  /**
   * Rewrite the index without its deleted rows: new shards (copied, not re-encoded), a new document store, a new
   * graph; the manifest commits them together and the old files go. Live rows keep their order.
   */
  async compact(options: CompactOptions = {}): Promise<WriteResult> {
    this.checkOpen();
    return this.undoingOnFailure(() => this.compactNow(options));
  }

  private async compactNow(options: CompactOptions): Promise<WriteResult> {
    const m = this.manifest;
    const generation = (m.generation ?? 0) + 1;
    const suffix = `-g${generation}`;
    const view = { count: m.count, generation: m.generation ?? 0 };
    const fields = m.fields ?? {};
    const newDocs = `docs${suffix}.sqlite`;
    const next: IndexManifest = structuredClone(m);
    next.shards = [];
    const store = new DocStore(join(this.dir, newDocs), { chunked: m.chunking !== undefined });
    const rb = rowBytes(m.precision, m.dim);
    let live = 0;
    const liveTotal = liveCount(m);
    try {
      const cap = m.shardSize;
      let vec = Buffer.alloc(cap * rb);
      let res = m.precision === 'binary' ? Buffer.alloc(cap * m.dim) : undefined;
      let pending: DocRow[] = [];
      const flush = (): void => {
        if (pending.length === 0) return;
        const n = pending.length;
        const v: ShardVectors = { rows: n, data: new Uint8Array(vec.buffer, vec.byteOffset, n * rb) };
        if (res !== undefined) v.rescore = new Int8Array(res.buffer, res.byteOffset, n * m.dim);
        next.shards.push(writeShard(this.dir, next.shards.length, m.precision, v, suffix));
        store.insertShard(live, pending, fields);
        live += n;
        options.onProgress?.({ phase: 'rows', done: live, total: liveTotal });
        pending = [];
        vec = Buffer.alloc(cap * rb);
        res = res !== undefined ? Buffer.alloc(cap * m.dim) : undefined;
      };
      const docs = this.docs.liveDocs(view, fields);
      let nextDoc = docs.next();
      let base = 0;
      for (const entry of m.shards) {
        if (nextDoc.done === true) break;
        const data = readChecked(this.dir, entry.file, entry.sha256, entry.rows * rb);
        const rescore = entry.rescoreFile !== undefined ? readChecked(this.dir, entry.rescoreFile, entry.rescoreSha256 ?? '', entry.rows * m.dim) : undefined;
        while (nextDoc.done !== true && nextDoc.value.index < base + entry.rows) {
          const d = nextDoc.value;
          const local = d.index - base;
          data.copy(vec, pending.length * rb, local * rb, (local + 1) * rb);
          if (rescore !== undefined && res !== undefined) rescore.copy(res, pending.length * m.dim, local * m.dim, (local + 1) * m.dim);
          pending.push({ id: d.id, text: d.text, ...(d.chunk !== undefined ? { chunk: d.chunk } : {}), ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) });
          if (pending.length === cap) flush();
          nextDoc = docs.next();
        }
        base += entry.rows;
      }
      flush();
      store.finish();
    } finally {
      store.close();
    }
    next.count = live;
    next.deleted = 0;
    next.docs = newDocs;
    const obsolete = [...m.shards.flatMap((s) => [s.file, ...(s.rescoreFile !== undefined ? [s.rescoreFile] : [])]), docsFile(m)];
    if (m.ann !== undefined) {
      obsolete.push(m.ann.file);
      if (live > 0) {
        next.ann = await writeGraph(
          this.dir,
          next,
          {
            quantization: m.ann.quantization,
            connectivity: m.ann.connectivity,
            expansionAdd: m.ann.expansionAdd,
            expansionSearch: m.ann.expansionSearch,
            threads: graphThreads(live),
            ...(options.onProgress !== undefined ? { onProgress: (done: number, total: number) => options.onProgress?.({ phase: 'graph', done, total }) } : {}),
          },
          `ann-${m.ann.quantization}${suffix}.usearch`,
        );
      } else {
        delete next.ann;
      }
    }
    if (m.ivf !== undefined) {
      // Row numbers change: the live rows are assigned again to the same centroids, so the lists stay trained as built.
      obsolete.push(m.ivf.file);
      if (live > 0) {
        const old = readIvfLists(this.dir, m.ivf, m.dim, true);
        next.ivf = await writeIvf(this.dir, next, {}, `ivf${suffix}.lists`, { centroids: old.centroids, nprobe: m.ivf.nprobe, training: m.ivf.training });
      } else {
        delete next.ivf;
      }
    }
    const result = await this.commit(next, generation, obsolete, { added: 0, replaced: 0, deleted: 0, dropped: m.count - live });
    // The old store is closed with its files gone; later writes go to the new one.
    this.docs.close();
    this.docs = new DocStore(join(this.dir, newDocs), { wal: false, chunked: m.chunking !== undefined });
    return result;
  }

  /**
   * The graph after a write (GraphPolicy): unchanged, with the new rows in the exactly-searched tail and the deleted
   * ones as tombstones; or the tail merged in; or rebuilt over the live rows. A new graph file is written under a
   * new name before the manifest commits it, and the old one joins the obsolete files.
   */
  private async followGraph(next: IndexManifest, generation: number, obsolete: string[]): Promise<void> {
    const g = graphExtent(this.manifest);
    if (g === undefined) return;
    next.ann = { ...g };
    const deleted = this.docs.deletedRows({ count: next.count, generation });
    const live = next.count - deleted.length;
    if (live === 0) return;
    const isDeleted = new Uint8Array(next.count);
    for (const r of deleted) isDeleted[r] = 1;
    let liveInGraph = g.rows;
    for (const r of deleted) if (r < g.rows) liveInGraph--;
    const tail: number[] = [];
    for (let r = g.rows; r < next.count; r++) if (isDeleted[r] === 0) tail.push(r);
    const policy = this.options.graphPolicy ?? {};
    const tombstoneShare = policy.tombstoneShare ?? DEFAULT_GRAPH_POLICY.tombstoneShare;
    const tailRows = policy.tailRows ?? Math.max(DEFAULT_GRAPH_POLICY.tailRows, Math.floor(g.nodes * DEFAULT_GRAPH_POLICY.tailShare));
    const file = `ann-${g.quantization}-g${generation}.usearch`;
    if (g.nodes - liveInGraph > tombstoneShare * g.nodes) {
      const options = { quantization: g.quantization, connectivity: g.connectivity, expansionAdd: g.expansionAdd, expansionSearch: g.expansionSearch, threads: graphThreads(live) };
      next.ann = await writeGraph(this.dir, next, options, file, (r) => isDeleted[r] === 1);
      obsolete.push(g.file);
    } else if (tail.length > tailRows) {
      next.ann = await extendGraph(this.dir, g, next.dim, { rows: tail, floats: this.rowFloats(next, tail) }, next.count, file);
      obsolete.push(g.file);
    }
  }

  /** The stored vectors of some rows as floats, as the searcher holds them (int8 rows as their bucket centres). */
  private rowFloats(m: IndexManifest, rows: readonly number[]): Float32Array {
    const out = new Float32Array(rows.length * m.dim);
    let base = 0;
    let i = 0;
    for (const entry of m.shards) {
      if (i >= rows.length) break;
      if ((rows[i] as number) < base + entry.rows) {
        const floats = shardFloats(readShard(this.dir, entry, m.precision, m.dim, true), m);
        while (i < rows.length && (rows[i] as number) < base + entry.rows) {
          const local = (rows[i] as number) - base;
          out.set(floats.subarray(local * m.dim, (local + 1) * m.dim), i * m.dim);
          i++;
        }
      }
      base += entry.rows;
    }
    return out;
  }

  /**
   * New rows go into the tail shard while it has room (rewritten whole under a new name), then into new shards.
   * Returns the files the commit makes obsolete.
   */
  private appendVectors(next: IndexManifest, stored: ShardVectors, generation: number): string[] {
    const m = this.manifest;
    const rb = rowBytes(m.precision, m.dim);
    const data = Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength);
    const rescore = stored.rescore !== undefined ? Buffer.from(stored.rescore.buffer, stored.rescore.byteOffset, stored.rescore.byteLength) : undefined;
    const suffix = `-g${generation}`;
    const obsolete: string[] = [];
    let taken = 0;
    const tail = next.shards[next.shards.length - 1];
    if (tail !== undefined && tail.rows < m.shardSize) {
      const n = Math.min(stored.rows, m.shardSize - tail.rows);
      const old = readChecked(this.dir, tail.file, tail.sha256, tail.rows * rb);
      const v: ShardVectors = { rows: tail.rows + n, data: Buffer.concat([old, data.subarray(0, n * rb)]) };
      if (rescore !== undefined && tail.rescoreFile !== undefined) {
        const oldR = readChecked(this.dir, tail.rescoreFile, tail.rescoreSha256 ?? '', tail.rows * m.dim);
        const r = Buffer.concat([oldR, rescore.subarray(0, n * m.dim)]);
        v.rescore = new Int8Array(r.buffer, r.byteOffset, r.byteLength);
      }
      next.shards[next.shards.length - 1] = writeShard(this.dir, next.shards.length - 1, m.precision, v, suffix);
      obsolete.push(tail.file, ...(tail.rescoreFile !== undefined ? [tail.rescoreFile] : []));
      taken = n;
    }
    while (taken < stored.rows) {
      const n = Math.min(stored.rows - taken, m.shardSize);
      const v: ShardVectors = { rows: n, data: data.subarray(taken * rb, (taken + n) * rb) };
      if (rescore !== undefined) {
        const r = rescore.subarray(taken * m.dim, (taken + n) * m.dim);
        v.rescore = new Int8Array(r.buffer, r.byteOffset, r.byteLength);
      }
      next.shards.push(writeShard(this.dir, next.shards.length, m.precision, v, suffix));
      taken += n;
    }
    return obsolete;
  }

  private async commit(next: IndexManifest, generation: number, obsolete: readonly string[], counts: Omit<WriteResult, 'generation' | 'live'>): Promise<WriteResult> {
    next.generation = generation;
    next.updatedAt = new Date().toISOString();
    writeManifest(this.dir, next);
    this.manifest = next;
    // Committed: what the old manifest alone named can go. A reader still on it has its files open or in memory.
    for (const f of obsolete) removeQuietly(join(this.dir, f));
    return { generation, ...counts, live: liveCount(next) };
  }

  /**
   * Run a write; if it fails (a full disk, a read-only folder), undo what it put in SQLite and the files it wrote,
   * as the next writer would, so this writer can go on from the last commit and the disk gets its space back.
   */
  private async undoingOnFailure(write: () => Promise<WriteResult>): Promise<WriteResult> {
    try {
      return await write();
    } catch (e) {
      try {
        // The manifest on disk is the truth: a failure after its rename leaves the write committed, not undone.
        const m = readManifest(this.dir);
        this.docs.rollback({ count: m.count, generation: m.generation ?? 0 });
        removeUnlisted(this.dir, m);
        this.manifest = m;
      } catch {
        // What cannot be undone now (the disk still full, the folder read-only) the next writer undoes on opening.
      }
      throw e;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SemsearchError('INVALID_ARGUMENT', 'this index writer is closed', { field: 'writer' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.docs.close();
    if (this.options.model === undefined) {
      const loaded = await this.loading?.catch(() => undefined);
      await loaded?.dispose();
    }
    await this.release();
  }
}

/**
 * A batch of documents to upsert, checked before anything is encoded or written: ids, texts, no id twice, and the
 * metadata against the fields the index has. Returns the metadata fields the batch adds.
 */
export function checkDocuments(documents: readonly WriteDocument[], fields: Readonly<Record<string, FieldType>>): Record<string, FieldType> {
  checkBatch(documents, 'documents');
  const seen = new Set<string>();
  documents.forEach((d, i) => {
    const at = `documents[${i}]`;
    if (typeof d !== 'object' || d === null) throw new SemsearchError('INVALID_ARGUMENT', `${at} must be an object with id and text`, { field: at });
    if (typeof d.id !== 'string' || d.id === '') throw new SemsearchError('INVALID_ARGUMENT', `${at}.id must be a non-empty string`, { field: `${at}.id` });
    checkWellFormed(d.id, `${at}.id`, 'document id');
    if (typeof d.text !== 'string' || d.text.trim() === '') throw new SemsearchError('EMPTY_PASSAGE', `${at} (id ${d.id}) has no text`, { field: `${at}.text` });
    checkWellFormed(d.text, `${at}.text`, `text of document ${d.id}`);
    if (d.metadata !== undefined && typeof d.metadata === 'object' && d.metadata !== null) {
      for (const [k, v] of Object.entries(d.metadata)) {
        checkWellFormed(k, `${at}.metadata`, `metadata field name of document ${d.id}`);
        if (typeof v === 'string') checkWellFormed(v, `${at}.metadata.${k}`, `metadata field ${k} of document ${d.id}`);
      }
    }
    if (seen.has(d.id)) throw new SemsearchError('DUPLICATE_ENTRY', `${at}: id ${d.id} appears twice in this batch; send each document once`, { field: `${at}.id` });
    seen.add(d.id);
  });
  return checkMetadata(documents, fields);
}

/** A batch of ids to delete: each a non-empty string, none twice. */
export function checkIds(ids: readonly string[]): void {
  checkBatch(ids, 'ids');
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || id === '') throw new SemsearchError('INVALID_ARGUMENT', `ids[${i}] must be a non-empty string`, { field: `ids[${i}]` });
    checkWellFormed(id, `ids[${i}]`, 'id to delete');
    if (seen.has(id)) throw new SemsearchError('DUPLICATE_ENTRY', `ids[${i}]: ${id} appears twice in this delete`, { field: `ids[${i}]` });
    seen.add(id);
  });
}

function checkBatch(list: readonly unknown[], field: string): void {
  if (!Array.isArray(list)) throw new SemsearchError('INVALID_ARGUMENT', `${field} must be an array`, { field });
  if (list.length === 0) throw new SemsearchError('EMPTY_INPUT', `${field} is empty: nothing to write`, { field });
  if (list.length > MAX_WRITE_BATCH) {
    throw new SemsearchError('LIMIT_EXCEEDED', `${field} holds ${list.length} entries; one write takes at most ${MAX_WRITE_BATCH} (split it into batches)`, { field });
  }
}

/** A whole index file, checked against the size and sha256 the manifest gives. */
function readChecked(dir: string, rel: string, sha256: string, bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  readVerified(dir, rel, sha256, data, true);
  return data;
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // A file left behind is removed by the next writer (removeUnlisted); the commit stands either way.
  }
}

/**
 * Files a killed writer left: shards, graphs and stores the manifest does not name (uncommitted ones, or old ones
 * whose removal the kill cut short), and temporary files.
 */
function removeUnlisted(dir: string, m: IndexManifest): string[] {
  const removed = removeUnlistedShards(dir, m.shards);
  const store = docsFile(m);
  for (const f of readdirSync(dir)) {
    const isStore = /^docs(-g\d+)?\.sqlite(-journal|-wal|-shm)?$/.test(f) && f.replace(/-(journal|wal|shm)$/, '') !== store;
    const isGraph = /^ann-.*\.usearch(\.tmp)?$/.test(f) && f !== m.ann?.file;
    const isLists = /^ivf(-g\d+)?\.lists(\.tmp)?$/.test(f) && f !== m.ivf?.file;
    if (isStore || isGraph || isLists || f === `${MANIFEST}.tmp`) {
      removeQuietly(join(dir, f));
      removed.push(f);
    }
  }
  return removed;
}
