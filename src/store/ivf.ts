// IVF partition of a binary index: k-means centroids over the rows' int8 values and, per centroid, the rows nearest
// it. A search ranks the centroids against the query, scans the sign bits of the `nprobe` nearest lists' rows only
// (the rows written since the build, which no list holds, are scanned too), and rescores the best hamming
// candidates with their int8 rows exactly as the exact binary path does. With every list probed the candidates,
// and so the hits, are the exact path's: the scan keeps the best kc by (distance, row) whatever order rows arrive in.
//
// List file (little-endian): "SSIVF001", u32 nlist, u32 dim, u32 rows, u32 0, float32 centroids (nlist × dim),
// u32 starts (nlist + 1), u32 row ids (rows; list by list, ascending within a list).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SemsearchError } from '../errors.js';
import { seededRandom } from '../tensor/random.js';
import { ScoreTopKSession } from '../model/score-topk-session.js';
import { diskIsFull, writeError } from './io-errors.js';
import { readManifest, syncDir, writeManifest, type IndexManifest, type IvfEntry } from './manifest.js';
import { startWorker } from './parallel-search.js';
import { readShard, type ShardVectors } from './shards.js';
import { allocVectorMemory, kernelsFor, OUT_CAPACITY, SCRATCH, SCRATCH_BYTES, tryLock, unlock, type VectorMemory } from './simd/vector-memory.js';
import { TopK } from './top-k.js';
import { lockForWriting } from './writer-lock.js';

export type { IvfEntry };

const MAGIC = 'SSIVF001';
const HEADER = 24;
/** Rows per Gemm call when assigning rows to centroids. */
const ASSIGN_BATCH = 4096;

export interface BuildIvfOptions {
  /** Lists (default √rows, at most 1024: assignment costs rows × nlist × dim multiply-adds). */
  nlist?: number;
  /**
   * Lists a search scans by default (default ⌈4·√nlist⌉, at most nlist: on real 768-dim embeddings that gave recall@10
   * 0.95–0.96 with ×10 rescoring at 100 to 1,024 lists over 10k and 20k rows, probing 13 % of 1,024 lists or 33 % of
   * 100; docs/SEARCH-SCALE.md). A fixed share does not fit: finer lists need a smaller share of the rows.
   */
  nprobe?: number;
  /** Lloyd iterations (default 4). */
  iterations?: number;
  /** Rows the centroids are trained on, a seeded sample (default 64 × nlist, at most the rows). */
  sample?: number;
  /** Seed of the sample (default 1). */
  seed?: number;
  /** BLAS threads of the assignment (default one per core). */
  threads?: number;
  onProgress?: (phase: 'train' | 'assign', done: number, total: number) => void;
}

/** Lists of an index, as the file holds them. */
export interface IvfLists {
  nlist: number;
  dim: number;
  rows: number;
  centroids: Float32Array;
  /** List l holds ids[starts[l] … starts[l+1]). */
  starts: Uint32Array;
  ids: Uint32Array;
}

/** ⌈4·√nlist⌉, at most nlist: the probe count that reached recall@10 ≥ 0.95 from 100 to 1,024 lists (see nprobe). */
export function defaultNprobe(nlist: number): number {
  return Math.max(1, Math.min(nlist, Math.ceil(4 * Math.sqrt(nlist))));
}

