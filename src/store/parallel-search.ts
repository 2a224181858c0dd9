import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Matrix } from '../tensor/matrix.js';
import type { ExactSearchOptions, ScoredRow } from './exact-search.js';
import type { ShardVectors } from './shards.js';
import { TopK } from './top-k.js';

/**
 * A worker thread on a module of this folder: the .js one from dist, or the .ts one from sources (tests, tsx), whose
 * worker registers tsx's loader before importing it.
 */
export function startWorker(url: URL): Worker {
  return url.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
    : new Worker(url);
}

/**
 * Exact search spread over worker threads, one contiguous share of the shards each. Shard memory is shared
 * (SharedArrayBuffer), so starting the pool copies nothing; results merge with the same tie order as one thread.
 */
export class ParallelSearcher {
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly pending = new Map<number, { left: number; parts: ScoredRow[][][]; resolve: (v: ScoredRow[][][]) => void; reject: (e: unknown) => void }>();

  constructor(shards: readonly ShardVectors[], threads = availableParallelism()) {
    const n = Math.max(1, Math.min(threads, shards.length));
    const total = shards.reduce((s, x) => s + x.rows, 0);
    const url = new URL(import.meta.url.endsWith('.ts') ? './search-worker.ts' : './search-worker.js', import.meta.url);
    this.workers = [];
    let si = 0;
    let row = 0;
    for (let w = 0; w < n; w++) {
      const target = (total * (w + 1)) / n;
      const mine: ShardVectors[] = [];
      const offsets: number[] = [];
      while (si < shards.length && (w === n - 1 || row < target)) {
        const s = shards[si] as ShardVectors;
        mine.push(s);
        offsets.push(row);
        row += s.rows;
        si++;
      }
      const worker = startWorker(url);
      worker.unref();
      worker.postMessage({ type: 'init', shards: mine, offsets });
      worker.on('message', (m: { id: number; hits: ScoredRow[][] }) => this.receive(m));
      worker.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(worker);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  private receive(m: { id: number; hits: ScoredRow[][] }): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    p.parts.push(m.hits);
    if (--p.left === 0) {
      this.pending.delete(m.id);
      p.resolve(p.parts);
    }
  }

  async search(queries: Matrix, options: ExactSearchOptions): Promise<ScoredRow[][]> {
    const id = this.nextId++;
    const parts = await new Promise<ScoredRow[][][]>((resolve, reject) => {
      this.pending.set(id, { left: this.workers.length, parts: [], resolve, reject });
      for (const w of this.workers) w.postMessage({ type: 'search', id, queries: queries.data, rows: queries.rows, options });
    });
    const out: ScoredRow[][] = [];
    for (let q = 0; q < queries.rows; q++) {
      const top = new TopK(options.k);
      for (const part of parts) for (const h of part[q] ?? []) top.push(h.score, h.row);
      out.push(top.sorted());
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
