/**
 * IVF lists over a binary + int8 index (src/store/ivf.ts): recall on a real embedding workload, latency at full size
 * on simulated codes. A benchmark, never a test; it prints one JSON line per figure (and writes them to --json).
 *
 *   node --expose-gc --conditions=source --import tsx bench/ivf-scale.ts --recall mpnet-768-5k [--nlist 64] [--nprobe 1,2,4,8]
 *   node --expose-gc --conditions=source --import tsx bench/ivf-scale.ts --full 8841823 [--nlist 1024] [--nprobe 16,32,64]
 *
 * --recall NAME reads the workload bench/search-workload.ts built (~/.cache/semsearch/search-workload/NAME): its rows
 * become a binary index's shards (sign bits + int8 rescoring rows, as an index stores them), the lists are built by
 * buildIvfIndex, and each query's hits (the product's IVF candidates, then its int8 rescoring) are held against the
 * exact float32 top 10. The exact binary + int8 path (every row scanned) is measured beside it.
 * --full N writes the simulated codes of bench/search-scale.ts's full-scale section (same generator, seed 11: random
 * signs, int8 rows correlated with them; no cluster structure, so recall there means nothing and is not reported),
 * builds the lists and times single queries on 1 thread and on 2 workers. The shards are kept in
 * ~/.cache/semsearch/ivf-full-N for a rerun (--keep) or removed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exactSearch, rescoreBinary, signBits, type ExactSearchOptions, type ScoredRow } from '../src/store/exact-search.js';
import { buildIvfIndex, ivfCandidates, IvfSearcher } from '../src/store/ivf.js';
import { ParallelSearcher } from '../src/store/parallel-search.js';
import { readManifest, writeManifest, type IndexManifest, type ShardEntry } from '../src/store/manifest.js';
import { encodeShard, readShard, SHARD_DIR, writeShard, type ShardVectors } from '../src/store/shards.js';
import { Matrix } from '../src/tensor/matrix.js';
import { rangesOf } from '../src/tensor/quantize.js';
import { machineInfo } from './machine.js';
import { seededRandom } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const cacheRoot = process.env['SEMSEARCH_BENCH_CACHE'] ?? join(homedir(), '.cache', 'semsearch');
const K = 10;
const LAT_Q = Number(opt('latency-queries', '200'));
const results: Record<string, unknown>[] = [];
const t0 = performance.now();
const log = (s: string): void => console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${s}`);
const emit = (r: Record<string, unknown>): void => {
  results.push(r);
  console.log(JSON.stringify(r));
};
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function manifestOf(dim: number, shardSize: number, shards: ShardEntry[], ranges: { min: number[]; max: number[] }): IndexManifest {
  const now = new Date().toISOString();
  return {
    format: 'semsearch-index',
    version: 1,
    model: { ref: 'bench', onnxFile: 'onnx/model.onnx', modelType: 'bench', dimension: dim, similarityFnName: 'cosine', maxSeqLength: 256, fingerprint: 'bench' },
    precision: 'binary',
    dim,
    normalized: true,
    ranges,
    shardSize,
    count: shards.reduce((n, e) => n + e.rows, 0),
    shards,
    corpus: { path: 'bench', format: 'msmarco', consumed: 0, skipped: 0, lastId: null },
    complete: true,
    createdAt: now,
    updatedAt: now,
  };
}

function loadShards(dir: string, m: IndexManifest): ShardVectors[] {
  return m.shards.map((e) => readShard(dir, e, m.precision, m.dim, false));
}

/** One query through the product's IVF path: candidates of the probed lists, then the exact int8 rescoring. */
async function ivfQuery(searcher: IvfSearcher, q: Float32Array, shards: readonly ShardVectors[], o: ExactSearchOptions, nprobe: number): Promise<ScoredRow[]> {
  const kc = o.k * (o.rescoreMultiplier ?? 4);
  const bits = signBits(q, o.dim);
  if (PROBE === 'ip') {
    // Experiment (--probe ip): lists ranked by q·c alone instead of the nearest centroid.
    const { nlist, dim, centroids } = searcher.lists;
    const scored = Array.from({ length: nlist }, (_, l) => {
      let s = 0;
      for (let i = 0; i < dim; i++) s += (q[i] as number) * (centroids[l * dim + i] as number);
      return { l, s };
    }).sort((a, b) => b.s - a.s || a.l - b.l);
    return rescoreBinary(q, await searcher.scan(bits, scored.slice(0, nprobe).map((x) => x.l), kc, undefined), shards, o);
  }
  return rescoreBinary(q, await ivfCandidates(searcher, q, bits, nprobe, kc, undefined, [], shards), shards, o);
}
const PROBE = opt('probe', 'l2');