function checkCount(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${v}`, { field: name });
  }
}

/** The dequantisation of an index's int8 rows (the bucket centres the rescoring scores against). */
function int8Centres(m: IndexManifest): { lo: Float64Array; step: Float64Array } {
  const ranges = m.ranges;
  if (ranges === undefined) throw new SemsearchError('INDEX_CORRUPT', 'a binary index needs its quantisation ranges in the manifest', { field: 'ranges' });
  const lo = new Float64Array(m.dim);
  const step = new Float64Array(m.dim);
  for (let i = 0; i < m.dim; i++) {
    lo[i] = Math.fround(ranges.min[i] as number);
    let s = Math.fround(Math.fround((ranges.max[i] as number) - (lo[i] as number)) / 255);
    if (s === 0) s = 1;
    step[i] = s;
  }
  return { lo, step };
}

/**
 * Rows as Gemm operands for nearest-centroid (L2) assignment: argmin ‖x − c‖² = argmax x·c − ‖c‖²/2, so each row
 * gets a trailing 1 and each centroid the trailing −‖c‖²/2, and the Gemm + TopK graph's best "score" is the nearest
 * centroid.
 */
function rowsAugmented(codes: Int8Array, from: number, n: number, dim: number, c: { lo: Float64Array; step: Float64Array }, out: Float32Array): void {
  for (let r = 0; r < n; r++) {
    const src = (from + r) * dim;
    const dst = r * (dim + 1);
    for (let i = 0; i < dim; i++) out[dst + i] = (c.lo[i] as number) + ((codes[src + i] as number) + 128.5) * (c.step[i] as number);
    out[dst + dim] = 1;
  }
}

function centroidsAugmented(centroids: Float32Array, nlist: number, dim: number): Float32Array {
  const out = new Float32Array(nlist * (dim + 1));
  for (let l = 0; l < nlist; l++) {
    let n2 = 0;
    for (let i = 0; i < dim; i++) {
      const v = centroids[l * dim + i] as number;
      out[l * (dim + 1) + i] = v;
      n2 += v * v;
    }
    out[l * (dim + 1) + dim] = -n2 / 2;
  }
  return out;
}

/** Nearest centroid of each of `n` augmented rows. */
async function assign(session: ScoreTopKSession, rows: Float32Array, n: number, cent: Float32Array, nlist: number, out: Uint32Array, at: number): Promise<void> {
  const top = await session.run(rows, n, cent, nlist, 1);
  for (let r = 0; r < n; r++) out[at + r] = Number(top.indices[r]);
}

/**
 * Build the IVF lists of a binary index and record them in the manifest (under the writer lock). The file is
 * written under a temporary name, fsynced and renamed before the manifest names it, so a crash leaves the old
 * state whole.
 */
export async function buildIvfIndex(dir: string, options: BuildIvfOptions = {}): Promise<IvfEntry> {
  const release = await lockForWriting(dir);
  try {
    const m = readManifest(dir);
    const entry = await writeIvf(dir, m, options, 'ivf.lists');
    const fresh = readManifest(dir);
    fresh.ivf = entry;
    writeManifest(dir, fresh);
    return entry;
  } finally {
    await release();
  }
}

/**
 * Train centroids (or take `centroids`, as compact does) and assign every row of `m` to its nearest one; write the
 * lists durably to `file` and describe them. The caller commits the entry in a manifest.
 */
export async function writeIvf(dir: string, m: IndexManifest, options: BuildIvfOptions, file: string, given?: { centroids: Float32Array; nprobe: number; training: IvfEntry['training'] }): Promise<IvfEntry> {
  if (m.precision !== 'binary') {
    throw new SemsearchError('INVALID_ARGUMENT', `IVF lists partition binary indexes (hamming scan, int8 rescoring); this index is ${m.precision}: use an HNSW graph (--ann)`, { field: 'ivf' });
  }
  const rows = m.count;
  if (rows === 0) throw new SemsearchError('INVALID_ARGUMENT', 'IVF lists need at least one row', { field: 'ivf' });
  const dim = m.dim;
  const nlist = given !== undefined ? given.centroids.length / dim : (options.nlist ?? Math.max(1, Math.min(1024, Math.round(Math.sqrt(rows)))));
  // Given centroids (compact) keep their lists even when fewer rows than lists remain: some lists are then empty.
  if (given === undefined) checkCount('nlist', nlist, 1, Math.min(rows, 65536));
  const nprobe = given?.nprobe ?? options.nprobe ?? defaultNprobe(nlist);
  checkCount('nprobe', nprobe, 1, nlist);
  const iterations = options.iterations ?? 4;
  checkCount('iterations', iterations, 0, 100);
  const sampleRows = Math.min(rows, options.sample ?? 64 * nlist);
  if (given === undefined) checkCount('sample', sampleRows, nlist, rows);
  const seed = options.seed ?? 1;
  checkCount('seed', seed, 0, 2 ** 32 - 1);
  const shards = m.shards.map((e) => readShard(dir, e, m.precision, dim, true));
  const centres = int8Centres(m);
  const session = await ScoreTopKSession.create(dim + 1, options.threads ?? availableParallelism());
  try {
    let centroids: Float32Array;
    let training: IvfEntry['training'];
    if (given !== undefined) {
      centroids = given.centroids;
      training = given.training;
    } else {
      centroids = await train(shards, dim, nlist, sampleRows, iterations, seed, centres, session, options);
      training = { sample: sampleRows, iterations, seed };
    }
    const cent = centroidsAugmented(centroids, nlist, dim);
    const assigned = new Uint32Array(rows);
    const buf = new Float32Array(ASSIGN_BATCH * (dim + 1));
    let base = 0;
    for (const s of shards) {
      const codes = s.rescore as Int8Array;
      for (let r = 0; r < s.rows; r += ASSIGN_BATCH) {
        const n = Math.min(ASSIGN_BATCH, s.rows - r);
        rowsAugmented(codes, r, n, dim, centres, buf);
        await assign(session, buf, n, cent, nlist, assigned, base + r);
        options.onProgress?.('assign', base + r + n, rows);
      }
      base += s.rows;
    }
    const lists = listsOf(assigned, nlist, dim, centroids);
    const bytes = encodeLists(lists);
    writeDurably(dir, file, bytes);
    return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, nlist, nprobe, rows, training };
  } finally {
    await session.dispose();
  }
}

/** k-means (Lloyd) over a seeded sample of the rows' int8 values: centroids start at sampled rows. */
async function train(
  shards: readonly ShardVectors[],
  dim: number,
  nlist: number,
  sampleRows: number,
  iterations: number,
  seed: number,
  centres: { lo: Float64Array; step: Float64Array },
  session: ScoreTopKSession,
  options: BuildIvfOptions,
): Promise<Float32Array> {
  const total = shards.reduce((n, s) => n + s.rows, 0);
  // A partial Fisher–Yates shuffle of the row numbers: the first sampleRows are the sample, in random order.
  const rnd = seededRandom(seed);
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  for (let i = 0; i < sampleRows; i++) {
    const j = i + Math.floor(rnd() * (total - i));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  const starts: number[] = [];
  let acc = 0;
  for (const s of shards) {
    starts.push(acc);
    acc += s.rows;
  }
  const sample = new Float32Array(sampleRows * (dim + 1));
  const one = new Float32Array(dim + 1);
  for (let i = 0; i < sampleRows; i++) {
    const row = order[i] as number;
    let si = starts.length - 1;
    while ((starts[si] as number) > row) si--;
    rowsAugmented((shards[si] as ShardVectors).rescore as Int8Array, row - (starts[si] as number), 1, dim, centres, one);
    sample.set(one, i * (dim + 1));
  }
  const centroids = new Float32Array(nlist * dim);
  for (let l = 0; l < nlist; l++) centroids.set(sample.subarray(l * (dim + 1), l * (dim + 1) + dim), l * dim);
  const assigned = new Uint32Array(sampleRows);
  for (let it = 0; it < iterations; it++) {
    const cent = centroidsAugmented(centroids, nlist, dim);
    for (let r = 0; r < sampleRows; r += ASSIGN_BATCH) {
      const n = Math.min(ASSIGN_BATCH, sampleRows - r);
      await assign(session, sample.subarray(r * (dim + 1), (r + n) * (dim + 1)), n, cent, nlist, assigned, r);
    }
    const sums = new Float64Array(nlist * dim);
    const counts = new Uint32Array(nlist);
    for (let r = 0; r < sampleRows; r++) {
      const l = assigned[r] as number;
      counts[l] = (counts[l] as number) + 1;
      const off = r * (dim + 1);
      for (let i = 0; i < dim; i++) sums[l * dim + i] = (sums[l * dim + i] as number) + (sample[off + i] as number);
    }
    for (let l = 0; l < nlist; l++) {
      const c = counts[l] as number;
      // An empty list restarts at a random sampled row, as FAISS's k-means splits: no centroid stays idle.
      if (c === 0) {
        const r = Math.floor(rnd() * sampleRows);
        centroids.set(sample.subarray(r * (dim + 1), r * (dim + 1) + dim), l * dim);
      } else for (let i = 0; i < dim; i++) centroids[l * dim + i] = (sums[l * dim + i] as number) / c;
    }
    options.onProgress?.('train', it + 1, iterations);
  }
  return centroids;
}

function listsOf(assigned: Uint32Array, nlist: number, dim: number, centroids: Float32Array): IvfLists {
  const starts = new Uint32Array(nlist + 1);
  for (let r = 0; r < assigned.length; r++) starts[(assigned[r] as number) + 1] = (starts[(assigned[r] as number) + 1] as number) + 1;
  for (let l = 0; l < nlist; l++) starts[l + 1] = (starts[l + 1] as number) + (starts[l] as number);
  const next = starts.slice(0, nlist);
  const ids = new Uint32Array(assigned.length);
  for (let r = 0; r < assigned.length; r++) {
    const l = assigned[r] as number;
    ids[next[l] as number] = r;
    next[l] = (next[l] as number) + 1;
  }
  return { nlist, dim, rows: assigned.length, centroids, starts, ids };
}

export function encodeLists(l: IvfLists): Buffer {
  const bytes = Buffer.alloc(HEADER + 4 * (l.nlist * l.dim + l.nlist + 1 + l.rows));
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(l.nlist, 8);
  bytes.writeUInt32LE(l.dim, 12);
  bytes.writeUInt32LE(l.rows, 16);
  let at = HEADER;
  for (const a of [l.centroids, l.starts, l.ids]) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(bytes, at);
    at += a.byteLength;
  }
  return bytes;
}

function writeDurably(dir: string, file: string, bytes: Uint8Array): void {
  const target = join(dir, file);
  const tmp = `${target}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    syncDir(dir);
  } catch (cause) {
    const full = diskIsFull(dir);
    rmSync(tmp, { force: true });
    throw writeError(target, `the IVF lists ${target}`, cause, full);
  }
}

