// Batch exact search through ONNX Runtime's sgemm: many queries per pass over the rows, at BLAS speed.
//
// The runtime's float32 sums run in its own order, so its scores only pick candidates. Each differs from the exact
// score (exact-search.ts's arithmetic) by at most `bound`: any order of summing d float32 products errs by at most
// γ_d·Σ|q_i·x_i| (γ_d = d·u/(1 − d·u), u = 2^-24), and Σ|q_i·x_i| ≤ ‖q‖·‖x‖; the exact score's own rounding adds a
// unit or two. With g_k the k-th best runtime score among allowed rows, a row whose runtime score is below
// T = g_k − 2·bound scores exactly below g_k − bound, and k rows score exactly at least that: no such row can be a
// hit. So the hits are the exact top k of the rows at or above T, rescored with scoreRows — provided every row at or
// above T was returned, which holds when each block's top list was cut below T. A query for which a block was cut
// at or above T runs again with longer lists, up to whole blocks. Hits, scores and tie order are therefore those of
// exactSearch, bit for bit.
import { availableParallelism } from 'node:os';
import { SemsearchError, throwIfCancelled } from '../errors.js';
import { ScoreTopKSession } from '../model/score-topk-session.js';
import { FLOAT16_VALUES } from '../tensor/float16.js';
import type { Matrix } from '../tensor/matrix.js';
import { int8Affine, scoreRows, skips, type ExactSearchOptions, type ScoredRow } from './exact-search.js';
import type { IndexPrecision } from './manifest.js';
import type { ShardVectors } from './shards.js';

/**
 * Precisions the GEMM path answers exactly. Binary indexes rank by hamming distance and rescore only the best
 * hamming candidates: that is not a dot product over the stored rows, so they keep their own scan.
 */
export const GEMM_PRECISIONS: readonly IndexPrecision[] = ['float32', 'float16', 'int8'];

/** Rows per Gemm call: the block copied out of kernel memory, and the width of the score table (batch × rows). */
const BLOCK_ROWS = 16384;
/** Queries per Gemm call. */
const QUERY_CHUNK = 256;
const U32 = 2 ** -24;

/** Largest row norm of a float shard, computed once per shard object (kernel-loaded shards carry it already). */
const norms = new WeakMap<ShardVectors, number>();

function maxRowNorm(s: ShardVectors, dim: number, half: boolean): number {
  if (s.maxNorm !== undefined) return s.maxNorm;
  let m = norms.get(s);
  if (m === undefined) {
    let most = 0;
    for (let r = 0; r < s.rows; r++) {
      let n2 = 0;
      for (let i = r * dim; i < (r + 1) * dim; i++) {
        const v = half ? (FLOAT16_VALUES[s.data[i] as number] as number) : (s.data[i] as number);
        n2 += v * v;
      }
      if (!(n2 <= most)) most = n2;
    }
    m = Math.sqrt(most) * (1 + 1e-12);
    norms.set(s, m);
  }
  return m;
}

/** Rows [start, start + rows) of a shard as float32 values in `out` (ONNX Runtime takes plain memory only). */
function copyBlock(s: ShardVectors, precision: IndexPrecision, dim: number, start: number, rows: number, out: Float32Array): void {
  const from = start * dim;
  const n = rows * dim;
  if (precision === 'float32') out.set((s.data as Float32Array).subarray(from, from + n));
  else if (precision === 'float16') {
    const h = s.data as Uint16Array;
    for (let i = 0; i < n; i++) out[i] = FLOAT16_VALUES[h[from + i] as number] as number;
  } else {
    const c = s.data as Int8Array;
    for (let i = 0; i < n; i++) out[i] = c[from + i] as number;
  }
}

export interface GemmSearcherOptions {
  /** BLAS threads (default: one per core). */
  threads?: number;
  /** Rows per Gemm call (default 16384); tests make it small so lists are cut and proofs retried. */
  blockRows?: number;
  /** Queries per Gemm call (default 256). */
  queryChunk?: number;
}

