import { SemsearchError, throwIfCancelled, type CancelSignal } from '../errors.js';
import { FLOAT16_VALUES } from '../tensor/float16.js';
import type { Matrix } from '../tensor/matrix.js';
import type { IndexPrecision } from './manifest.js';
import type { ShardVectors } from './shards.js';
import { scanErrorBound, simdReady, simdRowScores, simdTopK } from './simd/simd-scan.js';
import { TopK } from './top-k.js';

export interface ScoredRow {
  row: number;
  score: number;
}

export interface ExactSearchOptions {
  k: number;
  precision: IndexPrecision;
  dim: number;
  /** int8 and binary: the quantisation ranges, to score against dequantised vectors. */
  ranges?: { min: ArrayLike<number>; max: ArrayLike<number> };
  /** binary: how many hamming candidates per hit to rescore (default 4, the sentence-transformers recipe). */
  rescoreMultiplier?: number;
  /** binary: false ranks by hamming distance alone, score = −distance (default true). */
  rescore?: boolean;
  /**
   * Rows left out of the search (deleted, or refused by a filter): a bitset over the index's rows, bit r set when
   * row r is out. The hits are those of a scan over the other rows alone.
   */
  skip?: Uint8Array;
  /** How many bits `skip` sets (sizes the candidate lists). */
  skipCount?: number;
  /** The index row of the first shard's first row (a worker searches a contiguous share of the shards). */
  rowBase?: number;
  /**
   * Stop early (CANCELLED): read before each query's scan and each shard of the JS scan, each round of the SIMD scan
   * and each query's rescoring. In-thread only: the parallel searcher's workers are not given it.
   */
  signal?: CancelSignal;
}

/** Whether a skip bitset leaves out a row. */
export function skips(skip: Uint8Array | undefined, row: number): boolean {
  return skip !== undefined && ((skip[row >> 3] as number) & (1 << (row & 7))) !== 0;
}

/** A bitset of `rows` rows with the given rows set, over shared memory so search workers read it without a copy. */
export function rowBitset(rows: number, set: Iterable<number>): Uint8Array {
  const bits = new Uint8Array(new SharedArrayBuffer(Math.ceil(rows / 8)));
  for (const r of set) bits[r >> 3] = (bits[r >> 3] as number) | (1 << (r & 7));
  return bits;
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let x = i; x > 0; x >>= 1) n += x & 1;
  return n;
});

/**
 * For int8 rows q·x with x = start + (code + 128.5)·step, the bucket centre, is c + Σ a_i·code_i: precompute
 * a = q⊙step and c once per query and the inner loop is a plain dot product with the stored codes.
 */
export function int8Affine(q: Float32Array, ranges: { min: ArrayLike<number>; max: ArrayLike<number> }): { a: Float64Array; c: number } {
  const a = new Float64Array(q.length);
  let c = 0;
  for (let i = 0; i < q.length; i++) {
    const lo = Math.fround(ranges.min[i] as number);
    let step = Math.fround(Math.fround((ranges.max[i] as number) - lo) / 255);
    if (step === 0) step = 1;
    a[i] = (q[i] as number) * step;
    c += (q[i] as number) * (lo + 128.5 * step);
  }
  return { a, c };
}

/** The global row number of each shard's first row. */
function shardStarts(shards: readonly ShardVectors[]): number[] {
  const starts: number[] = [];
  let total = 0;
  for (const s of shards) {
    starts.push(total);
    total += s.rows;
  }
  return starts;
}

/** The shard holding a global row. */
function shardOf(starts: readonly number[], row: number): number {
  let si = starts.length - 1;
  while (si > 0 && (starts[si] as number) > row) si--;
  return si;
}

/** Exact top-k of each query over the shards, by dot product (vectors of cosine models are stored normalised). */
export function exactSearch(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions): ScoredRow[][] {
  if (o.precision === 'binary') return binaryExactSearch(queries, shards, o);
  const kind = o.precision === 'float32' ? 'f32' : o.precision === 'float16' ? 'f16' : 'i8';
  if (simdReady(shards, kind, o.dim) && (kind !== 'i8' || o.ranges !== undefined)) {
    const found = simdExactSearch(queries, shards, o, kind);
    if (found !== undefined) return found;
  }
  return scanExactSearch(queries, shards, o);
}