/** Read and check a list file: present, the size and sha256 the manifest records, and well formed (INDEX_CORRUPT naming it otherwise). */
export function readIvfLists(dir: string, entry: IvfEntry, dim: number, verify: boolean): IvfLists {
  const file = join(dir, entry.file);
  const corrupt = (why: string, cause?: unknown): SemsearchError =>
    new SemsearchError('INDEX_CORRUPT', `IVF lists ${file} ${why}; rebuild them (buildIvfIndex / semsearch index --ivf)`, { file, ...(cause !== undefined ? { cause } : {}) });
  let size: number;
  try {
    size = statSync(file).size;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new SemsearchError('FILE_NOT_FOUND', `cannot read the IVF lists ${file}: ${(cause as Error).message}`, { file, cause });
    throw corrupt('are missing', cause);
  }
  if (size !== entry.bytes) throw corrupt(`hold ${size} bytes, the manifest says ${entry.bytes}`);
  const raw = readFileSync(file);
  if (verify && createHash('sha256').update(raw).digest('hex') !== entry.sha256) throw corrupt('fail their sha256 check');
  if (raw.length < HEADER || raw.toString('latin1', 0, 8) !== MAGIC) throw corrupt('do not start with the IVF header');
  const nlist = raw.readUInt32LE(8);
  const fileDim = raw.readUInt32LE(12);
  const rows = raw.readUInt32LE(16);
  if (nlist !== entry.nlist || fileDim !== dim || rows !== entry.rows) throw corrupt(`describe ${nlist} lists of ${rows} rows × ${fileDim}, the manifest ${entry.nlist} of ${entry.rows} × ${dim}`);
  if (raw.length !== HEADER + 4 * (nlist * dim + nlist + 1 + rows)) throw corrupt('have the wrong length for their header');
  // A copy into aligned memory: Buffer slices may start at any byte.
  const words = new Uint8Array(raw.length - HEADER);
  words.set(raw.subarray(HEADER));
  const centroids = new Float32Array(words.buffer, 0, nlist * dim);
  const starts = new Uint32Array(words.buffer, 4 * nlist * dim, nlist + 1);
  const ids = new Uint32Array(words.buffer, 4 * (nlist * dim + nlist + 1), rows);
  if (starts[0] !== 0 || starts[nlist] !== rows) throw corrupt('have list bounds that do not cover the rows');
  for (let l = 0; l < nlist; l++) if ((starts[l + 1] as number) < (starts[l] as number)) throw corrupt(`have list ${l} ending before it starts`);
  const seen = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = ids[i] as number;
    if (r >= rows || seen[r] === 1) throw corrupt(`list row ${r} at position ${i} is out of range or listed twice`);
    seen[r] = 1;
  }
  for (let i = 0; i < centroids.length; i++) if (!Number.isFinite(centroids[i] as number)) throw corrupt('hold a centroid that is not finite');
  return { nlist, dim, rows, centroids, starts, ids };
}

