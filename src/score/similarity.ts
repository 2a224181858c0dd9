import { SemsearchError } from '../errors.js';
import { Matrix, toMatrix, type MatrixLike } from '../tensor/matrix.js';

/** A pairwise score table: result[i][j] scores a's row i against b's row j. */
export type ScoreFunction = (a: MatrixLike, b: MatrixLike) => Matrix;

function shapes(a: MatrixLike, b: MatrixLike): [Matrix, Matrix] {
  const ma = toMatrix(a, 'a');
  const mb = toMatrix(b, 'b');
  if (ma.dim !== mb.dim) {
    throw new SemsearchError('SHAPE_MISMATCH', `vectors have different dimensions: ${ma.dim} and ${mb.dim}`, { field: 'b' });
  }
  return [ma, mb];
}

function rowNorms(m: Matrix): Float64Array {
  const norms = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let ss = 0;
    const base = r * m.dim;
    for (let i = 0; i < m.dim; i++) {
      const v = m.data[base + i] as number;
      ss += v * v;
    }
    norms[r] = Math.sqrt(ss);
  }
  return norms;
}

/** a · bᵀ, blocked so one row of a meets a cache-sized strip of b. */
export function dotScore(a: MatrixLike, b: MatrixLike): Matrix {
  const [ma, mb] = shapes(a, b);
  const out = new Matrix(ma.rows, mb.rows);
  const d = ma.dim;
  const A = ma.data;
  const B = mb.data;
  const O = out.data;
  for (let i = 0; i < ma.rows; i++) {
    const ab = i * d;
    for (let j = 0; j < mb.rows; j++) {
      const bb = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += (A[ab + k] as number) * (B[bb + k] as number);
      O[i * mb.rows + j] = s;
    }
  }
  return out;
}

/** Cosine similarity; rows are normalised with eps 1e-12 first, as sentence-transformers' cos_sim does. */
export function cosSim(a: MatrixLike, b: MatrixLike): Matrix {
  const [ma, mb] = shapes(a, b);
  const out = dotScore(ma, mb);
  const na = rowNorms(ma);
  const nb = rowNorms(mb);
  for (let i = 0; i < ma.rows; i++) {
    const x = Math.max(na[i] as number, 1e-12);
    for (let j = 0; j < mb.rows; j++) {
      const idx = i * mb.rows + j;
      out.data[idx] = (out.data[idx] as number) / (x * Math.max(nb[j] as number, 1e-12));
    }
  }
  return out;
}

/** Negative Euclidean distance (higher is more similar), as sentence-transformers' euclidean_sim. */
export function euclideanSim(a: MatrixLike, b: MatrixLike): Matrix {
  const [ma, mb] = shapes(a, b);
  const out = new Matrix(ma.rows, mb.rows);
  for (let i = 0; i < ma.rows; i++) {
    for (let j = 0; j < mb.rows; j++) {
      let s = 0;
      for (let k = 0; k < ma.dim; k++) {
        const diff = (ma.data[i * ma.dim + k] as number) - (mb.data[j * mb.dim + k] as number);
        s += diff * diff;
      }
      out.data[i * mb.rows + j] = -Math.sqrt(s);
    }
  }
  return out;
}

/** Negative Manhattan (L1) distance, as sentence-transformers' manhattan_sim. */
export function manhattanSim(a: MatrixLike, b: MatrixLike): Matrix {
  const [ma, mb] = shapes(a, b);
  const out = new Matrix(ma.rows, mb.rows);
  for (let i = 0; i < ma.rows; i++) {
    for (let j = 0; j < mb.rows; j++) {
      let s = 0;
      for (let k = 0; k < ma.dim; k++) s += Math.abs((ma.data[i * ma.dim + k] as number) - (mb.data[j * mb.dim + k] as number));
      out.data[i * mb.rows + j] = -s;
    }
  }
  return out;
}

export const SIMILARITY_FUNCTIONS = {
  cosine: cosSim,
  dot: dotScore,
  euclidean: euclideanSim,
  manhattan: manhattanSim,
} as const satisfies Record<string, ScoreFunction>;
