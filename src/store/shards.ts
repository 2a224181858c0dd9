import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { encodeFloat16 } from '../tensor/float16.js';
import type { Matrix } from '../tensor/matrix.js';
import { quantizeEmbeddings, type QuantizationRanges } from '../tensor/quantize.js';
import { syncDir, type IndexPrecision, type ShardEntry } from './manifest.js';

/** One shard's vectors as stored: the typed array for its precision, plus int8 rescoring rows for binary. */
export interface ShardVectors {
  rows: number;
  data: Float32Array | Uint16Array | Int8Array | Uint8Array;
  rescore?: Int8Array;
}

export const SHARD_DIR = 'shards';

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
    throw new SemsearchError('FILE_WRITE_FAILED', `cannot write the shard ${file}: ${(cause as Error).message}`, { file, cause });
  }
  return createHash('sha256').update(data).digest('hex');
}

export function writeShard(dir: string, n: number, precision: IndexPrecision, v: ShardVectors): ShardEntry {
  const name = `shard-${String(n).padStart(5, '0')}`;
  const ext = { float32: 'f32', float16: 'f16', int8: 'i8', binary: 'b1' }[precision];
  const file = `${SHARD_DIR}/${name}.${ext}`;
  const entry: ShardEntry = { file, rows: v.rows, sha256: writeDurable(join(dir, file), bytesOf(v.data)) };
  if (v.rescore !== undefined) {
    entry.rescoreFile = `${SHARD_DIR}/${name}.rescore.i8`;
    entry.rescoreSha256 = writeDurable(join(dir, entry.rescoreFile), bytesOf(v.rescore));
  }
  return entry;
}

function readVerified(dir: string, rel: string, sha256: string, expectedBytes: number, verify: boolean): Buffer {
  const file = join(dir, rel);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (cause) {
    throw new SemsearchError('INDEX_CORRUPT', `index file ${file} is missing`, { file, cause });
  }
  if (buf.length !== expectedBytes) {
    throw new SemsearchError('INDEX_CORRUPT', `index file ${file} has ${buf.length} bytes, the manifest expects ${expectedBytes}`, { file });
  }
  if (verify && createHash('sha256').update(buf).digest('hex') !== sha256) {
    throw new SemsearchError('INDEX_CORRUPT', `index file ${file} fails its sha256 check: it was changed or damaged; rebuild the index`, { file });
  }
  return buf;
}

/** Read one shard, checking its size (always) and its sha256 (when `verify`). */
export function readShard(dir: string, entry: ShardEntry, precision: IndexPrecision, dim: number, verify: boolean): ShardVectors {
  const buf = readVerified(dir, entry.file, entry.sha256, entry.rows * rowBytes(precision, dim), verify);
  // Copy into aligned shared memory: typed arrays need aligned offsets, and search workers read it in place.
  const ab = new SharedArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  let data: ShardVectors['data'];
  if (precision === 'float32') data = new Float32Array(ab);
  else if (precision === 'float16') data = new Uint16Array(ab);
  else if (precision === 'int8') data = new Int8Array(ab);
  else data = new Uint8Array(ab);
  const out: ShardVectors = { rows: entry.rows, data };
  if (entry.rescoreFile !== undefined) {
    const r = readVerified(dir, entry.rescoreFile, entry.rescoreSha256 ?? '', entry.rows * dim, verify);
    const rb = new SharedArrayBuffer(r.length);
    new Uint8Array(rb).set(r);
    out.rescore = new Int8Array(rb);
  }
  return out;
}
