// A worker thread that owns one opened index (its model, and its shards and passages or its OpenSearch connection)
// and answers job batches, so that tokenizing, ONNX runs and vector scans never hold up the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import type { Device } from '../model/device.js';
import { isSemsearchError } from '../errors.js';
import { emptyStages, runBatch, type Job, type StageTimings } from './inference.js';
import { openServed, type IndexSource, type IndexSummary } from './served.js';

export interface WorkerInit {
  source: IndexSource;
  /** A cross-encoder to load beside the index, for re-ranking. */
  crossEncoder?: string;
  threads?: number;
  /** false where the workers' threads together outnumber the cores: a spinning thread would hold a core another worker needs. */
  allowSpinning?: boolean;
  device?: Device;
  verify?: boolean;
}

export type ToWorker = { type: 'batch'; id: number; jobs: Job[] } | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; summary: IndexSummary }
  | { type: 'failed'; error: { code: string; message: string } }
  | { type: 'done'; id: number; results: Awaited<ReturnType<typeof runBatch>>; stages: StageTimings };

const port = parentPort;
if (port !== null) {
  const init = workerData as WorkerInit;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  try {
    const served = await openServed(init.source, {
      ...(init.crossEncoder !== undefined ? { crossEncoder: init.crossEncoder } : {}),
      ...(init.threads !== undefined ? { threads: init.threads } : {}),
      ...(init.allowSpinning !== undefined ? { allowSpinning: init.allowSpinning } : {}),
      ...(init.device !== undefined ? { device: init.device } : {}),
      ...(init.verify !== undefined ? { verify: init.verify } : {}),
    });
    port.on('message', (msg: ToWorker) => {
      if (msg.type === 'close') {
        void Promise.all([served.index.close(), served.crossEncoder?.dispose()]).finally(() => port.close());
        return;
      }
      const stages = emptyStages();
      void runBatch(served, msg.jobs, log, stages).then((results) => port.postMessage({ type: 'done', id: msg.id, results, stages } satisfies FromWorker));
    });
    port.postMessage({ type: 'ready', summary: served.summary } satisfies FromWorker);
  } catch (e) {
    const error = isSemsearchError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL_ERROR', message: (e as Error)?.message ?? String(e) };
    port.postMessage({ type: 'failed', error } satisfies FromWorker);
  }
}
