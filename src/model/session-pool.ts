import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ERROR_CODES, SemsearchError, type ErrorCode } from '../errors.js';
import { assertDeviceAvailable, checkDevice } from './device.js';
import type { SessionOptions, TokenEmbeddings } from './onnx-session.js';
import type { WorkerReply, WorkerRequest } from './session-worker.js';
import type { TokenizedBatch } from './tokenizer/tokenizer.js';

// Under tsx (tests, `npm run bench`) this module is the .ts source and so is the worker beside it.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './session-worker.ts' : './session-worker.js', import.meta.url);

/**
 * Start a worker on the session worker module. From the .ts sources, Node 20 does not apply `--import tsx`'s
 * hooks to a worker's entry file, so a small script registers tsx's loader in the worker first.
 */
function startWorker(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData, execArgv: loaderArgv() });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData, execArgv: loaderArgv() });
}

/**
 * The loader flags a worker needs to run the same kind of module as this thread (e.g. `--import tsx`), and
 * nothing else: the test runner's own flags must not reach the workers.
 */
function loaderArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C'].includes(a) && i + 1 < argv.length) {
      out.push(a, argv[++i] as string);
    } else if (/^--(import|require|loader|experimental-loader|conditions)=/.test(a)) out.push(a);
  }
  return out;
}

function toError(code: string, message: string, file: string, field?: string): SemsearchError {
  const c = (code in ERROR_CODES ? code : 'ONNX_RUN_FAILED') as ErrorCode;
  return new SemsearchError(c, message, { file, ...(field !== undefined ? { field } : {}) });
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * Several ONNX Runtime sessions of the same file, one per worker thread, sharing a thread budget: each runs
 * whole batches with its share of the intra-op threads. onnxruntime-node runs a session on the calling thread,
 * so this is how two batches run at once. Each worker holds its own copy of the weights.
 */
export class SessionPool {
  readonly file: string;
  readonly inputNames: readonly string[];
  readonly outputName: string;
  /** Batches that can run at once. */
  readonly concurrency: number;
  private readonly slots: Slot[];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, { resolve: (t: TokenEmbeddings) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private disposed = false;

  private constructor(file: string, slots: Slot[], inputNames: string[], outputName: string) {
    this.file = file;
    this.slots = slots;
    this.inputNames = inputNames;
    this.outputName = outputName;
    this.concurrency = slots.length;
    for (const s of slots) {
      // An idle worker must not keep the process alive (a model the caller never disposes); a busy one does.
      s.worker.unref();
      s.worker.on('message', (m: WorkerReply) => this.onReply(s, m));
      s.worker.on('error', (e) => this.failAll(new SemsearchError('ONNX_RUN_FAILED', `ONNX Runtime worker for ${file} failed: ${e.message}`, { file, cause: e })));
    }
  }

  static async create(file: string, workers: number, options: SessionOptions): Promise<SessionPool> {
    if (!Number.isInteger(workers) || workers < 1) {
      throw new SemsearchError('INVALID_ARGUMENT', `workers must be a positive integer, got ${workers}`, { field: 'workers' });
    }
    if (!existsSync(file)) {
      throw new SemsearchError('ONNX_MISSING', `ONNX file ${file} does not exist; export the model with sentence-transformers (backend="onnx") or pick another variant`, { file });
    }
    // Checked here, before any worker starts: one clear error rather than one per worker.
    if (options.device !== undefined) assertDeviceAvailable(checkDevice(options.device));
    const starts = Array.from({ length: workers }, () => {
      const worker = startWorker({ file, options });
      return new Promise<{ worker: Worker; ready: WorkerReply }>((resolve, reject) => {
        worker.once('message', (ready: WorkerReply) => resolve({ worker, ready }));
        worker.once('error', reject);
      });
    });
    const settled = await Promise.allSettled(starts);
    const failure = settled.find((s) => s.status === 'rejected' || s.value.ready.type !== 'ready');
    if (failure !== undefined) {
      await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.worker.terminate() : undefined)));
      if (failure.status === 'rejected') {
        throw new SemsearchError('ONNX_INVALID', `cannot start an ONNX Runtime worker for ${file}: ${String((failure.reason as Error)?.message ?? failure.reason)}`, { file, cause: failure.reason });
      }
      const r = failure.value.ready;
      throw r.type === 'error' ? toError(r.code, r.message, file, r.field) : new SemsearchError('ONNX_INVALID', `unexpected reply from the ONNX Runtime worker for ${file}`, { file });
    }
    const first = (settled[0] as PromiseFulfilledResult<{ worker: Worker; ready: WorkerReply }>).value.ready as Extract<WorkerReply, { type: 'ready' }>;
    const slots = settled.map((s) => ({ worker: (s as PromiseFulfilledResult<{ worker: Worker }>).value.worker, busy: false }));
    return new SessionPool(file, slots, first.inputNames, first.outputName);
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    if (m.type !== 'result' && m.type !== 'error') return;
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    slot.busy = false;
    slot.worker.unref();
    this.waiting.shift()?.();
    if (p === undefined) return;
    if (m.type === 'result') p.resolve({ data: m.data, batchSize: m.batchSize, seqLen: m.seqLen, hidden: m.hidden });
    else p.reject(toError(m.code, m.message, this.file, m.field));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Run one batch on the first free worker (waiting for one when all are busy). */
  async run(batch: TokenizedBatch): Promise<TokenEmbeddings> {
    if (this.disposed) throw new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {});
    let slot = this.slots.find((s) => !s.busy);
    while (slot === undefined) {
      await new Promise<void>((r) => this.waiting.push(r));
      slot = this.slots.find((s) => !s.busy);
    }
    slot.busy = true;
    slot.worker.ref();
    const id = this.nextId++;
    const s = slot;
    return new Promise<TokenEmbeddings>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The batch's arrays are copied, not transferred: the caller may still read `lengths`.
      s.worker.postMessage({ type: 'run', id, batch } satisfies WorkerRequest);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.failAll(new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {}));
  }
}
