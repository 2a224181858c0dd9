import { TopK } from '../top-k.js';
import { kernelsFor, OUT_CAPACITY, SCRATCH, SCRATCH_BYTES, tryLock, unlock, type VectorMemory } from './vector-memory.js';

/** What a SIMD scan needs of a shard: its row count and the shared memory its rows sit in (after the scratch area). */
export interface SimdShard {
  rows: number;
  memory?: VectorMemory;
  /** float shards: the largest row norm, for the float32 rounding bound (set when the shard is loaded). */
  maxNorm?: number;
}

export type ScanKind = 'f32' | 'f16' | 'i8' | 'b1';

/** Longest scan per kernel call, in rows. */
const MAX_BLOCK_ROWS = 8192;

/** Unit roundoff of float32. */
const U32 = 2 ** -24;

/**
 * Whether every shard can be scanned by the kernels: all in kernel memory, rows a whole number of 16-lane blocks
 * (every model here has 384 or 768 dimensions), and float rows with a known, finite norm bound.
 */
export function simdReady(shards: readonly SimdShard[], kind: ScanKind, dim: number): boolean {
  if (shards.length === 0) return false;
  if (kind === 'b1') {
    const bytes = Math.ceil(dim / 8);
    if (bytes % 16 !== 0 || bytes > 496) return false;
  } else if (dim % 16 !== 0) return false;
  return shards.every((s) => s.memory !== undefined && (kind === 'i8' || kind === 'b1' || (s.maxNorm !== undefined && Number.isFinite(s.maxNorm))));
}

/**
 * The largest |kernel score − exact score| for one query. In the slowest-summing kernel (one query, four rows per
 * step) each of a row's 4 float32 lanes adds dim/4 products, then two more additions join the lanes; every product
 * and sum rounds by at most one unit roundoff of the running magnitude, which Σ|q_i·x_i| bounds (Cauchy–Schwarz:
 * ≤ ‖q‖·‖x‖). The other kernels add fewer terms per lane. Extra units cover the float32 rounding of the exact score
 * itself, of the weights handed to the kernel, and of the stored norm bound.
 */
export function scanErrorBound(dim: number, magnitude: number): number {
  return (dim / 4 + 8) * U32 * magnitude * 1.001;
}

const KERNEL: Record<Exclude<ScanKind, 'b1'>, 'scan_f32' | 'scan_f16' | 'scan_i8'> = { f32: 'scan_f32', f16: 'scan_f16', i8: 'scan_i8' };
const KERNEL_X4: Record<'f16' | 'i8', 'scan_f16_x4' | 'scan_i8_x4'> = { f16: 'scan_f16_x4', i8: 'scan_i8_x4' };

/**
 * Approximate top-`kc` of each query over the shards, by the kernels' float32 scores (b1: exact hamming distance,
 * as score = −distance). `vectors` holds one prepared row per query: float32 queries, the int8 weights q ⊙ step,
 * or packed sign bits for b1. `offsets` are added to kernel scores (the int8 affine constant). Rows are numbered
 * across the shards. Returns undefined when a shard's scratch area is busy (another thread scans it): the caller
 * then uses the JS scan.
 */