/**
 * Exact top-k of many queries (the same hits, scores and order as exactSearch) through a Gemm + TopK session.
 * Holds one ONNX Runtime session; calls may overlap (each has its own buffers).
 */
export class GemmSearcher {
  readonly dim: number;
  private readonly session: ScoreTopKSession;
  private readonly blockRows: number;
  private readonly queryChunk: number;
  /** Since creation: passes over the rows (a retried query adds one) and candidate rows rescored exactly. */
  readonly stats = { passes: 0, rescored: 0 };

  private constructor(session: ScoreTopKSession, o: GemmSearcherOptions) {
    this.session = session;
    this.dim = session.dim;
    this.blockRows = o.blockRows ?? BLOCK_ROWS;
    this.queryChunk = o.queryChunk ?? QUERY_CHUNK;
  }

  /** A session for `dim`-dimensional rows. */
  static async create(dim: number, o: GemmSearcherOptions = {}): Promise<GemmSearcher> {
    for (const [name, v] of [['blockRows', o.blockRows], ['queryChunk', o.queryChunk]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new SemsearchError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`, { field: name });
    }
    return new GemmSearcher(await ScoreTopKSession.create(dim, o.threads ?? availableParallelism()), o);
  }

  async close(): Promise<void> {
    await this.session.dispose();
  }

  /**
   * exactSearch's answer for these queries, or undefined where this path cannot give it (binary precision, an int8
   * index without ranges, a row or query that is not finite): the caller then runs exactSearch.
   */
  async search(queries: Matrix, shards: readonly ShardVectors[], o: ExactSearchOptions): Promise<ScoredRow[][] | undefined> {
    const { k, dim, precision } = o;
    if (!GEMM_PRECISIONS.includes(precision) || dim !== this.dim || queries.dim !== dim) return undefined;
    if (precision === 'int8' && o.ranges === undefined) return undefined;
    const total = shards.reduce((n, s) => n + s.rows, 0);
    if (total === 0 || queries.rows === 0) return queries.rows === 0 ? [] : undefined;
    const maxNorm = precision === 'int8' ? 0 : shards.reduce((m, s) => Math.max(m, maxRowNorm(s, dim, precision === 'float16')), 0);
    if (!Number.isFinite(maxNorm)) return undefined;

    // What each query hands the Gemm (int8: the weights q ⊙ step, whose constant is added after), and its bound.
    const nq = queries.rows;
    const vectors = new Float32Array(nq * dim);
    const offsets = new Float64Array(nq);
    const bounds = new Float64Array(nq);
    for (let qi = 0; qi < nq; qi++) {
      const q = queries.row(qi);
      if (precision === 'int8') {
        const affine = int8Affine(q, o.ranges as NonNullable<ExactSearchOptions['ranges']>);
        let mag = 0;
        for (let i = 0; i < dim; i++) {
          vectors[qi * dim + i] = affine.a[i] as number;
          mag += Math.abs(affine.a[i] as number) * 128;
        }
        offsets[qi] = affine.c;
        // One more unit than a float row: the weights round to float32 on their way in.
        bounds[qi] = (dim + 9) * U32 * mag * 1.01 + Math.abs(affine.c) * 1e-15 + 1e-30 * dim;
      } else {
        let n2 = 0;
        for (let i = 0; i < dim; i++) n2 += (q[i] as number) * (q[i] as number);
        vectors.set(q, qi * dim);
        bounds[qi] = (dim + 8) * U32 * Math.sqrt(n2) * maxNorm * 1.01 + 1e-30 * dim;
      }
      if (!Number.isFinite(bounds[qi] as number) || !Number.isFinite(offsets[qi] as number)) return undefined;
    }

    const allowed = Math.max(1, total - (o.skipCount ?? 0));
    const results: ScoredRow[][] = new Array<ScoredRow[]>(nq);
    let pending = Array.from({ length: nq }, (_, i) => i);
    // A margin beyond k per block, as the SIMD scan takes; skipped rows take list places in proportion to their share.
    let listLen = Math.ceil(((k + Math.max(16, k)) * total) / allowed);
    while (pending.length > 0) {
      const found = await this.candidates(vectors, offsets, pending, shards, o, listLen);
      this.stats.passes++;
      const retry: number[] = [];
      pending.forEach((qi, j) => {
        throwIfCancelled(o.signal, 'search');
        const rows = proven(found[j] as Candidates, bounds[qi] as number, k);
        if (rows === undefined) retry.push(qi);
        else {
          this.stats.rescored += rows.length;
          results[qi] = scoreRows(queries.row(qi), rows, shards, o).slice(0, k);
        }
      });
      pending = retry;
      listLen *= 4;
    }
    return results;
  }

  /** Each pending query's allowed candidates from every block's top `listLen`, and the best score a cut left out. */
  private async candidates(vectors: Float32Array, offsets: Float64Array, pending: readonly number[], shards: readonly ShardVectors[], o: ExactSearchOptions, listLen: number): Promise<Candidates[]> {
    const { dim, precision } = o;
    const out: Candidates[] = pending.map(() => ({ scores: [], rows: [], cutBest: Number.NEGATIVE_INFINITY }));
    const chunk = Math.min(this.queryChunk, pending.length);
    const qbuf = new Float32Array(chunk * dim);
    const blockRows = this.blockRows;
    const largest = Math.min(blockRows, shards.reduce((m, s) => Math.max(m, s.rows), 0));
    const block = new Float32Array(largest * dim);
    const base = o.rowBase ?? 0;
    let first = 0;
    for (const s of shards) {
      for (let start = 0; start < s.rows; start += blockRows) {
        throwIfCancelled(o.signal, 'search');
        const rows = Math.min(blockRows, s.rows - start);
        copyBlock(s, precision, dim, start, rows, block);
        const kb = Math.min(rows, listLen);
        const cut = kb < rows;
        for (let c0 = 0; c0 < pending.length; c0 += chunk) {
          const n = Math.min(chunk, pending.length - c0);
          for (let j = 0; j < n; j++) qbuf.set(vectors.subarray((pending[c0 + j] as number) * dim, ((pending[c0 + j] as number) + 1) * dim), j * dim);
          const top = await this.session.run(qbuf, n, block, rows, kb);
          for (let j = 0; j < n; j++) {
            const c = out[c0 + j] as Candidates;
            const offset = offsets[pending[c0 + j] as number] as number;
            let low = Number.POSITIVE_INFINITY;
            for (let t = j * kb; t < (j + 1) * kb; t++) {
              const score = (top.scores[t] as number) + offset;
              if (score < low) low = score;
              const row = first + start + Number(top.indices[t]);
              if (o.skip !== undefined && skips(o.skip, base + row)) continue;
              c.scores.push(score);
              c.rows.push(row);
            }
            if (cut && low > c.cutBest) c.cutBest = low;
          }
        }
      }
      first += s.rows;
    }
    return out;
  }
}

interface Candidates {
  /** Runtime scores (plus the int8 constant) of the allowed rows the blocks returned. */
  scores: number[];
  rows: number[];
  /** The highest score a row left out of some block's list can have (−∞ when no list was cut). */
  cutBest: number;
}

/** The candidate rows that provably hold the hits (see the top of this file), or undefined when a cut may hide one. */
function proven(c: Candidates, bound: number, k: number): number[] | undefined {
  let threshold = Number.NEGATIVE_INFINITY;
  if (c.scores.length >= k) {
    const sorted = Float64Array.from(c.scores).sort();
    threshold = (sorted[sorted.length - k] as number) - 2 * bound;
  }
  // Fewer allowed candidates than k can only be all of them when no list was cut.
  if (!(c.cutBest < threshold) && !(c.scores.length < k && c.cutBest === Number.NEGATIVE_INFINITY)) return undefined;
  const rows: number[] = [];
  for (let i = 0; i < c.rows.length; i++) if ((c.scores[i] as number) >= threshold) rows.push(c.rows[i] as number);
  return rows;
}
