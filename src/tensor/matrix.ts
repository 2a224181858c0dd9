import { SemsearchError } from '../errors.js';

/**
 * A dense row-major float32 matrix: the shape every embedding batch and score table takes.
 * Rows are views (subarray), never copies, so hot loops allocate nothing per row.
 */
export class Matrix {
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;

  constructor(rows: number, dim: number, data?: Float32Array) {
    if (!Number.isInteger(rows) || rows < 0) {
      throw new SemsearchError('INVALID_ARGUMENT', `Matrix rows must be a non-negative integer, got ${rows}`, { field: 'rows' });
    }
    if (!Number.isInteger(dim) || dim < 0) {
      throw new SemsearchError('INVALID_ARGUMENT', `Matrix dim must be a non-negative integer, got ${dim}`, { field: 'dim' });
    }
    const d = data ?? new Float32Array(rows * dim);
    if (d.length !== rows * dim) {
      throw new SemsearchError('SHAPE_MISMATCH', `Matrix data has ${d.length} values, expected ${rows}×${dim}=${rows * dim}`, { field: 'data' });
    }
    this.rows = rows;
    this.dim = dim;
    this.data = d;
  }

  /** Row i as a view into the matrix' storage. */
  row(i: number): Float32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.rows) {
      throw new SemsearchError('INVALID_ARGUMENT', `row index ${i} out of range [0, ${this.rows})`, { field: 'i' });
    }
    return this.data.subarray(i * this.dim, (i + 1) * this.dim);
  }

  get(i: number, j: number): number {
    return this.data[i * this.dim + j] as number;
  }

  /** Rows [start, end) as a matrix sharing this one's storage. */
  slice(start: number, end: number): Matrix {
    const s = Math.max(0, Math.min(start, this.rows));
    const e = Math.max(s, Math.min(end, this.rows));
    return new Matrix(e - s, this.dim, this.data.subarray(s * this.dim, e * this.dim));
  }

  toArray(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.row(i)));
    return out;
  }

  static fromRows(rows: ArrayLike<number>[] | Float32Array[]): Matrix {
    if (rows.length === 0) return new Matrix(0, 0);
    const dim = (rows[0] as ArrayLike<number>).length;
    const m = new Matrix(rows.length, dim);
    rows.forEach((r, i) => {
      if (r.length !== dim) {
        throw new SemsearchError('SHAPE_MISMATCH', `row ${i} has length ${r.length}, expected ${dim}`, { field: `rows[${i}]` });
      }
      m.data.set(r, i * dim);
    });
    return m;
  }
}

/** Anything a user may pass where a batch of vectors is expected. */
export type MatrixLike = Matrix | Float32Array | ArrayLike<number>[];

/** Normalise the accepted input shapes to a Matrix; a single vector becomes one row. */
export function toMatrix(x: MatrixLike, name = 'input'): Matrix {
  if (x instanceof Matrix) return x;
  if (x instanceof Float32Array) return new Matrix(1, x.length, x);
  if (Array.isArray(x)) {
    if (x.length > 0 && typeof x[0] === 'number') {
      return new Matrix(1, x.length, Float32Array.from(x as unknown as number[]));
    }
    return Matrix.fromRows(x);
  }
  throw new SemsearchError('INVALID_ARGUMENT', `${name} must be a Matrix, a Float32Array or an array of vectors`, { field: name });
}
