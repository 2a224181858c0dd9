import ort from 'onnxruntime-node';
import { SemsearchError } from '../errors.js';
import { SCORE_TOPK_IO, scoreTopKGraph } from './graph/score-topk-graph.js';

/** Each query's best `k` of a block of rows by float32 dot product, unsorted: scores and row numbers within the block. */
export interface BlockTopK {
  scores: Float32Array;
  indices: BigInt64Array;
  /** Entries per query. */
  k: number;
}

/**
 * An ONNX Runtime session over the Gemm + TopK graph (graph/score-topk-graph.ts): the BLAS half of batch search.
 * Its scores are float32 sums in the runtime's order, so callers treat them as approximate (store/gemm-search.ts
 * bounds their error and rescores).
 */
export class ScoreTopKSession {
  readonly dim: number;
  private session: ort.InferenceSession | null;

  private constructor(dim: number, session: ort.InferenceSession) {
    this.dim = dim;
    this.session = session;
  }

  static async create(dim: number, threads: number): Promise<ScoreTopKSession> {
    if (!Number.isInteger(dim) || dim < 1) throw new SemsearchError('INVALID_ARGUMENT', `dim must be a positive integer, got ${dim}`, { field: 'dim' });
    if (!Number.isInteger(threads) || threads < 1) throw new SemsearchError('INVALID_ARGUMENT', `threads must be a positive integer, got ${threads}`, { field: 'threads' });
    try {
      const session = await ort.InferenceSession.create(scoreTopKGraph(dim), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      return new ScoreTopKSession(dim, session);
    } catch (cause) {
      throw new SemsearchError('ONNX_INVALID', `ONNX Runtime cannot load the batch-search graph: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
    }
  }

  /**
   * Top `k` (≤ `rows`) of each of `batch` queries over `rows` rows. Both arrays must lie in plain ArrayBuffers
   * (ONNX Runtime refuses SharedArrayBuffer views).
   */
  async run(queries: Float32Array, batch: number, rowData: Float32Array, rows: number, k: number): Promise<BlockTopK> {
    const s = this.session;
    if (s === null) throw new SemsearchError('MODEL_DISPOSED', 'the batch-search session was disposed', {});
    const d = this.dim;
    const io = SCORE_TOPK_IO;
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await s.run({
        [io.queries]: new ort.Tensor('float32', queries.subarray(0, batch * d), [batch, d]),
        [io.rows]: new ort.Tensor('float32', rowData.subarray(0, rows * d), [rows, d]),
        [io.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
      });
    } catch (cause) {
      throw new SemsearchError('ONNX_RUN_FAILED', `ONNX Runtime failed on the batch-search graph: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
    }
    return { scores: (out[io.scores] as ort.Tensor).data as Float32Array, indices: (out[io.indices] as ort.Tensor).data as BigInt64Array, k };
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s !== null) await s.release();
  }
}