/**
 * The SIMD path: the kernels find each query's candidates by float32 scores, the candidates are rescored with the
 * JS arithmetic below, and the result is kept only when the float32 error bound proves that no row outside the
 * candidates can reach the k-th exact score; otherwise that query is scanned again with four times the candidates.
 * The hits, their order and their scores are therefore those of the JS scan, bit for bit.
 */
function simdExactSearch(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions, kind: 'f32' | 'f16' | 'i8'): ScoredRow[][] | undefined {
  const { k, dim } = o;
  const total = shards.reduce((n, s) => n + s.rows, 0);
  const maxNorm = shards.reduce((m, s) => Math.max(m, s.maxNorm ?? 0), 0);
  const vectors: Float32Array[] = [];
  const offsets: number[] = [];
  const bounds: number[] = [];
  for (let qi = 0; qi < queries.rows; qi++) {
    const q = queries.row(qi);
    if (kind === 'i8') {
      const affine = int8Affine(q, o.ranges as NonNullable<ExactSearchOptions['ranges']>);
      let mag = 0;
      for (let i = 0; i < dim; i++) mag += Math.abs(affine.a[i] as number) * 128;
      vectors.push(Float32Array.from(affine.a));
      offsets.push(affine.c);
      bounds.push(scanErrorBound(dim, mag) + Math.abs(affine.c) * 1e-15);
    } else {
      let n2 = 0;
      for (let i = 0; i < dim; i++) n2 += (q[i] as number) * (q[i] as number);
      vectors.push(q);
      offsets.push(0);
      bounds.push(scanErrorBound(dim, Math.sqrt(n2) * maxNorm));
    }
  }
  const results: ScoredRow[][] = new Array<ScoredRow[]>(queries.rows);
  let pending = Array.from({ length: queries.rows }, (_, i) => i);
  const base = o.rowBase ?? 0;
  const skip = o.skip;
  const allowed = Math.max(1, total - (o.skipCount ?? 0));
  // A margin of candidates beyond k: real embeddings rarely put more than a few rows within the bound of the k-th.
  // Skipped rows take candidate places too, in proportion to their share of the rows.
  let kc = Math.min(total, Math.ceil(((k + Math.max(16, k)) * total) / allowed));
  while (pending.length > 0) {
    throwIfCancelled(o.signal, 'search');
    const tops = simdTopK(kind, pending.map((i) => vectors[i] as Float32Array), pending.map((i) => offsets[i] as number), shards, dim, kc);
    if (tops === undefined) return undefined;
    const retry: number[] = [];
    pending.forEach((qi, j) => {
      throwIfCancelled(o.signal, 'search');
      const candidates = (tops[j] as TopK).sorted();
      const rows = candidates.map((c) => c.row).filter((r) => !skips(skip, base + r));
      const exact = scoreRows(queries.row(qi), rows, shards, o);
      const lowest = candidates[candidates.length - 1];
      const kth = exact.length >= k ? exact[k - 1] : undefined;
      // Proven when k allowed rows beat every row outside the candidates by more than the rounding bound.
      if (kc >= total || lowest === undefined || (kth !== undefined && kth.score > lowest.score + (bounds[qi] as number))) results[qi] = exact.slice(0, k);
      else retry.push(qi);
    });
    pending = retry;
    kc = Math.min(total, kc * 4);
  }
  return results;
}

