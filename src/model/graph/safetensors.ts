import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';

/** One tensor of a checkpoint, as float32 (F16 and BF16 are widened: the built graph computes in float32). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

const DTYPES = ['F32', 'F16', 'BF16'] as const;

const LITTLE_ENDIAN = endianness() === 'LE';

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * The tensors of a safetensors file (an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the bytes), read whole. A file that does not follow the format is CONFIG_INVALID naming it.
 */
export function readSafetensors(file: string): Map<string, WeightTensor> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (size < 8 || n <= 0 || 8 + n > size) throw new SemsearchError('CONFIG_INVALID', `${file} is not a safetensors file (header length ${n}, file ${size} bytes)`, { file });
    const json = Buffer.alloc(n);
    readSync(fd, json, 0, n, 8);
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      header = JSON.parse(json.toString('utf8')) as typeof header;
    } catch (cause) {
      throw new SemsearchError('CONFIG_INVALID', `${file}: the safetensors header is not JSON`, { file, cause });
    }
    const out = new Map<string, WeightTensor>();
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      // Integer tensors are buffers, not weights (BERT's embeddings.position_ids): no graph reads them.
      if (/^[IU](8|16|32|64)$/.test(t.dtype) || t.dtype === 'BOOL') continue;
      if (!DTYPES.includes(t.dtype as (typeof DTYPES)[number])) {
        throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: tensor ${name} is ${t.dtype}; semsearch builds graphs from ${DTYPES.join(', ')} weights`, { file, field: name });
      }
      const [from, to] = t.data_offsets;
      const count = t.shape.reduce((a, b) => a * b, 1);
      const width = t.dtype === 'F32' ? 4 : 2;
      if (to - from !== count * width || 8 + n + to > size) throw new SemsearchError('CONFIG_INVALID', `${file}: tensor ${name} has ${to - from} bytes for shape [${t.shape.join(', ')}] ${t.dtype}`, { file, field: name });
      const bytes = Buffer.alloc(to - from);
      readSync(fd, bytes, 0, bytes.length, 8 + n + from);
      const data = new Float32Array(count);
      // The file is little-endian, as the CPUs semsearch runs on: float32 is copied as it lies (a value-by-value
      // read took seconds per 100 MB), and a bfloat16 is the top half of its float32's bits.
      if (t.dtype === 'F32' && LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes);
      else if (t.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(i * 4);
      else if (t.dtype === 'F16') for (let i = 0; i < count; i++) data[i] = halfToFloat(bytes.readUInt16LE(i * 2));
      else {
        const bits = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) bits[i] = bytes.readUInt16LE(i * 2) << 16;
      }
      out.set(name, { shape: t.shape, data });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * The files that hold a model folder's weights: model.safetensors, or model.safetensors.index.json and the shards it
 * lists (each checked to exist). A folder with only pytorch_model.bin (a pickle, which semsearch does not unpickle) is
 * refused naming it; one with no weights at all is ONNX_MISSING.
 */
export function checkpointFiles(dir: string): { shards: string[]; index?: string } {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { shards: [single] };
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    } catch (cause) {
      throw new SemsearchError('CONFIG_INVALID', `${index} is not a safetensors index (weight_map)`, { file: index, cause });
    }
    const shards = [...new Set(Object.values(map ?? {}))].sort().map((f) => join(dir, f));
    for (const f of shards) if (!existsSync(f)) throw new SemsearchError('MODEL_NOT_FOUND', `${f}, a shard ${index} lists, is missing`, { file: f });
    return { shards, index };
  }
  if (existsSync(join(dir, 'pytorch_model.bin'))) {
    throw new SemsearchError('UNSUPPORTED_MODEL', `${dir} has only pytorch_model.bin (a Python pickle); save it as safetensors (model.save(..., safe_serialization=True)) or export ONNX`, {
      file: join(dir, 'pytorch_model.bin'),
    });
  }
  throw new SemsearchError('ONNX_MISSING', `${dir} has neither an ONNX export (onnx/model.onnx) nor weights (model.safetensors) to build one from`, { file: single });
}

/** Every tensor of a model folder's checkpoint (checkpointFiles), the shards merged. */
export function readCheckpoint(dir: string): Map<string, WeightTensor> {
  const tensors = new Map<string, WeightTensor>();
  for (const f of checkpointFiles(dir).shards) for (const [k, v] of readSafetensors(f)) tensors.set(k, v);
  return tensors;
}