/**
 * One share of every list's rows with their sign bits copied out in list order, so the kernels scan a probed
 * list as one contiguous run. Shares split each list in equal parts, so every probe costs each worker the same.
 */
export interface IvfPart {
  bytes: number;
  /** This share of list l: positions starts[l] … starts[l+1]). */
  starts: Uint32Array;
  /** The index row at each position. */
  ids: Uint32Array;
  /** The sign bits at each position (rows of `bytes`), in kernel memory when the runtime has the kernels. */
  codes: Uint8Array;
  memory?: VectorMemory;
}

function shareBuffer(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(4 * n));
}

/** Split lists into `parts` shares and gather each share's sign bits from the shards. */
export function ivfParts(lists: IvfLists, shards: readonly ShardVectors[], parts: number): IvfPart[] {
  const bytes = Math.ceil(lists.dim / 8);
  const shardStarts: number[] = [];
  let acc = 0;
  for (const s of shards) {
    shardStarts.push(acc);
    acc += s.rows;
  }
  const out: IvfPart[] = [];
  for (let w = 0; w < parts; w++) {
    const starts = shareBuffer(lists.nlist + 1);
    for (let l = 0; l < lists.nlist; l++) {
      const len = (lists.starts[l + 1] as number) - (lists.starts[l] as number);
      starts[l + 1] = (starts[l] as number) + Math.floor((len * (w + 1)) / parts) - Math.floor((len * w) / parts);
    }
    const n = starts[lists.nlist] as number;
    const ids = shareBuffer(n);
    const mem = allocVectorMemory(n * bytes);
    const codes = mem?.bytes ?? new Uint8Array(new SharedArrayBuffer(n * bytes));
    let at = 0;
    let si = 0;
    for (let l = 0; l < lists.nlist; l++) {
      const s = lists.starts[l] as number;
      const len = (lists.starts[l + 1] as number) - s;
      for (let p = s + Math.floor((len * w) / parts); p < s + Math.floor((len * (w + 1)) / parts); p++) {
        const row = lists.ids[p] as number;
        // Rows ascend within a list: the shard search restarts only when a list begins.
        if (si >= shardStarts.length || (shardStarts[si] as number) > row || row >= (shardStarts[si] as number) + (shards[si] as ShardVectors).rows) {
          si = shardStarts.length - 1;
          while ((shardStarts[si] as number) > row) si--;
        }
        const local = row - (shardStarts[si] as number);
        codes.set(((shards[si] as ShardVectors).data as Uint8Array).subarray(local * bytes, (local + 1) * bytes), at * bytes);
        ids[at++] = row;
      }
    }
    out.push({ bytes, starts, ids, codes, ...(mem !== undefined ? { memory: mem.memory } : {}) });
  }
  return out;
}

