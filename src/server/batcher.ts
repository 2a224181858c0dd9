import { SemsearchError } from '../errors.js';
import { jobTexts, type Job, type JobResult } from './inference.js';

/** Something that answers a batch of jobs, one batch at a time: a worker thread, or a fake in tests. */
export interface BatchRunner {
  run(jobs: Job[]): Promise<JobResult[]>;
  close(): Promise<void>;
}

export interface BatcherOptions {
  /** false: every request is its own batch, sent as soon as a runner is free. */
  batching: boolean;
  /** Texts per batch; a request with more than this is still sent, alone. */
  maxBatch: number;
  /** How long the oldest waiting request may wait for others to join its batch. */
  maxWaitMs: number;
  /** The wait also ends once no request has arrived for this long (default 1 ms; at most maxWaitMs). */
  quietMs?: number;
  /** Requests waiting for a runner; one more is refused with SERVER_BUSY instead of growing memory. */
  maxQueue: number;
}

export const DEFAULT_BATCHING: BatcherOptions = { batching: true, maxBatch: 32, maxWaitMs: 5, maxQueue: 256 };

interface Pending {
  job: Job;
  texts: number;
  enqueued: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Dynamic batching: requests wait in a bounded queue; when a runner is free, requests are packed into one
 * batch up to `maxBatch` texts. A request waits at most `maxWaitMs` for company, less once arrivals pause for
 * `quietMs` (clients that send together arrive within a millisecond; waiting out the full bound after the
 * burst only adds latency), and never when the queue already fills a batch or the server is shutting down.
 * While every runner is busy, requests gather anyway: that is where the large batches come from under load.
 */
export class Batcher {
  readonly options: BatcherOptions;
  /** Called for every batch sent, for the metrics. */
  onBatch: ((requests: number, texts: number) => void) | undefined;
  /** Called for every request sent, with how long it waited in the queue (seconds), for the metrics. */
  onQueueWait: ((seconds: number) => void) | undefined;
  private readonly queue: Pending[] = [];
  private queuedTexts = 0;
  private lastArrival = 0;
  private readonly idle: BatchRunner[] = [];
  private readonly all: BatchRunner[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private failure: SemsearchError | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Jobs dropped from the queue because their client went away or their deadline passed. */
  dropped = 0;
  /** Called for every job dropped from the queue, with the error it was refused with, for the metrics. */
  onDrop: ((e: SemsearchError) => void) | undefined;

  constructor(options: BatcherOptions) {
    for (const [k, v] of Object.entries(options)) {
      const ms = k === 'maxWaitMs' || k === 'quietMs';
      if (k !== 'batching' && v !== undefined && (typeof v !== 'number' || !(v >= 0) || (!ms && !(Number.isInteger(v) && v >= 1)))) {
        throw new SemsearchError('INVALID_ARGUMENT', `batching option ${k} must be a ${ms ? 'non-negative number' : 'positive integer'}, got ${v}`, { field: k });
      }
    }
    this.options = options;
  }

  get depth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running;
  }

  get runners(): number {
    return this.all.length;
  }

  addRunner(r: BatchRunner): void {
    this.all.push(r);
    this.idle.push(r);
    this.pump();
  }

  /** A runner that stopped: no batch goes to it any more. */
  removeRunner(r: BatchRunner): void {
    for (const list of [this.all, this.idle]) {
      const i = list.indexOf(r);
      if (i >= 0) list.splice(i, 1);
    }
  }

  /** No runner will come (the model failed to load): refuse what waits and what arrives. */
  fail(e: SemsearchError): void {
    this.failure = e;
    for (const p of this.queue.splice(0)) p.reject(e);
    this.queuedTexts = 0;
    this.settle();
  }

  /**
   * Queue a job. With `signal`, a job whose client went away (or whose deadline passed) while it waited is dropped
   * from the queue, its promise rejecting with the signal's reason when that is a SemsearchError (else CLIENT_GONE),
   * instead of being computed for nobody. Once in a batch, the job's own cancel flag (job.cancel) stops it.
   */
  submit(job: Job, signal?: AbortSignal): Promise<JobResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const gone = (): SemsearchError =>
      signal?.reason instanceof SemsearchError ? signal.reason : new SemsearchError('CLIENT_GONE', 'the client closed the connection before its request ran');
    if (signal?.aborted === true) return Promise.reject(gone());
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new SemsearchError('SERVER_BUSY', `the server is busy: ${this.queue.length} requests are waiting, the most it queues; retry shortly`));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const texts = jobTexts(job);
      this.lastArrival = performance.now();
      const pending: Pending = { job, texts, enqueued: this.lastArrival, resolve, reject };
      this.queue.push(pending);
      this.queuedTexts += texts;
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(pending);
          if (i < 0) return; // already in a batch
          this.queue.splice(i, 1);
          this.queuedTexts -= texts;
          this.dropped++;
          const e = gone();
          this.onDrop?.(e);
          reject(e);
          this.settle();
        },
        { once: true },
      );
      this.pump();
    });
  }

  /** Send what waits without waiting for more (shutdown), and keep doing so. */
  flush(): void {
    this.flushing = true;
    this.pump();
  }

  /** Resolves when nothing waits and nothing runs. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.fail(new SemsearchError('SERVER_NOT_READY', 'the server is shutting down'));
    await Promise.all(this.all.splice(0).map((r) => r.close()));
    this.idle.length = 0;
  }

  private settle(): void {
    if (this.queue.length === 0 && this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let texts = 0;
    const max = this.options.batching ? this.options.maxBatch : 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (batch.length > 0 && texts + next.texts > max) break;
      batch.push(next);
      texts += next.texts;
      this.queue.shift();
    }
    this.queuedTexts -= texts;
    return batch;
  }

  private pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.idle.length > 0 && this.queue.length > 0) {
      if (this.options.batching && !this.flushing && this.queuedTexts < this.options.maxBatch) {
        const quiet = Math.min(this.options.quietMs ?? 1, this.options.maxWaitMs);
        const deadline = Math.min((this.queue[0] as Pending).enqueued + this.options.maxWaitMs, this.lastArrival + quiet);
        const wait = deadline - performance.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
          return;
        }
      }
      this.dispatch(this.idle.pop() as BatchRunner, this.take());
    }
  }

  private dispatch(runner: BatchRunner, batch: Pending[]): void {
    this.running++;
    this.onBatch?.(batch.length, batch.reduce((s, p) => s + p.texts, 0));
    if (this.onQueueWait !== undefined) {
      const now = performance.now();
      for (const p of batch) this.onQueueWait((now - p.enqueued) / 1000);
    }
    runner
      .run(batch.map((p) => p.job))
      .then(
        (results) => batch.forEach((p, i) => p.resolve(results[i] ?? { ok: false, error: { code: 'INTERNAL_ERROR', message: 'the worker returned no result for this request' } })),
        (e: unknown) => batch.forEach((p) => p.reject(e)),
      )
      .finally(() => {
        this.running--;
        if (this.all.includes(runner)) this.idle.push(runner);
        this.pump();
        this.settle();
      });
  }
}
