import type { Matrix } from '../tensor/matrix.js';

/** L2-normalise every row in place, with torch.nn.functional.normalize's eps so a zero row stays zero. */
export function normalizeRows(m: Matrix): Matrix {
  const { rows, dim, data } = m;
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) {
      const v = data[base + i] as number;
      ss += v * v;
    }
    const norm = Math.max(Math.sqrt(ss), 1e-12);
    for (let i = 0; i < dim; i++) data[base + i] = (data[base + i] as number) / norm;
  }
  return m;
}
