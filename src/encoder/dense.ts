import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../errors.js';
import type { DenseConfig } from '../model/config.js';
import { Matrix } from '../tensor/matrix.js';

/** A sentence-transformers Dense module: y = activation(W x + b), weights read from model.safetensors. */
export class DenseLayer {
  readonly config: DenseConfig;
  private readonly weight: Float32Array;
  private readonly bias: Float32Array | null;

  constructor(config: DenseConfig) {
    this.config = config;
    const file = join(config.dir, 'model.safetensors');
    if (!existsSync(file)) {
      const hint = existsSync(join(config.dir, 'pytorch_model.bin')) ? ' (only pytorch_model.bin is present: re-save the model with safe_serialization=True)' : '';
      throw new SemsearchError('CONFIG_MISSING', `Dense weights ${file} are missing${hint}`, { file });
    }
    const tensors = readSafetensors(file);
    const w = tensors.get('linear.weight');
    if (w === undefined || w.shape[0] !== config.outFeatures || w.shape[1] !== config.inFeatures) {
      throw new SemsearchError('CONFIG_INVALID', `${file}: linear.weight must have shape [${config.outFeatures}, ${config.inFeatures}]`, {
        file,
        field: 'linear.weight',
      });
    }
    this.weight = w.data;
    const b = tensors.get('linear.bias');
    if (config.bias && (b === undefined || b.data.length !== config.outFeatures)) {
      throw new SemsearchError('CONFIG_INVALID', `${file}: linear.bias must have ${config.outFeatures} values`, { file, field: 'linear.bias' });
    }
    this.bias = config.bias && b !== undefined ? b.data : null;
  }

  forward(x: Matrix): Matrix {
    const { inFeatures, outFeatures, activation } = this.config;
    if (x.dim !== inFeatures) {
      throw new SemsearchError('SHAPE_MISMATCH', `Dense expects ${inFeatures} inputs, got ${x.dim}`, { field: 'in_features' });
    }
    const y = new Matrix(x.rows, outFeatures);
    for (let r = 0; r < x.rows; r++) {
      const xb = r * inFeatures;
      for (let o = 0; o < outFeatures; o++) {
        let s = this.bias === null ? 0 : (this.bias[o] as number);
        const wb = o * inFeatures;
        for (let i = 0; i < inFeatures; i++) s += (this.weight[wb + i] as number) * (x.data[xb + i] as number);
        y.data[r * outFeatures + o] = activation === 'tanh' ? Math.tanh(s) : s;
      }
    }
    return y;
  }
}

interface SafeTensor {
  shape: number[];
  data: Float32Array;
}

/** Minimal safetensors reader: an 8-byte header length, a JSON header, then raw little-endian data. */
export function readSafetensors(file: string): Map<string, SafeTensor> {
  const buf = readFileSync(file);
  if (buf.length < 8) throw new SemsearchError('CONFIG_INVALID', `${file} is too short to be a safetensors file`, { file });
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.length) throw new SemsearchError('CONFIG_INVALID', `${file}: header length ${headerLen} exceeds the file`, { file });
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as typeof header;
  } catch (cause) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: safetensors header is not valid JSON`, { file, cause });
  }
  const out = new Map<string, SafeTensor>();
  const base = 8 + headerLen;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') {
      throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: tensor ${name} has dtype ${t.dtype}; only F32 is supported`, { file, field: name });
    }
    const [s, e] = t.data_offsets;
    const bytes = buf.subarray(base + s, base + e);
    const data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
    out.set(name, { shape: t.shape, data });
  }
  return out;
}