/** The JS scan: the reference arithmetic, and the path for shards the kernels cannot take. */
function scanExactSearch(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions): ScoredRow[][] {
  const { dim, k, precision } = o;
  const results: ScoredRow[][] = [];
  for (let qi = 0; qi < queries.rows; qi++) {
    const q = queries.row(qi);
    const top = new TopK(k);
    const affine = precision === 'int8' && o.ranges !== undefined ? int8Affine(q, o.ranges) : undefined;
    const skip = o.skip;
    const rowBase = o.rowBase ?? 0;
    let base = 0;
    for (const s of shards) {
      throwIfCancelled(o.signal, 'search');
      const d = s.data;
      for (let r = 0; r < s.rows; r++) {
        if (skip !== undefined && skips(skip, rowBase + base + r)) continue;
        const off = r * dim;
        let score = 0;
        if (precision === 'float32') {
          const f = d as Float32Array;
          for (let i = 0; i < dim; i++) score += (q[i] as number) * (f[off + i] as number);
          score = Math.fround(score);
        } else if (precision === 'float16') {
          const h = d as Uint16Array;
          for (let i = 0; i < dim; i++) score += (q[i] as number) * (FLOAT16_VALUES[h[off + i] as number] as number);
        } else {
          const c = d as Int8Array;
          const a = (affine as { a: Float64Array }).a;
          for (let i = 0; i < dim; i++) score += (a[i] as number) * (c[off + i] as number);
          score += (affine as { c: number }).c;
        }
        if (score >= top.threshold) top.push(score, base + r);
      }
      base += s.rows;
    }
    results.push(top.sorted());
  }
  return results;
}

/**
 * The exact score of one float row against a query, in the arithmetic of the exact search: products summed in
 * float64 in dimension order, then rounded to float32 for float32 indexes (float16 indexes keep the float64 sum).
 * A backend that holds the same float values (OpenSearch, from push) rescores with it, so its scores equal these.
 */
export function floatRowScore(q: Float32Array, v: ArrayLike<number>, off: number, dim: number, toFloat32: boolean): number {
  let score = 0;
  for (let i = 0; i < dim; i++) score += (q[i] as number) * (v[off + i] as number);
  return toFloat32 ? Math.fround(score) : score;
}

/**
 * Exact scores of given rows (global row numbers) with the arithmetic exactSearch uses, best first: candidates
 * from an HNSW graph come back on the model's similarity scale, as the exact path gives them, whatever the
 * graph's own quantization.
 */
export function scoreRows(q: Float32Array, rows: readonly number[], shards: readonly ShardVectors[], o: Omit<ExactSearchOptions, 'k'>): ScoredRow[] {
  const scores = rowScores(q, rows, shards, o);
  const out: ScoredRow[] = new Array<ScoredRow>(rows.length);
  for (let j = 0; j < rows.length; j++) out[j] = { row: rows[j] as number, score: scores[j] as number };
  // Best first; equal scores by row, as TopK orders them.
  return out.sort((x, y) => y.score - x.score || x.row - y.row);
}

/**
 * The exact scores of `rows`, in their order. Four rows are summed side by side in one pass over the dimensions:
 * each keeps its own float64 sum in dimension order, so every score is the one a row-at-a-time loop gives, bit for
 * bit, while the four independent additions overlap instead of each waiting on the previous one.
 */