/**
 * The `nprobe` lists whose centroids are nearest the query (L2, as rows were assigned: largest q·c − ‖c‖²/2),
 * nearest first, ties to the lower list.
 */
export function probeLists(lists: IvfLists, q: Float32Array, nprobe: number, halfNorms: Float64Array): number[] {
  const { nlist, dim, centroids } = lists;
  const top = new TopK(Math.min(nprobe, nlist));
  for (let l = 0; l < nlist; l++) {
    const off = l * dim;
    let s = 0;
    for (let i = 0; i < dim; i++) s += (q[i] as number) * (centroids[off + i] as number);
    top.push(s - (halfNorms[l] as number), l);
  }
  return top.sorted().map((h) => h.row);
}

export function centroidHalfNorms(lists: IvfLists): Float64Array {
  const out = new Float64Array(lists.nlist);
  for (let l = 0; l < lists.nlist; l++) {
    let n2 = 0;
    for (let i = l * lists.dim; i < (l + 1) * lists.dim; i++) n2 += (lists.centroids[i] as number) ** 2;
    out[l] = n2 / 2;
  }
  return out;
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let x = i; x > 0; x >>= 1) n += x & 1;
  return n;
});

function skipped(skip: Uint8Array | undefined, row: number): boolean {
  return skip !== undefined && ((skip[row >> 3] as number) & (1 << (row & 7))) !== 0;
}

