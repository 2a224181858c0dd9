import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BatchMatches, Index as UsearchIndex, MetricKind, ScalarKind } from 'usearch';
import { SemsearchError } from '../errors.js';
import { diskIsFull, writeError } from './io-errors.js';
import { decodeFloat16 } from '../tensor/float16.js';
import { ANN_QUANTIZATIONS, readManifest, syncDir, writeManifest, type AnnEntry, type AnnQuantization, type IndexManifest } from './manifest.js';
import { lockForWriting } from './writer-lock.js';
import { readShard, type ShardVectors } from './shards.js';

// The graph's manifest entry is manifest data and is declared there; these names stay importable from here too.
export { ANN_QUANTIZATIONS, type AnnEntry, type AnnQuantization };

export interface BuildAnnOptions {
  /** How the graph stores vectors (default i8, scaled to the int8 range; hits are always rescored on the index's own vectors). */
  quantization?: AnnQuantization;
  /** HNSW graph degree M (default 16). */
  connectivity?: number;
  /** ef at construction (default 128). */
  expansionAdd?: number;
  /** ef at search time (default 64): higher is slower and closer to exact. */
  expansionSearch?: number;
  /**
   * Threads for usearch's insertions (default: graphThreads, one below 50,000 rows and every core above). More threads build faster, but the order in which rows
   * join the graph, and so the graph, then changes from run to run; 1 inserts in row order, so two builds of the
   * same index give the same graph byte for byte and the same hits.
   */
  threads?: number;
  onProgress?: (added: number, total: number) => void;
}