function rowScores(q: Float32Array, rows: readonly number[], shards: readonly ShardVectors[], o: Omit<ExactSearchOptions, 'k'>): Float64Array {
  const { dim, precision } = o;
  const starts = shardStarts(shards);
  const n = rows.length;
  const out = new Float64Array(n);
  const si = new Int32Array(n);
  const off = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const row = rows[j] as number;
    const s = shardOf(starts, row);
    si[j] = s;
    off[j] = (row - (starts[s] as number)) * dim;
  }
  const data = (j: number): ShardVectors['data'] => (shards[si[j] as number] as ShardVectors).data;
  // The kernels first, four rows at a time in float64 lanes (same sums); the JS loops below when they cannot run.
  if (n >= 4 && precision !== 'binary' && (precision !== 'int8' || o.ranges !== undefined)) {
    const kind = precision === 'float32' ? 'f32' : precision === 'float16' ? 'f16' : 'i8';
    const affine = kind === 'i8' ? int8Affine(q, o.ranges as NonNullable<ExactSearchOptions['ranges']>) : undefined;
    const simd = simdRowScores(kind, affine !== undefined ? affine.a : q, si, off, shards, dim);
    if (simd !== undefined) {
      if (kind === 'f32') for (let t = 0; t < n; t++) simd[t] = Math.fround(simd[t] as number);
      else if (affine !== undefined) for (let t = 0; t < n; t++) simd[t] = (simd[t] as number) + affine.c;
      return simd;
    }
  }
  let j = 0;
  if (precision === 'float32') {
    for (; j + 4 <= n; j += 4) {
      const v0 = data(j) as Float32Array;
      const v1 = data(j + 1) as Float32Array;
      const v2 = data(j + 2) as Float32Array;
      const v3 = data(j + 3) as Float32Array;
      const o0 = off[j] as number;
      const o1 = off[j + 1] as number;
      const o2 = off[j + 2] as number;
      const o3 = off[j + 3] as number;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < dim; i++) {
        const x = q[i] as number;
        s0 += x * (v0[o0 + i] as number);
        s1 += x * (v1[o1 + i] as number);
        s2 += x * (v2[o2 + i] as number);
        s3 += x * (v3[o3 + i] as number);
      }
      out[j] = Math.fround(s0);
      out[j + 1] = Math.fround(s1);
      out[j + 2] = Math.fround(s2);
      out[j + 3] = Math.fround(s3);
    }
    for (; j < n; j++) out[j] = floatRowScore(q, data(j) as Float32Array, off[j] as number, dim, true);
  } else if (precision === 'float16') {
    const f = FLOAT16_VALUES;
    for (; j + 4 <= n; j += 4) {
      const h0 = data(j) as Uint16Array;
      const h1 = data(j + 1) as Uint16Array;
      const h2 = data(j + 2) as Uint16Array;
      const h3 = data(j + 3) as Uint16Array;
      const o0 = off[j] as number;
      const o1 = off[j + 1] as number;
      const o2 = off[j + 2] as number;
      const o3 = off[j + 3] as number;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < dim; i++) {
        const x = q[i] as number;
        s0 += x * (f[h0[o0 + i] as number] as number);
        s1 += x * (f[h1[o1 + i] as number] as number);
        s2 += x * (f[h2[o2 + i] as number] as number);
        s3 += x * (f[h3[o3 + i] as number] as number);
      }
      out[j] = s0;
      out[j + 1] = s1;
      out[j + 2] = s2;
      out[j + 3] = s3;
    }
    for (; j < n; j++) {
      const h = data(j) as Uint16Array;
      const o0 = off[j] as number;
      let s = 0;
      for (let i = 0; i < dim; i++) s += (q[i] as number) * (f[h[o0 + i] as number] as number);
      out[j] = s;
    }
  } else if (precision === 'int8' && o.ranges !== undefined) {
    const { a, c } = int8Affine(q, o.ranges);
    for (; j + 4 <= n; j += 4) {
      const c0 = data(j) as Int8Array;
      const c1 = data(j + 1) as Int8Array;
      const c2 = data(j + 2) as Int8Array;
      const c3 = data(j + 3) as Int8Array;
      const o0 = off[j] as number;
      const o1 = off[j + 1] as number;
      const o2 = off[j + 2] as number;
      const o3 = off[j + 3] as number;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < dim; i++) {
        const x = a[i] as number;
        s0 += x * (c0[o0 + i] as number);
        s1 += x * (c1[o1 + i] as number);
        s2 += x * (c2[o2 + i] as number);
        s3 += x * (c3[o3 + i] as number);
      }
      out[j] = s0 + c;
      out[j + 1] = s1 + c;
      out[j + 2] = s2 + c;
      out[j + 3] = s3 + c;
    }
    for (; j < n; j++) {
      const cj = data(j) as Int8Array;
      const o0 = off[j] as number;
      let s = 0;
      for (let i = 0; i < dim; i++) s += (a[i] as number) * (cj[o0 + i] as number);
      out[j] = s + c;
    }
  } else if (n > 0) {
    throw new SemsearchError('INVALID_ARGUMENT', `${precision} rows are not scored directly (binary indexes rescore through their int8 rows)`, { field: 'precision' });
  }
  return out;
}

/** A query's sign bits, packed as binary rows are (bit set where the component is positive). */
export function signBits(q: Float32Array, dim: number): Uint8Array {
  const qbits = new Uint8Array(Math.ceil(dim / 8));
  for (let i = 0; i < dim; i++) if ((q[i] as number) > 0) qbits[i >> 3] = (qbits[i >> 3] as number) | (0x80 >> (i & 7));
  return qbits;
}