/** Longest kernel call, in rows (as the exact scan's). */
const MAX_BLOCK_ROWS = 8192;

/**
 * Push into `top` (score −distance) every row of the given lists of one share that `skip` allows. Rows arrive in
 * list order, not row order, so a row at the current k-th distance is offered too and TopK keeps the lower row:
 * the result is the best top.k by (distance, row) whatever the order.
 */
export function scanLists(part: IvfPart, qbits: Uint8Array, lists: readonly number[], top: TopK, skip: Uint8Array | undefined): void {
  const bytes = part.bytes;
  const memory = part.memory;
  const k = memory !== undefined ? kernelsFor(memory) : undefined;
  if (memory !== undefined && k !== undefined && bytes % 16 === 0 && bytes <= 496 && tryLock(memory)) {
    try {
      const buf = memory.buffer;
      new Uint8Array(buf).set(qbits.subarray(0, bytes), SCRATCH.queries);
      const thr = new Int32Array(buf, SCRATCH.thresholds, 1);
      const outI = new Int32Array(buf, SCRATCH.out, OUT_CAPACITY * 3);
      const most = Math.min(MAX_BLOCK_ROWS, OUT_CAPACITY);
      // Short blocks until the k-th distance settles, so few rows reach the heap; then as long as the output holds.
      let block = 512;
      for (const l of lists) {
        const end = part.starts[l + 1] as number;
        for (let start = part.starts[l] as number; start < end; start += block, block = Math.min(most, block * 4)) {
          const rows = Math.min(block, end - start);
          const t = top.threshold;
          thr[0] = t === Number.NEGATIVE_INFINITY ? bytes * 8 : -t;
          const x = SCRATCH_BYTES + start * bytes;
          const four = rows - (rows % 4);
          let found = four > 0 ? k.scan_b1_x4(SCRATCH.queries, x, four, bytes, thr[0] as number, SCRATCH.out) : 0;
          if (four < rows) {
            const head = found;
            found += k.scan_b1(SCRATCH.queries, 1, x + four * bytes, rows - four, bytes, SCRATCH.thresholds, SCRATCH.out + head * 12);
            for (let i = head; i < found; i++) outI[3 * i + 1] = (outI[3 * i + 1] as number) + four;
          }
          for (let i = 0; i < found; i++) {
            const row = part.ids[start + (outI[3 * i + 1] as number)] as number;
            if (!skipped(skip, row)) top.push(-(outI[3 * i + 2] as number), row);
          }
        }
      }
      return;
    } finally {
      unlock(memory);
    }
  }
  for (const l of lists) {
    for (let p = part.starts[l] as number; p < (part.starts[l + 1] as number); p++) {
      const row = part.ids[p] as number;
      if (skipped(skip, row)) continue;
      let d = 0;
      for (let b = 0; b < bytes; b++) d += POPCOUNT[((part.codes[p * bytes + b] as number) ^ (qbits[b] as number)) & 0xff] as number;
      if (-d >= top.threshold) top.push(-d, row);
    }
  }
}

/** Push the given rows (rows no list holds) by their hamming distance, read from the shards. */
export function scanRows(qbits: Uint8Array, rows: readonly number[], shards: readonly ShardVectors[], bytes: number, top: TopK): void {
  let si = 0;
  let base = 0;
  for (const row of rows) {
    while (si < shards.length - 1 && row >= base + (shards[si] as ShardVectors).rows) base += (shards[si++] as ShardVectors).rows;
    const d = (shards[si] as ShardVectors).data as Uint8Array;
    const off = (row - base) * bytes;
    let dist = 0;
    for (let b = 0; b < bytes; b++) dist += POPCOUNT[((d[off + b] as number) ^ (qbits[b] as number)) & 0xff] as number;
    if (-dist >= top.threshold) top.push(-dist, row);
  }
}