async function recall(name: string): Promise<void> {
  const dir = join(cacheRoot, 'search-workload', name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { dim: number; corpusRows: number; queryRows: number; gtK: number; model: string; normalized: boolean };
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  const f32 = (b: Buffer): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const corpus = f32(read('corpus.f32'));
  const queries = new Matrix(meta.queryRows, meta.dim, f32(read('queries.f32')));
  const g = read('gt.i32');
  const gt = new Int32Array(g.buffer.slice(g.byteOffset, g.byteOffset + g.length));
  const { dim } = meta;
  const rows = meta.corpusRows;
  const out = join(cacheRoot, `ivf-recall-${name}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, SHARD_DIR), { recursive: true });
  const all = new Matrix(rows, dim, corpus);
  const r = rangesOf(all);
  const shardRows = 4096;
  const entries: ShardEntry[] = [];
  for (let s = 0, n = 0; s < rows; s += shardRows, n++) {
    const part = new Matrix(Math.min(shardRows, rows - s), dim, corpus.subarray(s * dim, Math.min(rows, s + shardRows) * dim));
    entries.push(writeShard(out, n, 'binary', encodeShard(part, 'binary', r)));
  }
  writeManifest(out, manifestOf(dim, shardRows, entries, { min: Array.from(r.min), max: Array.from(r.max) }));
  const m = readManifest(out);
  const shards = loadShards(out, m);
  const sources = readFileSync(join(dir, 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { source: string }).source);
  const hitsOf = (hits: readonly ScoredRow[], qi: number): number => {
    const t = new Set(Array.from(gt.subarray(qi * meta.gtK, qi * meta.gtK + K)));
    return hits.slice(0, K).filter((h) => t.has(h.row)).length;
  };
  const recallOf = (found: (readonly ScoredRow[])[]): number => found.reduce((n, hits, qi) => n + hitsOf(hits, qi), 0) / (found.length * K);
  /** Recall@10 of the questions (DL19, DL20, dev, Cranfield, CACM) and of the held-apart passages used as queries. */
  const bySource = (found: (readonly ScoredRow[])[]): Record<string, number> => {
    const acc: Record<string, [number, number]> = {};
    found.forEach((hits, qi) => {
      const key = sources[qi] === 'msmarco-heldout-passage' ? 'passages' : 'questions';
      const a = (acc[key] ??= [0, 0]);
      a[0] += hitsOf(hits, qi);
      a[1] += K;
    });
    return Object.fromEntries(Object.entries(acc).map(([k, [h, n]]) => [k, Number((h / n).toFixed(4))]));
  };
  const mults = opt('rescore', '4,10,25').split(',').map(Number);
  const base = { workload: name, model: meta.model, dim, rows, queries: meta.queryRows, normalized: meta.normalized };
  for (const mult of mults) {
    const o: ExactSearchOptions = { k: K, precision: 'binary', dim, ranges: m.ranges as NonNullable<IndexManifest['ranges']>, rescoreMultiplier: mult };
    const found = exactSearch(queries, shards, o);
    emit({ ...base, method: 'exact binary + int8 rescoring', rescore: mult, recallAt10: recallOf(found), bySource: bySource(found) });
  }
  const nlists = opt('nlist', String(Math.round(Math.sqrt(rows)))).split(',').map(Number);
  for (const nlist of nlists) {
    const tb = performance.now();
    const entry = await buildIvfIndex(out, { nlist, threads: 2, iterations: Number(opt('iterations', '4')) });
    const buildSeconds = (performance.now() - tb) / 1000;
    const searcher = IvfSearcher.open(out, entry, dim, shards, true, 1);
    const sizes = Array.from({ length: nlist }, (_, l) => (searcher.lists.starts[l + 1] as number) - (searcher.lists.starts[l] as number));
    const probes = opt('nprobe', '1,2,4,8,16').split(',').map(Number).filter((p) => p <= nlist);
    try {
      for (const mult of mults) {
        const o: ExactSearchOptions = { k: K, precision: 'binary', dim, ranges: m.ranges as NonNullable<IndexManifest['ranges']>, rescoreMultiplier: mult };
        for (const nprobe of probes) {
          const found: ScoredRow[][] = [];
          let scanned = 0;
          for (let qi = 0; qi < queries.rows; qi++) {
            found.push(await ivfQuery(searcher, queries.row(qi), shards, o, nprobe));
            for (const l of searcher.probe(queries.row(qi), nprobe)) scanned += sizes[l] as number;
          }
          emit({
            ...base,
            method: 'IVF binary + int8 rescoring',
            probe: PROBE,
            iterations: entry.training.iterations,
            nlist,
            nprobe,
            probedShare: nprobe / nlist,
            // With --probe ip the lists scanned differ; this counts the nearest-centroid ones.
            rowsShare: Number((scanned / queries.rows / rows).toFixed(4)),
            rescore: mult,
            recallAt10: recallOf(found),
            bySource: bySource(found),
            buildSeconds,
            listRows: { min: Math.min(...sizes), median: pct(sizes, 50), max: Math.max(...sizes) },
          });
        }
      }
    } finally {
      await searcher.close();
    }
  }
  rmSync(out, { recursive: true, force: true });
}

async function full(n: number): Promise<void> {
  const dim = 768;
  const dir = join(cacheRoot, `ivf-full-${n}`);
  const shardRows = 262144;
  const rnd = seededRandom(11);
  const ranges = { min: new Array<number>(dim).fill(-0.25), max: new Array<number>(dim).fill(0.25) };
  let writeSeconds = 0;
  if (!existsSync(join(dir, 'manifest.json'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, SHARD_DIR), { recursive: true });
    const tw = performance.now();
    const entries: ShardEntry[] = [];
    // bench/search-scale.ts fullScale's generator, draw for draw.
    for (let s = 0, k = 0; s < n; s += shardRows, k++) {
      const rowsHere = Math.min(shardRows, n - s);
      const m = new Matrix(rowsHere, dim);
      for (let i = 0; i < m.data.length; i++) m.data[i] = (rnd() - 0.5) * 0.5;
      entries.push(writeShard(dir, k, 'binary', encodeShard(m, 'binary', { min: Float32Array.from(ranges.min), max: Float32Array.from(ranges.max) })));
      if (k % 8 === 0) log(`wrote ${s + rowsHere}/${n} rows`);
    }
    writeManifest(dir, manifestOf(dim, shardRows, entries, ranges));
    writeSeconds = (performance.now() - tw) / 1000;
  } else {
    // The queries below continue the same generator: skip the draws the shards took.
    for (let i = 0; i < n * dim; i++) rnd();
    log(`reusing the shards in ${dir}`);
  }
  const nlist = Number(opt('nlist', '1024'));
  let m = readManifest(dir);
  let buildSeconds: number | undefined;
  if (m.ivf === undefined || m.ivf.nlist !== nlist || args.includes('--rebuild')) {
    const tb = performance.now();
    let last = 0;
    await buildIvfIndex(dir, {
      nlist,
      threads: 2,
      onProgress: (phase, done, total) => {
        if (performance.now() - last > 20_000 || done === total) {
          last = performance.now();
          log(`ivf ${phase} ${done}/${total}`);
        }
      },
    });
    buildSeconds = (performance.now() - tb) / 1000;
    m = readManifest(dir);
  }
  gc();
  const entry = m.ivf as NonNullable<IndexManifest['ivf']>;
  const tl = performance.now();
  const shards = loadShards(dir, m);
  const loadSeconds = (performance.now() - tl) / 1000;
  const q = new Matrix(LAT_Q, dim);
  for (let i = 0; i < q.data.length; i++) q.data[i] = rnd() - 0.5;
  const probes = opt('nprobe', '16,32,64,128').split(',').map(Number);
  const mult = Number(opt('rescore', '10'));
  const o: ExactSearchOptions = { k: K, precision: 'binary', dim, ranges: m.ranges as NonNullable<IndexManifest['ranges']>, rescoreMultiplier: mult };
  // The exact binary path in the same run, as the baseline (1 thread, and 2 workers as search-scale.ts runs it).
  {
    const ms1: number[] = [];
    for (let i = 0; i < Math.min(50, LAT_Q); i++) {
      const t = performance.now();
      exactSearch(new Matrix(1, dim, q.row(i)), shards, o);
      ms1.push(performance.now() - t);
    }
    const pool = new ParallelSearcher(shards, 2);
    try {
      await pool.search(new Matrix(1, dim, q.row(0)), o);
      const ms2: number[] = [];
      for (let i = 0; i < LAT_Q; i++) {
        const t = performance.now();
        await pool.search(new Matrix(1, dim, q.row(i)), o);
        ms2.push(performance.now() - t);
      }
      emit({ section: `${n} x ${dim} simulated codes`, method: 'exact binary + int8 rescoring', rescore: mult, p50: pct(ms2, 50), p99: pct(ms2, 99), queries: LAT_Q, p50OneThread: pct(ms1, 50), p99OneThread: pct(ms1, 99), oneThreadQueries: ms1.length });
    } finally {
      await pool.close();
    }
  }
  for (const threads of [1, 2]) {
    const to = performance.now();
    const searcher = IvfSearcher.open(dir, entry, dim, shards, true, threads);
    const openSeconds = (performance.now() - to) / 1000;
    const sizes = Array.from({ length: nlist }, (_, l) => (searcher.lists.starts[l + 1] as number) - (searcher.lists.starts[l] as number));
    try {
      for (const nprobe of probes) {
        await ivfQuery(searcher, q.row(0), shards, o, nprobe);
        const ms: number[] = [];
        let scanned = 0;
        for (let i = 0; i < LAT_Q; i++) {
          const t = performance.now();
          await ivfQuery(searcher, q.row(i), shards, o, nprobe);
          ms.push(performance.now() - t);
          for (const l of searcher.probe(q.row(i), nprobe)) scanned += sizes[l] as number;
        }
        emit({
          section: `${n} x ${dim} simulated codes`,
          method: 'IVF binary + int8 rescoring',
          threads,
          nlist,
          nprobe,
          rescore: mult,
          p50: pct(ms, 50),
          p99: pct(ms, 99),
          mean: ms.reduce((a, b) => a + b, 0) / ms.length,
          queries: LAT_Q,
          meanRowsScanned: Math.round(scanned / LAT_Q),
          buildSeconds,
          openSeconds,
          loadSeconds,
          writeSeconds,
          listRows: { min: Math.min(...sizes), median: pct(sizes, 50), max: Math.max(...sizes) },
          ivfBytes: entry.bytes,
        });
      }
    } finally {
      await searcher.close();
    }
    gc();
  }
  if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

const machine = machineInfo();
log(`${machine.modelName}, ${machine.cores} cores`);
if (args.includes('--recall')) await recall(opt('recall', ''));
if (args.includes('--full')) await full(Number(opt('full', '8841823')));
const jsonOut = opt('json', '');
if (jsonOut !== '') writeFileSync(jsonOut, JSON.stringify({ machine: { model: machine.modelName, cores: machine.cores }, args, results }, null, 2) + '\n');
