import { normalizeRows } from '../encoder/normalize.js';
import { Matrix } from '../tensor/matrix.js';

/**
 * Deterministic unit-length Gaussian rows (an LCG and Box–Muller): real embeddings are roughly isotropic after
 * centring, unlike the tiny test models'.
 */
export function gaussian(rows: number, dim: number, seed: number): Matrix {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const m = new Matrix(rows, dim);
  for (let i = 0; i < m.data.length; i++) m.data[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return normalizeRows(m);
}
