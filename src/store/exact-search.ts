import { SemsearchError } from '../errors.js';
import { FLOAT16_VALUES } from '../tensor/float16.js';
import type { Matrix } from '../tensor/matrix.js';
import type { IndexPrecision } from './manifest.js';
import type { ShardVectors } from './shards.js';
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
function int8Affine(q: Float32Array, ranges: { min: ArrayLike<number>; max: ArrayLike<number> }): { a: Float64Array; c: number } {
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

/** Exact top-k of each query over the shards, by dot product (vectors of cosine models are stored normalised). */
export function exactSearch(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions): ScoredRow[][] {
  const { dim, k, precision } = o;
  const results: ScoredRow[][] = [];
  for (let qi = 0; qi < queries.rows; qi++) {
    const q = queries.row(qi);
    const top = new TopK(k);
    if (precision === 'binary') {
      results.push(binarySearch(q, shards, o, top));
      continue;
    }
    const affine = precision === 'int8' && o.ranges !== undefined ? int8Affine(q, o.ranges) : undefined;
    let base = 0;
    for (const s of shards) {
      const d = s.data;
      for (let r = 0; r < s.rows; r++) {
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
 * Exact scores of given rows (global row numbers) with the arithmetic exactSearch uses, best first: candidates
 * from an HNSW graph come back on the model's similarity scale, as the exact path gives them, whatever the
 * graph's own quantization.
 */
export function scoreRows(q: Float32Array, rows: readonly number[], shards: readonly ShardVectors[], o: Omit<ExactSearchOptions, 'k'>): ScoredRow[] {
  const { dim, precision } = o;
  const starts: number[] = [];
  let total = 0;
  for (const s of shards) {
    starts.push(total);
    total += s.rows;
  }
  const affine = precision === 'int8' && o.ranges !== undefined ? int8Affine(q, o.ranges) : undefined;
  const out: ScoredRow[] = [];
  for (const row of rows) {
    let si = starts.length - 1;
    while (si > 0 && (starts[si] as number) > row) si--;
    const s = shards[si] as ShardVectors;
    const off = (row - (starts[si] as number)) * dim;
    let score = 0;
    if (precision === 'float32') {
      const f = s.data as Float32Array;
      for (let i = 0; i < dim; i++) score += (q[i] as number) * (f[off + i] as number);
      score = Math.fround(score);
    } else if (precision === 'float16') {
      const h = s.data as Uint16Array;
      for (let i = 0; i < dim; i++) score += (q[i] as number) * (FLOAT16_VALUES[h[off + i] as number] as number);
    } else if (precision === 'int8' && affine !== undefined) {
      const c = s.data as Int8Array;
      for (let i = 0; i < dim; i++) score += (affine.a[i] as number) * (c[off + i] as number);
      score += affine.c;
    } else {
      throw new SemsearchError('INVALID_ARGUMENT', `${precision} rows are not scored directly (binary indexes rescore through their int8 rows)`, { field: 'precision' });
    }
    out.push({ row, score });
  }
  // Best first; equal scores by row, as TopK orders them.
  return out.sort((x, y) => y.score - x.score || x.row - y.row);
}

/** Hamming search on sign bits, then the best candidates rescored against their int8 rows. */
function binarySearch(q: Float32Array, shards: readonly ShardVectors[], o: ExactSearchOptions, top: TopK): ScoredRow[] {
  const { dim, k } = o;
  const bytes = Math.ceil(dim / 8);
  const qbits = new Uint8Array(bytes);
  for (let i = 0; i < dim; i++) if ((q[i] as number) > 0) qbits[i >> 3] = (qbits[i >> 3] as number) | (0x80 >> (i & 7));
  const candidates = new TopK(o.rescore === false ? k : k * (o.rescoreMultiplier ?? 4));
  const where: { shard: number; row: number }[] = [];
  // 32 bits at a time with a SWAR popcount when rows are whole words: four times fewer steps than bytes.
  const words = bytes % 4 === 0 ? bytes / 4 : 0;
  const qwords = words > 0 ? new Uint32Array(qbits.buffer, 0, words) : undefined;
  let base = 0;
  shards.forEach((s, si) => {
    const d = s.data as Uint8Array;
    const w = qwords !== undefined && d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, (s.rows * bytes) / 4) : undefined;
    for (let r = 0; r < s.rows; r++) {
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
    where.push({ shard: si, row: base });
    base += s.rows;
  });
  if (o.rescore === false) return candidates.sorted();
  const affine = o.ranges !== undefined ? int8Affine(q, o.ranges) : undefined;
  for (const { row } of candidates.sorted()) {
    let si = where.length - 1;
    while (si > 0 && (where[si] as { row: number }).row > row) si--;
    const shard = shards[si] as ShardVectors;
    const local = row - (where[si] as { row: number }).row;
    const codes = shard.rescore as Int8Array;
    let score = affine?.c ?? 0;
    for (let i = 0; i < dim; i++) score += ((affine?.a[i] ?? (q[i] as number)) as number) * (codes[local * dim + i] as number);
    top.push(score, row);
  }
  return top.sorted();
}
