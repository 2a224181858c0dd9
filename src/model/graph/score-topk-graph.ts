// The batch-search graph: Gemm (queries b × d against a block of rows n × d, transposed) and TopK along the rows.
// ONNX Runtime runs the Gemm as BLAS sgemm, many queries per pass over the rows; the TopK keeps the score table
// (b × n) inside the runtime. Rows and k are inputs, so one session serves every block, shard and k.
import { encodeModel } from './onnx-proto.js';

/** Input and output names of the graph. */
export const SCORE_TOPK_IO = { queries: 'queries', rows: 'rows', k: 'k', scores: 'scores', indices: 'indices' } as const;

/** The serialised graph for `dim`-dimensional float32 vectors (opset 17: Gemm, TopK with k as an input). */
export function scoreTopKGraph(dim: number): Uint8Array {
  const io = SCORE_TOPK_IO;
  return encodeModel({
    producer: 'semsearch',
    opset: 17,
    graphName: 'score_topk',
    nodes: [
      { op: 'Gemm', inputs: [io.queries, io.rows], outputs: ['table'], attrs: { transB: { i: 1 } }, name: 'score' },
      // Unsorted: the caller merges blocks and proves its candidates itself, and sorting costs a k log k per row.
      { op: 'TopK', inputs: ['table', io.k], outputs: [io.scores, io.indices], attrs: { axis: { i: 1 }, largest: { i: 1 }, sorted: { i: 0 } }, name: 'topk' },
    ],
    initializers: [],
    inputs: [
      { name: io.queries, elemType: 1, shape: ['batch', dim] },
      { name: io.rows, elemType: 1, shape: ['rows', dim] },
      { name: io.k, elemType: 7, shape: [1] },
    ],
    outputs: [
      { name: io.scores, elemType: 1, shape: ['batch', 'k'] },
      { name: io.indices, elemType: 7, shape: ['batch', 'k'] },
    ],
  });
}