/**
 * A query's hamming candidates on the IVF path: the best `kc` by (distance, row) among the allowed rows of its
 * `nprobe` nearest lists and the `tail` rows (ascending; written since the lists were built, in no list).
 */
export async function ivfCandidates(
  searcher: IvfSearcher,
  q: Float32Array,
  qbits: Uint8Array,
  nprobe: number,
  kc: number,
  skip: Uint8Array | undefined,
  tail: readonly number[],
  shards: readonly ShardVectors[],
): Promise<TopK> {
  const top = await searcher.scan(qbits, searcher.probe(q, nprobe), kc, skip);
  scanRows(qbits, tail, shards, Math.ceil(searcher.lists.dim / 8), top);
  return top;
}

/** INVALID_ARGUMENT unless nprobe is an integer from 1 to nlist. */
export function checkNprobe(nprobe: number, nlist: number): void {
  if (!Number.isInteger(nprobe) || nprobe < 1 || nprobe > nlist) {
    throw new SemsearchError('INVALID_ARGUMENT', `nprobe must be an integer from 1 to ${nlist} (the index's lists), got ${nprobe}`, { field: 'nprobe' });
  }
}

/**
 * Loaded IVF lists, ready to search: the centroids, and the lists' sign bits in `threads` shares. With more than
 * one share, worker threads scan them (shared memory: nothing is copied) and the calling thread merges.
 */
export class IvfSearcher {
  readonly entry: IvfEntry;
  readonly lists: IvfLists;
  private readonly halfNorms: Float64Array;
  private readonly parts: IvfPart[];
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private readonly pending = new Map<number, { left: number; top: TopK; resolve: (t: TopK) => void; reject: (e: unknown) => void }>();

  private constructor(entry: IvfEntry, lists: IvfLists, parts: IvfPart[], threads: number) {
    this.entry = entry;
    this.lists = lists;
    this.halfNorms = centroidHalfNorms(lists);
    this.parts = parts;
    if (threads > 1) {
      const url = new URL(import.meta.url.endsWith('.ts') ? './ivf-worker.ts' : './ivf-worker.js', import.meta.url);
      for (const part of parts) {
        const worker = startWorker(url);
        worker.unref();
        worker.postMessage({ type: 'init', part });
        worker.on('message', (m: { id: number; scores: Float64Array; rows: Float64Array; size: number }) => this.receive(m));
        worker.on('error', (e) => {
          for (const p of this.pending.values()) p.reject(e);
          this.pending.clear();
        });
        this.workers.push(worker);
      }
    }
  }

  /** Open the lists `entry` names over the loaded shards; `threads` > 1 scans them on that many workers. */
  static open(dir: string, entry: IvfEntry, dim: number, shards: readonly ShardVectors[], verify: boolean, threads = 1): IvfSearcher {
    const lists = readIvfLists(dir, entry, dim, verify);
    const n = Math.max(1, Math.floor(threads));
    return new IvfSearcher(entry, lists, ivfParts(lists, shards, n), n);
  }

  get threads(): number {
    return Math.max(1, this.workers.length);
  }

  /** The lists a query probes, nearest first. */
  probe(q: Float32Array, nprobe: number): number[] {
    checkNprobe(nprobe, this.lists.nlist);
    return probeLists(this.lists, q, nprobe, this.halfNorms);
  }

  private receive(m: { id: number; scores: Float64Array; rows: Float64Array; size: number }): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    for (let i = 0; i < m.size; i++) p.top.push(m.scores[i] as number, m.rows[i] as number);
    if (--p.left === 0) {
      this.pending.delete(m.id);
      p.resolve(p.top);
    }
  }

  /** The best `kc` rows by (hamming distance, row) among the probed lists' rows that `skip` allows. */
  async scan(qbits: Uint8Array, lists: readonly number[], kc: number, skip: Uint8Array | undefined): Promise<TopK> {
    if (this.workers.length === 0) {
      const top = new TopK(kc);
      for (const part of this.parts) scanLists(part, qbits, lists, top, skip);
      return top;
    }
    const id = this.nextId++;
    return new Promise<TopK>((resolve, reject) => {
      this.pending.set(id, { left: this.workers.length, top: new TopK(kc), resolve, reject });
      for (const w of this.workers) w.postMessage({ type: 'search', id, qbits, lists, kc, skip });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
