import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { writeError } from './io-errors.js';
import { encodeFloat16 } from '../tensor/float16.js';
import type { Matrix } from '../tensor/matrix.js';
import { quantizeEmbeddings, type QuantizationRanges } from '../tensor/quantize.js';
import { shardMaxNorm } from './simd/simd-scan.js';
import { allocVectorMemory, type VectorMemory } from './simd/vector-memory.js';
import { syncDir, type IndexManifest, type IndexPrecision, type ShardEntry } from './manifest.js';

/** One shard's vectors as stored: the typed array for its precision, plus int8 rescoring rows for binary. */
export interface ShardVectors {
  rows: number;
  data: Float32Array | Uint16Array | Int8Array | Uint8Array;
  rescore?: Int8Array;
  /** Loaded shards: the shared WebAssembly memory `data` lies in, so the SIMD kernels scan it in place. */
  memory?: VectorMemory;
  /** Float shards in kernel memory: the largest row norm, for the kernels' rounding bound. */
  maxNorm?: number;
}

export const SHARD_DIR = 'shards';

/**
 * Remove the files of shards/ that `shards` (a manifest's list; none for an index not yet committed) does not
 * name: what a killed build or write left. Returns them, relative to the index folder.
 */
export function removeUnlistedShards(dir: string, shards: IndexManifest['shards'] | undefined): string[] {
  const folder = join(dir, SHARD_DIR);
  if (!existsSync(folder)) return [];
  const keep = new Set<string>();
  for (const s of shards ?? []) {
    keep.add(s.file);
    if (s.rescoreFile !== undefined) keep.add(s.rescoreFile);
  }
  const removed: string[] = [];
  for (const f of readdirSync(folder)) {
    if (keep.has(`${SHARD_DIR}/${f}`)) continue;
    rmSync(join(folder, f), { force: true });
    removed.push(`${SHARD_DIR}/${f}`);
  }
  return removed;
}

/** Bytes of one stored row. */
export function rowBytes(precision: IndexPrecision, dim: number): number {
  switch (precision) {
    case 'float32':
      return dim * 4;
    case 'float16':
      return dim * 2;
    case 'int8':
      return dim;
    case 'binary':
      return Math.ceil(dim / 8);
  }
}

/** Turn float embeddings into the stored representation of a precision. */
export function encodeShard(emb: Matrix, precision: IndexPrecision, ranges: QuantizationRanges | undefined): ShardVectors {
  switch (precision) {
    case 'float32':
      return { rows: emb.rows, data: emb.data };
    case 'float16':
      return { rows: emb.rows, data: encodeFloat16(emb.data) };
    case 'int8':
      return { rows: emb.rows, data: quantizeEmbeddings(emb, 'int8', ranges !== undefined ? { ranges } : {}).data as Int8Array };
    case 'binary':
      return {
        rows: emb.rows,
        data: quantizeEmbeddings(emb, 'ubinary').data as Uint8Array,
        rescore: quantizeEmbeddings(emb, 'int8', ranges !== undefined ? { ranges } : {}).data as Int8Array,
      };
  }
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Write, fsync, rename, fsync the folder: a shard file either exists whole under its final name or not at all,
 * and the rename itself survives a power loss before the manifest that names the file is written. A failed
 * write (a full disk) removes its temporary file and names the shard.
 */
function writeDurable(file: string, data: Buffer): string {
  const tmp = `${file}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDir(dirname(file));
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw writeError(file, `the shard ${file}`, cause);
  }
  return createHash('sha256').update(data).digest('hex');
}

/** Write shard `n` durably; writes after the build add their generation to the name (`suffix`), so no file is ever overwritten. */
export function writeShard(dir: string, n: number, precision: IndexPrecision, v: ShardVectors, suffix = ''): ShardEntry {
  const name = `shard-${String(n).padStart(5, '0')}${suffix}`;
  const ext = { float32: 'f32', float16: 'f16', int8: 'i8', binary: 'b1' }[precision];
  const file = `${SHARD_DIR}/${name}.${ext}`;
  const entry: ShardEntry = { file, rows: v.rows, sha256: writeDurable(join(dir, file), bytesOf(v.data)) };
  if (v.rescore !== undefined) {
    entry.rescoreFile = `${SHARD_DIR}/${name}.rescore.i8`;
    entry.rescoreSha256 = writeDurable(join(dir, entry.rescoreFile), bytesOf(v.rescore));
  }
  return entry;
}

/**
 * Read a file whose size the manifest gives straight into `target` (no second copy of the rows), checking the
 * size always and the sha256 when `verify`.
 */
export function readVerified(dir: string, rel: string, sha256: string, target: Uint8Array, verify: boolean): void {
  const file = join(dir, rel);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new SemsearchError('INDEX_CORRUPT', `index file ${file} is missing`, { file, cause });
    // Not the index's fault (no permission, too many open files): say what the system said.
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read the index file ${file}: ${(cause as Error).message}`, { file, cause });
  }
  try {
    const size = fstatSync(fd).size;
    if (size !== target.length) {
      throw new SemsearchError('INDEX_CORRUPT', `index file ${file} has ${size} bytes, the manifest expects ${target.length}`, { file });
    }
    const hash = verify ? createHash('sha256') : undefined;
    let off = 0;
    while (off < size) {
      const n = readSync(fd, target, off, Math.min(READ_CHUNK, size - off), off);
      if (n === 0) throw new SemsearchError('INDEX_CORRUPT', `index file ${file} ended after ${off} of ${size} bytes`, { file });
      hash?.update(target.subarray(off, off + n));
      off += n;
    }
    if (hash !== undefined && hash.digest('hex') !== sha256) {
      throw new SemsearchError('INDEX_CORRUPT', `index file ${file} fails its sha256 check: it was changed or damaged; rebuild the index`, { file });
    }
  } finally {
    closeSync(fd);
  }
}

const READ_CHUNK = 64 << 20;

/**
 * Read one shard, checking its size (always) and its sha256 (when `verify`). Rows go into a shared WebAssembly
 * memory where they fit (the SIMD kernels scan them there), else into a SharedArrayBuffer; either way search
 * workers read them in place.
 */
export function readShard(dir: string, entry: ShardEntry, precision: IndexPrecision, dim: number, verify: boolean): ShardVectors {
  const bytes = entry.rows * rowBytes(precision, dim);
  const kernelMemory = allocVectorMemory(bytes);
  const ab = kernelMemory?.bytes ?? new Uint8Array(new SharedArrayBuffer(bytes));
  readVerified(dir, entry.file, entry.sha256, ab, verify);
  const at = [ab.buffer, ab.byteOffset] as const;
  let data: ShardVectors['data'];
  if (precision === 'float32') data = new Float32Array(...at, entry.rows * dim);
  else if (precision === 'float16') data = new Uint16Array(...at, entry.rows * dim);
  else if (precision === 'int8') data = new Int8Array(...at, bytes);
  else data = new Uint8Array(...at, bytes);
  const out: ShardVectors = { rows: entry.rows, data };
  if (kernelMemory !== undefined) {
    out.memory = kernelMemory.memory;
    if (precision === 'float32' || precision === 'float16') {
      const norm = shardMaxNorm(kernelMemory.memory, entry.rows, dim, precision === 'float16');
      if (norm !== undefined) out.maxNorm = norm;
    }
  }
  if (entry.rescoreFile !== undefined) {
    const r = new Uint8Array(new SharedArrayBuffer(entry.rows * dim));
    readVerified(dir, entry.rescoreFile, entry.rescoreSha256 ?? '', r, verify);
    out.rescore = new Int8Array(r.buffer);
  }
  return out;
}
