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
  'two sessions sharing the cores: on 2 cores (AVX2, 5 interleaved rounds) within the noise of the best at 1, 32 and 128 connections (0.91x, 1.00x, 0.94x); ' +
  'single cells: they beat one 2-thread session at 128 connections on AVX2 (1.13x) and AVX-512 (1.29x), ' +
  'under heavy CPU contention (AVX2, 5 interleaved rounds begun) and in encode (1.1-1.5x), and lose at 1-32 connections on a quiet machine (AVX2 1.00x and 0.92x, AVX-512 0.72x and 0.76x); ' +
  `${PARALLELISM_EVIDENCE}`;

/**
 * Whether sessions may spin while idle: not where their threads together outnumber the cores, since a spinning
 * thread then holds a core another session needs. undefined: ONNX Runtime's default (spinning on).
 */
export function spinningFor(workers: number, threadsPerWorker: number, cores: number): false | undefined {
  return workers * threadsPerWorker > cores ? false : undefined;
}
