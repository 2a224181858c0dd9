// Worker side of the IVF scan: holds one share of the lists (shared memory) and answers each query with the best
// kc of its share's probed rows, which the calling thread merges (ivf.ts, IvfSearcher).
import { parentPort } from 'node:worker_threads';
import { scanLists, type IvfPart } from './ivf.js';
import { TopK } from './top-k.js';

let part: IvfPart | undefined;

parentPort?.on('message', (msg: { type: 'init'; part: IvfPart } | { type: 'search'; id: number; qbits: Uint8Array; lists: number[]; kc: number; skip: Uint8Array | undefined }) => {
  if (msg.type === 'init') {
    part = msg.part;
    return;
  }
  const top = new TopK(msg.kc);
  if (part !== undefined) scanLists(part, msg.qbits, msg.lists, top, msg.skip);
  parentPort?.postMessage({ id: msg.id, scores: top.scores, rows: top.rows, size: top.size });
});
