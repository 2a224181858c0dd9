import { Worker } from 'node:worker_threads';
import { SemsearchError, type ErrorCode } from '../errors.js';
import type { BatchRunner } from './batcher.js';
import type { IndexSummary, Job, JobResult } from './inference.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker.js';

// From dist the worker is worker.js; from the sources a .mjs shim registers tsx and loads worker.ts.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker-tsx.mjs' : './worker.js', import.meta.url);

/** One worker thread with its own opened index; answers one batch at a time. */
export class WorkerRunner implements BatchRunner {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: JobResult[]) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(worker: Worker, log: (line: string) => void) {
    this.worker = worker;
    this.exit = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.exited = true;
        const e = new SemsearchError('INTERNAL_ERROR', `the inference worker stopped (exit code ${code})`);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        resolve();
      });
    });
    worker.on('error', (e) => log(`semsearch serve: inference worker error: ${e.stack ?? e.message}`));
    worker.on('message', (m: FromWorker) => {
      if (m.type !== 'done') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.results);
    });
  }

  /** Start a worker and wait until its index and model are loaded. */
  static start(init: WorkerInit, log: (line: string) => void): Promise<{ runner: WorkerRunner; summary: IndexSummary }> {
    const worker = new Worker(WORKER_URL, { workerData: init });
    const runner = new WorkerRunner(worker, log);
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve({ runner, summary: m.summary });
        } else if (m.type === 'failed') {
          worker.off('message', onMessage);
          void worker.terminate();
          reject(new SemsearchError(m.error.code as ErrorCode, m.error.message));
        }
      };
      worker.on('message', onMessage);
      void runner.exit.then(() => reject(new SemsearchError('INTERNAL_ERROR', 'the inference worker stopped while loading the index')));
    });
  }

  run(jobs: Job[]): Promise<JobResult[]> {
    if (this.exited) return Promise.reject(new SemsearchError('INTERNAL_ERROR', 'the inference worker has stopped'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'batch', id, jobs } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    // A worker stuck in native code would hold shutdown forever: give it a few seconds, then end it.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exit;
    clearTimeout(timer);
  }
}
