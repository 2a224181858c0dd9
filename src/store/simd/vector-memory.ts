import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

// The slice of the WebAssembly API used here: Node has it, but the project compiles without the DOM library.
/** A shared WebAssembly memory holding shard rows; it can be posted to worker threads without a copy. */
export interface VectorMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => VectorMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Shard vectors live in a shared WebAssembly memory so the SIMD kernels scan them in place, and worker threads
 * receive the same memory without a copy. The first SCRATCH_BYTES of each memory are the kernels' working area
 * (a lock word, the queries, the thresholds and the candidate triplets); the rows start after it.
 */
export const SCRATCH_BYTES = 2 << 20;
const PAGE = 65536;
/** wasm32 addresses 4 GiB: larger shards stay in a SharedArrayBuffer and are scanned in JavaScript. */
const MAX_PAGES = 65536;

/** Byte layout of the scratch area. */
export const SCRATCH = {
  lock: 0,
  thresholds: 64,
  maxQueries: 1024,
  queries: 64 + 4 * 1024,
  queryBytes: 1 << 20,
  out: 64 + 4 * 1024 + (1 << 20),
} as const;
/** Candidate triplets (query, row, value) the output area holds: a scan block never emits more. */
export const OUT_CAPACITY = Math.floor((SCRATCH_BYTES - SCRATCH.out) / 12);

export interface KernelExports {
  scan_f32(q: number, nq: number, x: number, rows: number, dim: number, thr: number, out: number): number;
  scan_f16(q: number, nq: number, x: number, rows: number, dim: number, thr: number, out: number): number;
  scan_i8(q: number, nq: number, x: number, rows: number, dim: number, thr: number, out: number): number;
  scan_b1(q: number, nq: number, x: number, rows: number, bytes: number, thr: number, out: number): number;
  max_norm2(x: number, rows: number, dim: number, half: number): number;
  stream_sum(x: number, bytes: number): number;
  scan_b1_x4(q: number, x: number, rows: number, bytes: number, thr: number, out: number): number;
  scan_f16_x4(q: number, x: number, rows: number, dim: number, thr: number, out: number): number;
  scan_i8_x4(q: number, x: number, rows: number, dim: number, thr: number, out: number): number;
  rescore_f32(w: number, rows: number, n: number, dim: number, out: number): void;
  rescore_f16(w: number, rows: number, n: number, dim: number, out: number): void;
  rescore_i8(w: number, rows: number, n: number, dim: number, out: number): void;
}

let compiled: object | null | undefined;

/** The compiled kernels, or null where this runtime lacks WebAssembly SIMD or shared memory (then scans stay in JS). */
function kernelModule(): object | null {
  // Compiled code is immutable and the same for every caller: one compile per thread is the whole cost.
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Instances are per thread and per memory; a WeakMap lets a dropped index take its instances with it. */
const instances = new WeakMap<VectorMemory, KernelExports>();

export function kernelsFor(memory: VectorMemory): KernelExports | undefined {
  let k = instances.get(memory);
  if (k === undefined) {
    const mod = kernelModule();
    if (mod === null) return undefined;
    k = new wasm.Instance(mod, { env: { memory } }).exports as unknown as KernelExports;
    instances.set(memory, k);
  }
  return k;
}

/**
 * Room for `bytes` of rows after the scratch area, or undefined when they do not fit in one wasm32 memory or the
 * runtime cannot run the kernels. The bytes view starts at SCRATCH_BYTES.
 */
export function allocVectorMemory(bytes: number): { memory: VectorMemory; bytes: Uint8Array } | undefined {
  const pages = Math.ceil((SCRATCH_BYTES + bytes) / PAGE);
  if (pages > MAX_PAGES || kernelModule() === null) return undefined;
  let memory: VectorMemory;
  try {
    memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    // Address space or memory refused: the caller falls back to a plain SharedArrayBuffer.
    return undefined;
  }
  return { memory, bytes: new Uint8Array(memory.buffer, SCRATCH_BYTES, bytes) };
}

/**
 * Take the memory's scratch area for one scan. Each memory is scanned by one thread at a time in practice (the
 * parallel searcher gives every worker its own shards); the lock makes any other use fall back to the JS scan
 * instead of racing on the scratch area.
 */
export function tryLock(memory: VectorMemory): boolean {
  return Atomics.compareExchange(new Int32Array(memory.buffer, SCRATCH.lock, 1), 0, 0, 1) === 0;
}

export function unlock(memory: VectorMemory): void {
  Atomics.store(new Int32Array(memory.buffer, SCRATCH.lock, 1), 0, 0);
}
