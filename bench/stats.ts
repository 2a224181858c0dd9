/** Summary of repeated timings: throughput median and spread, the numbers every table prints. */
export interface Throughput {
  /** items/s of each repetition, in the order measured. */
  perRep: number[];
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: how far apart the repetitions were. */
  spread: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

export function throughput(items: number, seconds: readonly number[]): Throughput {
  const perRep = seconds.map((s) => items / s);
  const med = median(perRep);
  const min = Math.min(...perRep);
  const max = Math.max(...perRep);
  return { perRep, median: med, min, max, spread: (max - min) / med };
}

/** Row-wise cosine between two row-major float32 matrices of the same shape: min and mean. */
export function rowCosines(a: Float32Array, b: Float32Array, dim: number): { min: number; mean: number } {
  const rows = a.length / dim;
  let min = 1;
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      const x = a[i] as number;
      const y = b[i] as number;
      d += x * y;
      na += x * x;
      nb += y * y;
    }
    const c = na === 0 || nb === 0 ? (na === nb ? 1 : 0) : d / Math.sqrt(na * nb);
    min = Math.min(min, c);
    sum += c;
  }
  return { min, mean: rows === 0 ? 1 : sum / rows };
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

// The shuffled workloads use the library's seeded generator, so they are the same in every run.
export { seededRandom } from '../src/tensor/random.js';