/** Float rows of a shard, whatever its stored precision (int8 rows become their bucket centres). */
export function shardFloats(s: ShardVectors, m: IndexManifest): Float32Array {
  if (s.data instanceof Float32Array) return s.data;
  if (s.data instanceof Uint16Array) return decodeFloat16(s.data);
  if (m.precision === 'int8' && s.data instanceof Int8Array && m.ranges !== undefined) {
    const out = new Float32Array(s.data.length);
    const dim = m.dim;
    for (let i = 0; i < out.length; i++) {
      const d = i % dim;
      const lo = m.ranges.min[d] as number;
      let step = Math.fround(Math.fround((m.ranges.max[d] as number) - lo) / 255);
      if (step === 0) step = 1;
      out[i] = lo + ((s.data[i] as number) + 128.5) * step;
    }
    return out;
  }
  throw new SemsearchError('INVALID_ARGUMENT', `an HNSW graph needs float, float16 or int8 vectors; a ${m.precision} index is searched exactly (hamming + int8 rescoring)`, {
    field: 'precision',
  });
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function metricFor(): MetricKind {
  // Vectors of cosine models are stored normalised, so inner product ranks as cosine does and as dot models need.
  return MetricKind.IP;
}

/**
 * Build an HNSW graph (usearch) over an index's vectors and record it in the manifest. The graph file is written
 * under a temporary name and renamed, so a crash leaves either no graph or a whole one.
 */
export async function buildAnnIndex(dir: string, options: BuildAnnOptions = {}): Promise<AnnEntry> {
  const release = await lockForWriting(dir);
  try {
    return await buildGraph(dir, options);
  } finally {
    await release();
  }
}

async function buildGraph(dir: string, options: BuildAnnOptions): Promise<AnnEntry> {
  const m = readManifest(dir);
  // i8 by measurement (docs/SEARCH-SCALE.md): with the candidates rescored exactly it finds what f16 finds, at
  // half the size, with faster builds and walks.
  const quantization = options.quantization ?? 'i8';
  if (!ANN_QUANTIZATIONS.includes(quantization)) {
    throw new SemsearchError('INVALID_ARGUMENT', `quantization must be one of ${ANN_QUANTIZATIONS.join(', ')}`, { field: 'quantization' });
  }
  const ann = await writeGraph(dir, m, { ...options, quantization }, `ann-${quantization}.usearch`);
  const fresh = readManifest(dir);
  fresh.ann = ann;
  writeManifest(dir, fresh);
  return ann;
}

function graphIndex(dim: number, p: { quantization: AnnQuantization; connectivity: number; expansionAdd: number; expansionSearch: number }): UsearchIndex {
  return new UsearchIndex({
    dimensions: dim,
    metric: metricFor(),
    quantization: p.quantization as ScalarKind,
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false,
  });
}

/**
 * Build a graph over the vectors `m` lists (committed or about to be) into `file`, durably, and describe it; the
 * caller commits it in a manifest. Keys are row numbers; rows `skip` names (deleted ones) are left out.
 */
export async function writeGraph(
  dir: string,
  m: IndexManifest,
  options: BuildAnnOptions & { quantization: AnnQuantization },
  file: string,
  skip?: (row: number) => boolean,
): Promise<AnnEntry> {
  const quantization = options.quantization;
  const connectivity = options.connectivity ?? 16;
  const expansionAdd = options.expansionAdd ?? 128;
  const expansionSearch = options.expansionSearch ?? 64;
  const index = graphIndex(m.dim, { quantization, connectivity, expansionAdd, expansionSearch });
  const scale = quantization === 'i8' ? i8Scale(dir, m) : 1;
  let base = 0;
  let nodes = 0;
  for (const entry of m.shards) {
    const s = readShard(dir, entry, m.precision, m.dim, true);
    const floats = shardFloats(s, m);
    const keep: number[] = [];
    for (let r = 0; r < s.rows; r++) if (skip?.(base + r) !== true) keep.push(r);
    if (keep.length > 0) {
      const keys = BigUint64Array.from(keep, (r) => BigInt(base + r));
      const rows = keep.length === s.rows ? floats : gatherRows(floats, keep, m.dim);
      index.add(keys, scale === 1 ? rows : rows.map((x) => x * scale), options.threads ?? graphThreads(m.count));
      nodes += keep.length;
    }
    base += s.rows;
    options.onProgress?.(base, m.count);
  }
  if (nodes === 0) throw new SemsearchError('INVALID_ARGUMENT', 'an HNSW graph needs at least one live row', { field: 'ann' });
  await saveDurably(index, dir, file);
  return {
    file,
    quantization,
    connectivity,
    expansionAdd,
    expansionSearch,
    sha256: await sha256File(join(dir, file)),
    bytes: statSync(join(dir, file)).size,
    ...(scale !== 1 ? { scale } : {}),
    rows: m.count,
    nodes,
  };
}

function gatherRows(floats: Float32Array, rows: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(floats.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

async function saveDurably(index: UsearchIndex, dir: string, file: string): Promise<void> {
  const tmp = join(dir, `${file}.tmp`);
  try {
    index.save(tmp);
    // usearch writes without fsync: make the bytes and then the rename durable before the manifest names the file.
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, file));
    syncDir(dir);
  } catch (cause) {
    // usearch's own write fails without an errno: whether the disk is full is asked before its partial file goes.
    const full = diskIsFull(dir);
    rmSync(tmp, { force: true });
    throw writeError(join(dir, file), `the HNSW graph ${join(dir, file)}`, cause, full);
  }
}

/**
 * Threads for inserting `rows` rows after the build: one below SMALL_GRAPH_ROWS, where a single thread is fast and
 * its graph the same on every run (parallel insertion into a small graph can leave a node poorly linked), every
 * core above.
 */
export function graphThreads(rows: number): number {
  return rows < SMALL_GRAPH_ROWS ? 1 : availableParallelism();
}
const SMALL_GRAPH_ROWS = 50_000;

/**
 * Merge rows added since the graph was built into it: usearch loads the graph and inserts them (floats, scaled as
 * the graph was built), as a build inserts rows, and the result is saved durably under a new name for the manifest
 * to commit. Nothing is ever removed from a graph in place (usearch's removal can leave live nodes that no walk
 * reaches): deleted rows stay nodes that searches skip, until a rebuild. New vectors beyond the build's scale are
 * clipped by an i8 graph, which only affects the candidates: hits are rescored on the stored vectors.
 */
export async function extendGraph(dir: string, entry: AnnEntry & { rows: number; nodes: number }, dim: number, add: { rows: readonly number[]; floats: Float32Array }, upTo: number, file: string): Promise<AnnEntry> {
  const index = graphIndex(dim, entry);
  const from = join(dir, entry.file);
  try {
    index.load(from);
  } catch (cause) {
    throw new SemsearchError('INDEX_CORRUPT', `cannot load the HNSW graph ${from}: ${(cause as Error).message}`, { file: from, cause });
  }
  if (add.rows.length > 0) {
    const scale = entry.scale ?? 1;
    // One thread: rows join in row order, as a build's do.
    index.add(BigUint64Array.from(add.rows, (r) => BigInt(r)), scale === 1 ? add.floats : add.floats.map((x) => x * scale), graphThreads(add.rows.length));
  }
  await saveDurably(index, dir, file);
  return { ...entry, file, sha256: await sha256File(join(dir, file)), bytes: statSync(join(dir, file)).size, rows: upTo, nodes: entry.nodes + add.rows.length };
}

/**
 * usearch's i8 graphs map [-1, 1] onto [-127, 127] and clip beyond it: unit vectors in 384 dimensions have
 * components near ±0.05 and would use a few codes, dot-model vectors with components past 1 would clip. Scaling
 * every vector by 1 / the largest |component| uses the whole range; inner products only scale, so the graph's
 * order is unchanged, and hits are rescored on the stored vectors anyway.
 */
function i8Scale(dir: string, m: IndexManifest): number {
  let maxAbs = 0;
  for (const entry of m.shards) {
    const floats = shardFloats(readShard(dir, entry, m.precision, m.dim, false), m);
    for (let i = 0; i < floats.length; i++) {
      const a = Math.abs(floats[i] as number);
      if (a > maxAbs) maxAbs = a;
    }
  }
  return maxAbs > 0 && Number.isFinite(maxAbs) ? 1 / maxAbs : 1;
}

/** Largest per-query ef accepted: beyond it a graph walk costs more than scanning a million rows. */
export const MAX_EF = 4096;
/** INVALID_ARGUMENT unless ef is an integer from 1 to MAX_EF. */
export function checkEf(ef: number): void {
  if (!Number.isInteger(ef) || ef < 1 || ef > MAX_EF) {
    throw new SemsearchError('INVALID_ARGUMENT', `ef must be an integer from 1 to ${MAX_EF}, got ${ef}`, { field: 'ef' });
  }
}

/** Distinct ef values kept open at once: each is one more memory map of the same file. */
const EF_VIEWS = 8;

/** A loaded HNSW graph: memory-mapped (usearch `view`), so opening costs no copy of the graph. */
export class AnnGraph {
  readonly entry: AnnEntry;
  private readonly file: string;
  private readonly dim: number;
  /**
   * usearch fixes ef when an index is opened, so each ef asked for gets its own view of the same mapped file
   * (cheap: the pages are shared); the default ef's view is opened first and never dropped.
   */
  private readonly views = new Map<number, UsearchIndex>();

  private constructor(entry: AnnEntry, file: string, dim: number) {
    this.entry = entry;
    this.file = file;
    this.dim = dim;
  }

  static async open(dir: string, entry: AnnEntry, dim: number, verify: boolean): Promise<AnnGraph> {
    const file = join(dir, entry.file);
    let bytes: number;
    try {
      bytes = statSync(file).size;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new SemsearchError('FILE_NOT_FOUND', `cannot read the ANN graph ${file}: ${(cause as Error).message}`, { file, cause });
      throw new SemsearchError('INDEX_CORRUPT', `ANN graph ${file} is missing; rebuild it with buildAnnIndex / semsearch index --ann`, { file, cause });
    }
    if (bytes !== entry.bytes || (verify && (await sha256File(file)) !== entry.sha256)) {
      throw new SemsearchError('INDEX_CORRUPT', `ANN graph ${file} fails its size or sha256 check; rebuild it`, { file });
    }
    const graph = new AnnGraph(entry, file, dim);
    graph.view(entry.expansionSearch);
    return graph;
  }

  private view(ef: number): UsearchIndex {
    let index = this.views.get(ef);
    if (index === undefined) {
      if (this.views.size >= EF_VIEWS) {
        const oldest = [...this.views.keys()].find((e) => e !== this.entry.expansionSearch);
        if (oldest !== undefined) this.views.delete(oldest);
      }
      index = new UsearchIndex({
        dimensions: this.dim,
        metric: metricFor(),
        quantization: this.entry.quantization as ScalarKind,
        connectivity: this.entry.connectivity,
        expansion_add: this.entry.expansionAdd,
        expansion_search: ef,
        multi: false,
      });
      index.view(this.file);
      this.views.set(ef, index);
    }
    return index;
  }

  /**
   * Candidates for the k nearest rows of each query, best first by the graph's own scores: max(k, ef) of them,
   * since a walk with expansion ef has that many at hand anyway and the caller rescores them exactly.
   */
  search(queries: Float32Array, dim: number, k: number, ef: number = this.entry.expansionSearch, threads = 0): { row: number; score: number }[][] {
    checkEf(ef);
    const n = queries.length / dim;
    if (n === 0) return [];
    const wanted = Math.max(k, ef);
    const scale = this.entry.scale ?? 1;
    // One native call for the whole batch: usearch spreads the queries over `threads` (0: every core). One query
    // runs on the calling thread whatever `threads` says, but 0 makes usearch count the cores first, which reads
    // /sys on every call (an open and reads: 15–20 µs measured against a 0.14 ms walk): a single query asks for one thread.
    const found = this.view(ef).search(scale === 1 ? queries : queries.map((x) => x * scale), wanted, n === 1 ? 1 : threads);
    const out: { row: number; score: number }[][] = [];
    for (let i = 0; i < n; i++) {
      const r = found instanceof BatchMatches ? found.get(i) : found;
      const hits: { row: number; score: number }[] = [];
      for (let j = 0; j < r.keys.length; j++) hits.push({ row: Number(r.keys[j]), score: 1 - (r.distances[j] as number) });
      out.push(hits);
    }
    return out;
  }
}