export function simdTopK(
  kind: ScanKind,
  vectors: readonly (Float32Array | Uint8Array)[],
  offsets: readonly number[] | undefined,
  shards: readonly SimdShard[],
  dim: number,
  kc: number,
): TopK[] | undefined {
  const nq = vectors.length;
  const tops = vectors.map(() => new TopK(kc));
  const rowBytes = kind === 'f32' ? dim * 4 : kind === 'f16' ? dim * 2 : kind === 'i8' ? dim : Math.ceil(dim / 8);
  const qBytes = kind === 'b1' ? rowBytes : dim * 4;
  const perChunk = Math.max(1, Math.min(SCRATCH.maxQueries, Math.floor(SCRATCH.queryBytes / qBytes)));
  let base = 0;
  for (const shard of shards) {
    const memory = shard.memory as VectorMemory;
    const k = kernelsFor(memory);
    if (k === undefined || !tryLock(memory)) return undefined;
    try {
      const buf = memory.buffer;
      const u8 = new Uint8Array(buf);
      const thrF = new Float32Array(buf, SCRATCH.thresholds, SCRATCH.maxQueries);
      const thrI = new Int32Array(buf, SCRATCH.thresholds, SCRATCH.maxQueries);
      const outI = new Int32Array(buf, SCRATCH.out, OUT_CAPACITY * 3);
      const outF = new Float32Array(buf, SCRATCH.out, OUT_CAPACITY * 3);
      for (let q0 = 0; q0 < nq; q0 += perChunk) {
        const n = Math.min(perChunk, nq - q0);
        for (let j = 0; j < n; j++) {
          const v = vectors[q0 + j] as Float32Array | Uint8Array;
          u8.set(new Uint8Array(v.buffer, v.byteOffset, qBytes), SCRATCH.queries + j * qBytes);
        }
        // Until the thresholds settle every row passes them: start with short blocks so few rows reach the JS
        // heap, then grow to what the output area holds for this many queries.
        // Calls stay short even then: V8 first runs wasm in its baseline tier and swaps in optimised code only at
        // the next call (no on-stack replacement), so one call over a whole shard would run unoptimised throughout.
        const most = Math.max(1, Math.min(MAX_BLOCK_ROWS, Math.floor(OUT_CAPACITY / n)));
        let block = Math.min(most, Math.max(1, Math.ceil(512 / n)));
        for (let start = 0; start < shard.rows; start += block, block = Math.min(most, block * 4)) {
          const rows = Math.min(block, shard.rows - start);
          for (let j = 0; j < n; j++) {
            const t = (tops[q0 + j] as TopK).threshold;
            // Rows arrive in ascending order, so one at exactly the k-th distance loses the tie: only shorter pass.
            if (kind === 'b1') thrI[j] = t === Number.NEGATIVE_INFINITY ? rowBytes * 8 : -t - 1;
            else {
              // Conservative: the kernel keeps a row whenever its score could reach the current k-th.
              const raw = t - (offsets?.[q0 + j] ?? 0);
              thrF[j] = t === Number.NEGATIVE_INFINITY ? t : raw - Math.abs(raw) * 1e-6 - 1e-30;
            }
          }
          const x = SCRATCH_BYTES + start * rowBytes;
          let found: number;
          if (n === 1 && kind !== 'f32') {
            // One query: four rows per step keep more cache lines in flight (float32 rows already stream at memory
            // speed one at a time, and measured slower four at a time).
            const four = rows - (rows % 4);
            const head =
              kind === 'b1'
                ? k.scan_b1_x4(SCRATCH.queries, x, four, rowBytes, thrI[0] as number, SCRATCH.out)
                : k[KERNEL_X4[kind]](SCRATCH.queries, x, four, dim, thrF[0] as number, SCRATCH.out);
            found = head;
            if (four < rows) {
              const tail = x + four * rowBytes;
              const at = SCRATCH.out + head * 12;
              found +=
                kind === 'b1'
                  ? k.scan_b1(SCRATCH.queries, 1, tail, rows - four, rowBytes, SCRATCH.thresholds, at)
                  : k[KERNEL[kind]](SCRATCH.queries, 1, tail, rows - four, dim, SCRATCH.thresholds, at);
              // The tail's kernel numbers its rows from its own start.
              for (let t = head; t < found; t++) outI[3 * t + 1] = (outI[3 * t + 1] as number) + four;
            }
          } else {
            found =
              kind === 'b1'
                ? k.scan_b1(SCRATCH.queries, n, x, rows, rowBytes, SCRATCH.thresholds, SCRATCH.out)
                : k[KERNEL[kind]](SCRATCH.queries, n, x, rows, dim, SCRATCH.thresholds, SCRATCH.out);
          }
          for (let t = 0; t < found; t++) {
            const qi = q0 + (outI[3 * t] as number);
            const row = base + start + (outI[3 * t + 1] as number);
            const score = kind === 'b1' ? -(outI[3 * t + 2] as number) : (outF[3 * t + 2] as number) + (offsets?.[qi] ?? 0);
            (tops[qi] as TopK).push(score, row);
          }
        }
      }
    } finally {
      unlock(memory);
    }
    base += shard.rows;
  }
  return tops;
}

