import { Worker } from 'node:worker_threads';
import { SemsearchError, type ErrorCode } from '../errors.js';
import type { Batcher, BatchRunner } from './batcher.js';
import type { Job, JobResult, StageTimings } from './inference.js';
import type { IndexSummary } from './served.js';
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
  private closing = false;

  private constructor(worker: Worker, log: (line: string) => void, onStages: ((s: StageTimings) => void) | undefined) {
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
      onStages?.(m.stages);
      p?.resolve(m.results);
    });
  }

  /** Start a worker and wait until its index and model are loaded. */
  static start(init: WorkerInit, log: (line: string) => void, onStages?: (s: StageTimings) => void): Promise<{ runner: WorkerRunner; summary: IndexSummary }> {
    const worker = new Worker(WORKER_URL, { workerData: init });
    const runner = new WorkerRunner(worker, log, onStages);
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

  /** Resolves when the thread has stopped, asked to or not. */
  get stopped(): Promise<void> {
    return this.exit;
  }

  /** True once close() was called: the thread stops because it was asked to. */
  get closed(): boolean {
    return this.closing;
  }

  /** Stop the thread at once, whatever it is doing; batches in flight fail. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exit;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.exited) return;
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    // A worker stuck in native code would hold shutdown forever: give it a few seconds, then end it.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exit;
    clearTimeout(timer);
  }
}

/**
 * The workers of a server: started together, and a worker that stops without being asked (a crash in native
 * code, an out-of-memory) is replaced, so one failure costs the batch it held, not the server.
 */
export class WorkerPool {
  readonly runners: WorkerRunner[] = [];
  private closing = false;
  private readonly replacements = new Set<Promise<unknown>>();

  private constructor(
    private readonly init: WorkerInit,
    private readonly batcher: Batcher,
    private readonly log: (line: string) => void,
    private readonly onStages: ((s: StageTimings) => void) | undefined,
  ) {}

  /** Start `n` workers; resolves with the index summary once all are loaded, rejects if one cannot load. */
  static async start(init: WorkerInit, n: number, batcher: Batcher, log: (line: string) => void, onStages?: (s: StageTimings) => void): Promise<{ pool: WorkerPool; summary: IndexSummary }> {
    const pool = new WorkerPool(init, batcher, log, onStages);
    const started = Array.from({ length: n }, () => WorkerRunner.start(init, log, onStages));
    try {
      const all = await Promise.all(started);
      for (const { runner } of all) pool.adopt(runner);
      return { pool, summary: (all[0] as { summary: IndexSummary }).summary };
    } catch (e) {
      await Promise.allSettled(started.map((p) => p.then((a) => a.runner.close())));
      throw e;
    }
  }

  private adopt(runner: WorkerRunner): void {
    this.runners.push(runner);
    this.batcher.addRunner(runner);
    void runner.stopped.then(() => {
      if (this.closing || runner.closed) return;
      this.batcher.removeRunner(runner);
      this.runners.splice(this.runners.indexOf(runner), 1);
      this.log('semsearch serve: an inference worker stopped unexpectedly; starting a new one');
      const next = WorkerRunner.start(this.init, this.log, this.onStages).then(
        ({ runner: r }) => (this.closing ? r.close() : this.adopt(r)),
        (e: unknown) => this.log(`semsearch serve: the replacement worker failed to load: ${(e as Error)?.message ?? String(e)}`),
      );
      this.replacements.add(next);
      void next.finally(() => this.replacements.delete(next));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.replacements]);
    await Promise.all(this.runners.splice(0).map((r) => r.close()));
  }
}
