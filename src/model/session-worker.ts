// One ONNX Runtime session on a worker thread, for SessionPool. onnxruntime-node runs a session
// synchronously on the thread that calls it, so a second core can only be used by a second thread with its
// own session.
import { parentPort, workerData } from 'node:worker_threads';
import { isSemsearchError } from '../errors.js';
import { TransformerSession, type SessionOptions } from './onnx-session.js';
import type { TokenizedBatch } from './tokenizer/tokenizer.js';

interface Init {
  file: string;
  options: SessionOptions;
}

export type WorkerRequest = { type: 'run'; id: number; batch: TokenizedBatch } | { type: 'dispose' };
export type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputName: string }
  | { type: 'result'; id: number; data: Float32Array; batchSize: number; seqLen: number; hidden: number }
  | { type: 'error'; id: number; code: string; message: string; field?: string }
  | { type: 'disposed' };

const port = parentPort;
if (port === null) process.exit(1);
const init = workerData as Init;

function errorReply(id: number, e: unknown): WorkerReply {
  if (isSemsearchError(e)) return { type: 'error', id, code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) };
  return { type: 'error', id, code: 'ONNX_RUN_FAILED', message: String((e as Error)?.message ?? e) };
}

let session: TransformerSession;
try {
  session = await TransformerSession.create(init.file, init.options);
  port.postMessage({ type: 'ready', inputNames: [...session.inputNames], outputName: session.outputName } satisfies WorkerReply);
} catch (e) {
  port.postMessage(errorReply(-1, e));
  port.close();
  process.exit(0);
}

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'dispose') {
    void session.dispose().then(() => {
      port.postMessage({ type: 'disposed' } satisfies WorkerReply);
      port.close();
    });
    return;
  }
  session.run(msg.batch).then(
    (out) => {
      // The output's storage may belong to ONNX Runtime; a copy of our own can be handed over without a second copy.
      const data = out.data.slice();
      port.postMessage({ type: 'result', id: msg.id, data, batchSize: out.batchSize, seqLen: out.seqLen, hidden: out.hidden } satisfies WorkerReply, [data.buffer]);
    },
    (e: unknown) => port.postMessage(errorReply(msg.id, e)),
  );
});