/** Largest row norm of a float shard in kernel memory (undefined where the kernels cannot run or a value is not finite). */
export function shardMaxNorm(memory: VectorMemory, rows: number, dim: number, half: boolean): number | undefined {
  const k = kernelsFor(memory);
  if (k === undefined || dim % 16 !== 0 || rows === 0) return undefined;
  const n2 = k.max_norm2(SCRATCH_BYTES, rows, dim, half ? 1 : 0);
  // A half with exponent 31 (inf/NaN) decodes to ≥ 2^16 in the kernel: such shards are scanned in JS.
  if (!Number.isFinite(n2) || (half && n2 >= 65504 * 65504)) return undefined;
  // The kernel's own float32 sum may fall short of the true norm by a few units of roundoff.
  return Math.sqrt(n2) * (1 + 1e-4);
}

const RESCORE: Record<Exclude<ScanKind, 'b1'>, 'rescore_f32' | 'rescore_f16' | 'rescore_i8'> = { f32: 'rescore_f32', f16: 'rescore_f16', i8: 'rescore_i8' };
/** Rows per rescoring call: their addresses (4 bytes) and scores (8 bytes) fit the output area. */
const RESCORE_ROWS = Math.floor((SCRATCH_BYTES - SCRATCH.out) / 12 / 4) * 4;

/**
 * The float64 dot products of `weights` with given rows, row j being element `offsets[j]` of shard `shardOf[j]`,
 * summed in dimension order as JavaScript's row-at-a-time loop sums them (the kernel adds each row's products in that
 * order in its own float64 lane): the same numbers, bit for bit, several rows at a time. Undefined when a shard is
 * not in kernel memory, dim is not a multiple of 4, or a scratch area is busy: the caller then scores in JS.
 */
export function simdRowScores(
  kind: Exclude<ScanKind, 'b1'>,
  weights: ArrayLike<number>,
  shardOf: Int32Array,
  offsets: Int32Array,
  shards: readonly SimdShard[],
  dim: number,
): Float64Array | undefined {
  const n = shardOf.length;
  if (dim % 4 !== 0 || dim * 16 > SCRATCH.queryBytes) return undefined;
  const elem = kind === 'f32' ? 4 : kind === 'f16' ? 2 : 1;
  const out = new Float64Array(n);
  const pending = new Uint8Array(shards.length);
  for (let j = 0; j < n; j++) pending[shardOf[j] as number] = 1;
  for (let si = 0; si < shards.length; si++) {
    if (pending[si] === 0) continue;
    const memory = (shards[si] as SimdShard).memory;
    const k = memory !== undefined ? kernelsFor(memory) : undefined;
    if (memory === undefined || k === undefined || !tryLock(memory)) return undefined;
    try {
      const buf = memory.buffer;
      const w = new Float64Array(buf, SCRATCH.queries, 2 * dim);
      for (let i = 0; i < dim; i++) w[2 * i] = w[2 * i + 1] = weights[i] as number;
      const addr = new Int32Array(buf, SCRATCH.out, RESCORE_ROWS);
      const scores = new Float64Array(buf, SCRATCH.out + 4 * RESCORE_ROWS, RESCORE_ROWS);
      const which: number[] = [];
      for (let j = 0; j < n; j++) if (shardOf[j] === si) which.push(j);
      for (let c0 = 0; c0 < which.length; c0 += RESCORE_ROWS) {
        const m = Math.min(RESCORE_ROWS, which.length - c0);
        for (let t = 0; t < m; t++) addr[t] = SCRATCH_BYTES + (offsets[which[c0 + t] as number] as number) * elem;
        // Whole groups of four: the padding repeats the last row, and its scores are not read.
        const padded = Math.ceil(m / 4) * 4;
        for (let t = m; t < padded; t++) addr[t] = addr[m - 1] as number;
        k[RESCORE[kind]](SCRATCH.queries, SCRATCH.out, padded, dim, SCRATCH.out + 4 * RESCORE_ROWS);
        for (let t = 0; t < m; t++) out[which[c0 + t] as number] = scores[t] as number;
      }
    } finally {
      unlock(memory);
    }
  }
  return out;
}
