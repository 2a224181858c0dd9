import type { Device } from '../model/device.js';

/**
 * The one rule for how many ONNX Runtime sessions (worker threads, each with its own copy of the model) and intra-op
 * threads each gets when the caller names neither: `loadModel` and `serve` both follow it and `semsearch doctor`
 * reports it, so the three never disagree.
 */
export interface ParallelismPlan {
  workers: number;
  threadsPerWorker: number;
  /** Why, in one line, and where the figures behind it are. */
  why: string;
}

/** Where the measurements behind the rule are written down. */
export const PARALLELISM_EVIDENCE = 'docs/SERVING.md, "Thread and worker defaults"';

/**
 * The default for `cores` CPU threads on `device`. On a GPU: one session (a second would hold a second copy of the
 * weights on the card for nothing: the GPU is one device either way).
 */
export function defaultParallelism(cores: number, device: Device = 'cpu'): ParallelismPlan {
  const n = Math.max(1, Math.floor(cores));
  if (device === 'cuda') return { workers: 1, threadsPerWorker: n, why: 'one session on the GPU (a second would only copy the weights there again)' };
  if (n < 2) return { workers: 1, threadsPerWorker: 1, why: 'one core: one session of one thread' };
  return { workers: 2, threadsPerWorker: Math.floor(n / 2), why: RULE_WHY };
}

// The figures behind it (2 cores, all-MiniLM-L6-v2, /search one query per request, and loadModel's encode).
const RULE_WHY =
  'two sessions sharing the cores: on a quiet 2-core AVX2 machine (5 interleaved rounds each, noise floor 16%) the fastest library encode (1.09x docs, 1.18x queries) ' +
  'and the fastest server at 128 connections (1.40x one 2-thread session), within the noise at 32 (0.93x) and 0.83x at 1 connection (p50 13 ms against 10); ' +
  'AVX-512 single cells the same shape (1.29x at 128, 0.76x at 32, 0.72x at 1); under CPU contention one 2-thread session falls furthest; ' +
  `${PARALLELISM_EVIDENCE}`;

/**
 * Whether sessions may spin while idle: not where their threads together outnumber the cores, since a spinning
 * thread then holds a core another session needs. undefined: ONNX Runtime's default (spinning on).
 */
export function spinningFor(workers: number, threadsPerWorker: number, cores: number): false | undefined {
  return workers * threadsPerWorker > cores ? false : undefined;
}