/** Hamming search on sign bits (SIMD where the shards allow: distances are integers, so both scans agree), then rescoring. */
function binaryExactSearch(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions): ScoredRow[][] {
  const kc = o.rescore === false ? o.k : o.k * (o.rescoreMultiplier ?? 4);
  const bits = Array.from({ length: queries.rows }, (_, qi) => signBits(queries.row(qi), o.dim));
  const skipCount = o.skip === undefined ? 0 : (o.skipCount ?? Infinity);
  // With rows to skip, the kernels take kc + skipped candidates: at least kc of them are allowed, and they are the
  // best kc allowed ones. Past a bound on skipped rows the JS scan, which skips as it goes, is cheaper.
  const simd = skipCount <= MAX_SIMD_SKIPS && simdReady(shards, 'b1', o.dim);
  const tops = simd ? simdTopK('b1', bits, undefined, shards, o.dim, kc + skipCount) : undefined;
  return bits.map((qbits, qi) => {
    throwIfCancelled(o.signal, 'search');
    let candidates = tops?.[qi];
    if (candidates !== undefined && o.skip !== undefined) {
      const kept = new TopK(kc);
      for (const c of candidates.sorted()) if (!skips(o.skip, (o.rowBase ?? 0) + c.row)) kept.push(c.score, c.row);
      candidates = kept;
    }
    return rescoreBinary(queries.row(qi), candidates ?? hammingCandidates(qbits, shards, o, kc), shards, o);
  });
}

const MAX_SIMD_SKIPS = 65_536;

function hammingCandidates(qbits: Uint8Array, shards: readonly ShardVectors[], o: ExactSearchOptions, kc: number): TopK {
  const bytes = Math.ceil(o.dim / 8);
  const candidates = new TopK(kc);
  // 32 bits at a time with a SWAR popcount when rows are whole words: four times fewer steps than bytes.
  const words = bytes % 4 === 0 ? bytes / 4 : 0;
  const qwords = words > 0 ? new Uint32Array(qbits.buffer, 0, words) : undefined;
  const skip = o.skip;
  const rowBase = o.rowBase ?? 0;
  let base = 0;
  for (const s of shards) {
    const d = s.data as Uint8Array;
    const w = qwords !== undefined && d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, (s.rows * bytes) / 4) : undefined;
    for (let r = 0; r < s.rows; r++) {
      if (skip !== undefined && skips(skip, rowBase + base + r)) continue;
      let dist = 0;
      if (w !== undefined && qwords !== undefined) {
        const off = r * words;
        for (let b = 0; b < words; b++) {
          let x = ((w[off + b] as number) ^ (qwords[b] as number)) >>> 0;
          x -= (x >>> 1) & 0x55555555;
          x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
          dist += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
        }
      } else {
        const off = r * bytes;
        for (let b = 0; b < bytes; b++) dist += POPCOUNT[((d[off + b] as number) ^ (qbits[b] as number)) & 0xff] as number;
      }
      if (-dist >= candidates.threshold) candidates.push(-dist, base + r);
    }
    base += s.rows;
  }
  return candidates;
}

/** The best hamming candidates rescored against their int8 rows (or, with rescore false, ranked by −distance). */
export function rescoreBinary(q: Float32Array, candidates: TopK, shards: readonly ShardVectors[], o: ExactSearchOptions): ScoredRow[] {
  const { dim, k } = o;
  if (o.rescore === false) return candidates.sorted();
  const starts = shardStarts(shards);
  const top = new TopK(k);
  const affine = o.ranges !== undefined ? int8Affine(q, o.ranges) : undefined;
  for (const { row } of candidates.sorted()) {
    const si = shardOf(starts, row);
    const local = row - (starts[si] as number);
    const codes = (shards[si] as ShardVectors).rescore as Int8Array;
    // The int8 scan's arithmetic, constant last: a rescored row scores exactly as an int8 index scores it.
    let score = 0;
    for (let i = 0; i < dim; i++) score += ((affine?.a[i] ?? (q[i] as number)) as number) * (codes[local * dim + i] as number);
    if (affine !== undefined) score += affine.c;
    top.push(score, row);
  }
  return top.sorted();
}
