import { SemsearchError } from '../errors.js';
import { Matrix } from './matrix.js';

export type Precision = 'float32' | 'int8' | 'uint8' | 'binary' | 'ubinary';
export const PRECISIONS: readonly Precision[] = ['float32', 'int8', 'uint8', 'binary', 'ubinary'];

/** Embeddings stored below float32. For binary precisions `dim` counts packed bytes (8 dimensions each). */
export interface QuantizedMatrix {
  precision: Exclude<Precision, 'float32'>;
  rows: number;
  dim: number;
  data: Int8Array | Uint8Array;
}

/**
 * Per-dimension [min; max] rows, the `ranges` array of sentence-transformers (shape 2 × dim). As in
 * numpy, Float64Array ranges make the bucket arithmetic run in float64, Float32Array ranges in float32.
 */
export interface QuantizationRanges {
  min: Float32Array | Float64Array;
  max: Float32Array | Float64Array;
}

export interface QuantizeOptions {
  ranges?: QuantizationRanges;
  calibrationEmbeddings?: Matrix;
}

export function isPrecision(p: unknown): p is Precision {
  return typeof p === 'string' && (PRECISIONS as readonly string[]).includes(p);
}

/** Column-wise min and max, what sentence-transformers derives ranges from. */
export function rangesOf(m: Matrix): QuantizationRanges {
  const min = new Float32Array(m.dim).fill(Number.POSITIVE_INFINITY);
  const max = new Float32Array(m.dim).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < m.rows; r++) {
    const base = r * m.dim;
    for (let i = 0; i < m.dim; i++) {
      const v = m.data[base + i] as number;
      if (v < (min[i] as number)) min[i] = v;
      if (v > (max[i] as number)) max[i] = v;
    }
  }
  return { min, max };
}

/**
 * Ranges read off too few embeddings put every value of a dimension in one bucket: one text gives all −128,
 * silently, in sentence-transformers too. Refuse that instead of returning vectors that carry nothing.
 */
export function checkRangesSpread(ranges: QuantizationRanges, rows: number, field: string): void {
  // One constant dimension is legitimate (sentence-transformers gives it step 1); all of them means the ranges
  // came from one embedding, or from copies of it.
  for (let i = 0; i < ranges.min.length; i++) if (ranges.min[i] !== ranges.max[i]) return;
  throw new SemsearchError(
    'QUANTIZATION_INVALID',
    `int8/uint8 ranges taken from ${rows} embedding${rows === 1 ? '' : 's'} are degenerate (min = max in every dimension), ` +
      `so every value would land in one bucket: encode several texts together, or give ranges (e.g. an index's stored ranges: /encode on an int8 index uses them) or calibrationEmbeddings from a sample of the corpus (library options)`,
    { field },
  );
}

/**
 * quantize_embeddings of sentence-transformers, arithmetic done in float32 as numpy does on float32
 * inputs: bucket = clip(floor((x - start) / step), 0, 255) with step = (max - min) / 255 (1 where 0);
 * binary packs `x > 0` bits per row, most significant bit first, as np.packbits.
 */
export function quantizeEmbeddings(emb: Matrix, precision: Exclude<Precision, 'float32'>, options: QuantizeOptions = {}): QuantizedMatrix {
  const { rows, dim, data } = emb;
  if (precision === 'int8' || precision === 'uint8') {
    let ranges = options.ranges;
    if (ranges === undefined) {
      const cal = options.calibrationEmbeddings;
      if (cal !== undefined && cal.dim !== dim) {
        throw new SemsearchError('SHAPE_MISMATCH', `calibration embeddings have dim ${cal.dim}, embeddings ${dim}`, { field: 'calibrationEmbeddings' });
      }
      const from = cal ?? emb;
      ranges = rangesOf(from);
      checkRangesSpread(ranges, from.rows, cal !== undefined ? 'calibrationEmbeddings' : 'ranges');
    }
    if (ranges.min.length !== dim || ranges.max.length !== dim) {
      throw new SemsearchError('QUANTIZATION_INVALID', `ranges must have ${dim} values per row, got ${ranges.min.length} and ${ranges.max.length}`, {
        field: 'ranges',
      });
    }
    const f = ranges.min instanceof Float64Array || ranges.max instanceof Float64Array ? (x: number) => x : Math.fround;
    const steps = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      const s = f(f((ranges.max[i] as number) - (ranges.min[i] as number)) / 255);
      steps[i] = s === 0 ? 1 : s;
    }
    const signed = precision === 'int8';
    const out = signed ? new Int8Array(rows * dim) : new Uint8Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      for (let i = 0; i < dim; i++) {
        let q = Math.floor(f(f((data[base + i] as number) - (ranges.min[i] as number)) / (steps[i] as number)));
        if (!(q >= 0)) q = 0;
        if (q > 255) q = 255;
        out[base + i] = signed ? q - 128 : q;
      }
    }
    return { precision, rows, dim, data: out };
  }
  if (precision === 'binary' || precision === 'ubinary') {
    const bytes = Math.ceil(dim / 8);
    const packed = new Uint8Array(rows * bytes);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < dim; i++) {
        if ((data[r * dim + i] as number) > 0) {
          const idx = r * bytes + (i >> 3);
          packed[idx] = (packed[idx] as number) | (0x80 >> (i & 7));
        }
      }
    }
    if (precision === 'ubinary') return { precision, rows, dim: bytes, data: packed };
    const signed = new Int8Array(packed.length);
    for (let i = 0; i < packed.length; i++) signed[i] = (packed[i] as number) - 128;
    return { precision, rows, dim: bytes, data: signed };
  }
  throw new SemsearchError('QUANTIZATION_INVALID', `unknown precision ${JSON.stringify(precision)}; use one of ${PRECISIONS.join(', ')}`, {
    field: 'precision',
  });
}
