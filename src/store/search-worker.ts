// Worker side of the parallel exact search: holds references to shared shard memory, scans its share of
// the shards for each request, and answers with its local top-k.
import { parentPort } from 'node:worker_threads';
import { Matrix } from '../tensor/matrix.js';
import { exactSearch, type ExactSearchOptions } from './exact-search.js';
import type { ShardVectors } from './shards.js';

interface InitMessage {
  type: 'init';
  shards: ShardVectors[];
  /** Global row number of each shard's first row. */
  offsets: number[];
}

interface SearchMessage {
  type: 'search';
  id: number;
  queries: Float32Array;
  rows: number;
  options: ExactSearchOptions;
}

let shards: ShardVectors[] = [];
let offsets: number[] = [];

parentPort?.on('message', (msg: InitMessage | SearchMessage) => {
  if (msg.type === 'init') {
    shards = msg.shards;
    offsets = msg.offsets;
    return;
  }
  const q = new Matrix(msg.rows, msg.options.dim, msg.queries);
  const local = exactSearch(q, shards, { ...msg.options, rowBase: offsets[0] ?? 0 });
  // exactSearch numbers rows from 0 across this worker's shards; map them back to the index's rows.
  const starts: number[] = [];
  let acc = 0;
  for (const s of shards) {
    starts.push(acc);
    acc += s.rows;
  }
  const hits = local.map((list) =>
    list.map((h) => {
      let si = starts.length - 1;
      while (si > 0 && (starts[si] as number) > h.row) si--;
      return { row: (offsets[si] as number) + h.row - (starts[si] as number), score: h.score };
    }),
  );
  parentPort?.postMessage({ id: msg.id, hits });
});
