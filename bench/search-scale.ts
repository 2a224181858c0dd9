/**
 * Search at scale, side by side with FAISS and usearch's Python package on the same vectors and queries
 * (`npm run bench:search`; a benchmark, never a test). Writes docs/SEARCH-SCALE.md and a JSON of every figure.
 *
 *   npm run bench:search                                   real-embedding workload + peers
 *   npm run bench:search -- --scale 1000000                + 1M × 384 (the real rows, jittered): scans and an f16 graph
 *   npm run bench:search -- --full 8841823                 + 8.8M × 768 binary + int8 rescoring (simulated codes)
 *   options: --workload NAME (minilm-l6-384)  --latency-queries N (200)  --ef 16,32,64,128,256  --rescore 4,10,25
 *            --no-peers  --peer-methods LIST  --skip-real  --no-scale-hnsw
 *            --python PATH (~/venvs/ref/bin/python)  --out FILE (docs/SEARCH-SCALE.md)  --json FILE
 *
 * A workload made by search_peer.py --make-synthetic (meta.json model "synthetic") is labelled SYNTHETIC in every
 * heading. A peer that fails (no Python, no faiss, a crash) is named in the report, which keeps every semsearch
 * figure; the ratios to FAISS are drawn for whichever workload ran.
 *
 * The workload is built once by bench/search-workload.ts (real all-MiniLM-L6-v2 embeddings of the ../shared texts;
 * the format is in that file's header). Every semsearch figure comes from the product's own code: shards written
 * and loaded as an index holds them (kernel memory), exactSearch / ParallelSearcher, buildAnnIndex / AnnGraph with
 * exact rescoring. Memory bandwidth is measured in the same run, by one thread streaming the same shards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnnGraph, buildAnnIndex } from '../src/store/ann.js';
import { exactSearch, scoreRows, type ExactSearchOptions, type ScoredRow } from '../src/store/exact-search.js';
import { writeManifest, type AnnQuantization, type IndexManifest, type IndexPrecision, type ShardEntry } from '../src/store/manifest.js';
import { GemmSearcher } from '../src/store/gemm-search.js';
import { ParallelSearcher } from '../src/store/parallel-search.js';
import { encodeShard, readShard, SHARD_DIR, writeShard, type ShardVectors } from '../src/store/shards.js';
import { kernelsFor, SCRATCH_BYTES } from '../src/store/simd/vector-memory.js';
import { Matrix } from '../src/tensor/matrix.js';
import { rangesOf } from '../src/tensor/quantize.js';
import { machineInfo } from './machine.js';
import { seededRandom } from './stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const flag = (name: string): boolean => args.includes(`--${name}`);
const cacheRoot = process.env['SEMSEARCH_BENCH_CACHE'] ?? join(homedir(), '.cache', 'semsearch');
const WORKLOAD = join(cacheRoot, 'search-workload', opt('workload', 'minilm-l6-384'));
const LAT_Q = Number(opt('latency-queries', '200'));
const EFS = opt('ef', '16,32,64,128,256').split(',').map(Number);
const RESCORE = opt('rescore', '4,10,25').split(',').map(Number);
// usearch-exact is left out by default: its brute force holds queries × rows × 16 bytes and takes minutes here.
const PEER_METHODS = opt('peer-methods', 'faiss-flat,faiss-hnsw,faiss-binary,usearch-hnsw-f32,usearch-hnsw-f16,usearch-hnsw-i8,membw');
const SCALE_ROWS = Number(opt('scale', '0'));
const FULL_ROWS = Number(opt('full', '0'));
const PYTHON = opt('python', process.env['SEMSEARCH_PYTHON'] ?? join(homedir(), 'venvs', 'ref', 'bin', 'python'));
const OUT_MD = resolve(opt('out', join(repoRoot, 'docs', 'SEARCH-SCALE.md')));
const OUT_JSON = resolve(opt('json', join(repoRoot, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-search-scale.json`)));
const SHARD_ROWS = 65536;
const K = 10;

const log = (s: string): void => console.error(`[${(performance.now() / 1000).toFixed(0).padStart(5)}s] ${s}`);
const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

// ---------------------------------------------------------------------------------------------------------------
// Workload

interface Workload {
  dim: number;
  rows: number;
  corpus: Float32Array;
  queries: Matrix;
  gt: Int32Array;
  gtK: number;
  meta: Record<string, unknown>;
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function loadWorkload(dir: string): Workload {
  if (!existsSync(join(dir, 'meta.json'))) {
    throw new Error(`no search workload at ${dir}: build it with node --conditions=source --import tsx bench/search-workload.ts`);
  }
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown> & { dim: number; corpusRows: number; queryRows: number; gtK: number };
  const corpus = readF32(join(dir, 'corpus.f32'));
  const q = readF32(join(dir, 'queries.f32'));
  const g = readFileSync(join(dir, 'gt.i32'));
  const gt = new Int32Array(g.buffer.slice(g.byteOffset, g.byteOffset + g.length));
  if (corpus.length !== meta.corpusRows * meta.dim || q.length !== meta.queryRows * meta.dim || gt.length !== meta.queryRows * meta.gtK) {
    throw new Error(`${dir}: file sizes disagree with meta.json`);
  }
  return { dim: meta.dim, rows: meta.corpusRows, corpus, queries: new Matrix(meta.queryRows, meta.dim, q), gt, gtK: meta.gtK, meta };
}

/** A workload search_peer.py --make-synthetic made: random vectors, not embeddings of text. */
function isSynthetic(w: Workload): boolean {
  return w.meta['model'] === 'synthetic' || w.meta['synthetic'] !== undefined;
}

function recallAt10(found: readonly ScoredRow[][], truth: (qi: number) => ArrayLike<number>): number {
  let hit = 0;
  found.forEach((hits, qi) => {
    const t = new Set(Array.from(truth(qi)).slice(0, K));
    for (const h of hits.slice(0, K)) if (t.has(h.row)) hit++;
  });
  return hit / (found.length * K);
}

// ---------------------------------------------------------------------------------------------------------------
// An index folder holding given vectors, written and loaded by the product's own shard code

interface Built {
  dir: string;
  shards: ShardVectors[];
  manifest: IndexManifest;
  loadSeconds: number;
  bytes: number;
}

/** A complete index's manifest over shards the bench wrote itself (no model: queries come as embeddings). */
function benchManifest(dim: number, precision: IndexPrecision, shardSize: number, shards: ShardEntry[], ranges: IndexManifest['ranges']): IndexManifest {
  const count = shards.reduce((n, e) => n + e.rows, 0);
  const now = new Date().toISOString();
  return {
    format: 'semsearch-index',
    version: 1,
    model: { ref: 'bench', onnxFile: 'onnx/model.onnx', modelType: 'bert', dimension: dim, similarityFnName: 'cosine', maxSeqLength: 256, fingerprint: 'bench' },
    precision,
    dim,
    normalized: true,
    ...(ranges !== undefined ? { ranges } : {}),
    shardSize,
    count,
    shards,
    corpus: { path: 'bench', format: 'msmarco', consumed: count, skipped: 0, lastId: null },
    complete: true,
    createdAt: now,
    updatedAt: now,
  };
}

function buildFolder(root: string, name: string, corpus: Float32Array, dim: number, precision: IndexPrecision): Built {
  const dir = join(root, name);
  mkdirSync(join(dir, SHARD_DIR), { recursive: true });
  const rows = corpus.length / dim;
  const first = new Matrix(Math.min(rows, SHARD_ROWS), dim, corpus.subarray(0, Math.min(rows, SHARD_ROWS) * dim));
  const r = precision === 'int8' || precision === 'binary' ? rangesOf(first) : undefined;
  const entries = [];
  for (let s = 0, n = 0; s < rows; s += SHARD_ROWS, n++) {
    const part = new Matrix(Math.min(SHARD_ROWS, rows - s), dim, corpus.subarray(s * dim, Math.min(rows, s + SHARD_ROWS) * dim));
    entries.push(writeShard(dir, n, precision, encodeShard(part, precision, r)));
  }
  const manifest = benchManifest(dim, precision, SHARD_ROWS, entries, r !== undefined ? { min: Array.from(r.min), max: Array.from(r.max) } : undefined);
  writeManifest(dir, manifest);
  return { dir, manifest, ...load(dir, manifest) };
}

function load(dir: string, manifest: IndexManifest, verify = true): { shards: ShardVectors[]; loadSeconds: number; bytes: number } {
  const t = performance.now();
  const shards = manifest.shards.map((e) => readShard(dir, e, manifest.precision, manifest.dim, verify));
  const loadSeconds = (performance.now() - t) / 1000;
  const bytes = shards.reduce((n, s) => n + s.data.byteLength + (s.rescore?.byteLength ?? 0), 0);
  return { shards, loadSeconds, bytes };
}

function optionsOf(b: Built, k = K): ExactSearchOptions {
  return { k, precision: b.manifest.precision, dim: b.manifest.dim, ...(b.manifest.ranges !== undefined ? { ranges: b.manifest.ranges } : {}) };
}

/** GB/s of one thread reading every shard's rows once with SIMD loads (best of 5): the floor a scan can reach. */
function bandwidth(shards: readonly ShardVectors[]): { gbPerSecond: number; seconds: number; bytes: number } {
  let best = Infinity;
  let bytes = 0;
  for (let rep = 0; rep < 5; rep++) {
    bytes = 0;
    const t = performance.now();
    for (const s of shards) {
      const k = kernelsFor(s.memory as NonNullable<ShardVectors['memory']>);
      const n = Math.floor(s.data.byteLength / 64) * 64;
      k?.stream_sum(SCRATCH_BYTES, n);
      bytes += n;
    }
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { gbPerSecond: bytes / best / 1e9, seconds: best, bytes };
}

interface Timing {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

function timeEach(n: number, one: (i: number) => void): Timing {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    one(i);
    ms.push(performance.now() - t);
  }
  return { p50: pct(ms, 50), p99: pct(ms, 99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, n };
}

async function timeEachAsync(n: number, one: (i: number) => Promise<void>): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await one(i);
    ms.push(performance.now() - t);
  }
  return { p50: pct(ms, 50), p99: pct(ms, 99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, n };
}

const queryAt = (q: Matrix, i: number): Matrix => new Matrix(1, q.dim, q.data.slice(i * q.dim, (i + 1) * q.dim));

// ---------------------------------------------------------------------------------------------------------------
// Measurements

interface Row {
  section: string;
  method: string;
  setting?: string;
  recall?: number;
  identical?: string;
  p50?: number;
  p99?: number;
  qps1?: number;
  qps2?: number;
  buildSeconds?: number;
  loadSeconds?: number;
  bytes?: number;
  note?: string;
}
const rows: Row[] = [];
const context: Record<string, unknown> = {};

function add(r: Row): void {
  rows.push(r);
  log(
    `${r.section} | ${r.method}${r.setting !== undefined ? ` ${r.setting}` : ''} | recall ${r.recall?.toFixed(4) ?? '-'} | p50 ${r.p50?.toFixed(2) ?? '-'} ms p99 ${r.p99?.toFixed(2) ?? '-'} ms | qps ${r.qps1?.toFixed(0) ?? '-'} / ${r.qps2?.toFixed(0) ?? '-'}` +
      (r.buildSeconds !== undefined ? ` | build ${r.buildSeconds.toFixed(1)} s` : '') +
      (r.loadSeconds !== undefined ? ` | load ${r.loadSeconds.toFixed(2)} s` : '') +
      (r.note !== undefined ? ` | ${r.note}` : ''),
  );
}

async function exactRows(
  section: string,
  b: Built,
  w: { queries: Matrix; truth: (qi: number) => ArrayLike<number> },
  label: string,
  latencyQueries: number,
  withParallel: boolean,
  rescoreMultiplier?: number,
): Promise<void> {
  const o = { ...optionsOf(b), ...(rescoreMultiplier !== undefined ? { rescoreMultiplier } : {}) };
  const nq = w.queries.rows;
  exactSearch(queryAt(w.queries, 0), b.shards, o);
  const lat = timeEach(Math.min(latencyQueries, nq), (i) => exactSearch(queryAt(w.queries, i), b.shards, o));
  let t = performance.now();
  const all = exactSearch(w.queries, b.shards, o);
  const qps1 = nq / ((performance.now() - t) / 1000);
  let qps2: number | undefined;
  let lat2: Timing | undefined;
  if (withParallel) {
    const pool = new ParallelSearcher(b.shards, 2);
    try {
      await pool.search(queryAt(w.queries, 0), o);
      lat2 = await timeEachAsync(Math.min(latencyQueries, nq), async (i) => void (await pool.search(queryAt(w.queries, i), o)));
      t = performance.now();
      await pool.search(w.queries, o);
      qps2 = nq / ((performance.now() - t) / 1000);
    } finally {
      await pool.close();
    }
  }
  const recall = recallAt10(all, w.truth);
  add({
    section,
    method: `semsearch exact ${label}`,
    recall,
    p50: lat.p50,
    p99: lat.p99,
    qps1,
    ...(qps2 !== undefined ? { qps2 } : {}),
    loadSeconds: b.loadSeconds,
    bytes: b.bytes,
    ...(lat2 !== undefined ? { note: `2 workers: p50 ${lat2.p50.toFixed(2)} ms, p99 ${lat2.p99.toFixed(2)} ms` } : {}),
  });
  if (withParallel && b.manifest.precision !== 'binary') await gemmRow(section, b, w.queries, all, o, recall);
}

/** The batch path (gemm-search.ts: Gemm + TopK in ONNX Runtime, candidates proven and rescored): all queries in one call. */
async function gemmRow(section: string, b: Built, queries: Matrix, scan: ScoredRow[][], o: ExactSearchOptions, recall: number): Promise<void> {
  const qps: Record<number, number> = {};
  let same = true;
  for (const threads of [1, 2]) {
    const g = await GemmSearcher.create(b.manifest.dim, { threads });
    try {
      await g.search(queryAt(queries, 0), b.shards, o);
      const t = performance.now();
      const found = await g.search(queries, b.shards, o);
      qps[threads] = queries.rows / ((performance.now() - t) / 1000);
      same &&= JSON.stringify(found) === JSON.stringify(scan);
    } finally {
      await g.close();
    }
  }
  add({ section, method: `semsearch exact ${b.manifest.precision} batch (Gemm)`, recall, qps1: qps[1], qps2: qps[2], note: `all queries in one call; hits ${same ? 'equal' : 'DIFFER from'} the scan's; QPS only (one query is the scan)` });
}

async function realWorkload(w: Workload, root: string): Promise<void> {
  const section = `${isSynthetic(w) ? 'SYNTHETIC' : 'real'} ${w.rows.toLocaleString('en')} × ${w.dim}`;
  context['workloadSection'] = section;
  const truth = (qi: number): Int32Array => w.gt.subarray(qi * w.gtK, (qi + 1) * w.gtK);
  const f32 = buildFolder(root, 'real-f32', w.corpus, w.dim, 'float32');
  const bw = bandwidth(f32.shards);
  context['realBandwidth'] = bw;
  log(`${section}: memory stream (1 thread) ${bw.gbPerSecond.toFixed(1)} GB/s, ${(bw.seconds * 1000).toFixed(2)} ms for ${gib(bw.bytes)}`);

  // The exact path must give the ground truth itself (both are float32 exact top-k with ties by row).
  const o = optionsOf(f32, w.gtK);
  const sample = Math.min(50, w.queries.rows);
  const check = exactSearch(new Matrix(sample, w.dim, w.queries.data.subarray(0, sample * w.dim)), f32.shards, o);
  const same = check.filter((hits, qi) => hits.map((h) => h.row).join() === Array.from(truth(qi)).join()).length;
  add({ section, method: 'semsearch exact float32 vs ground truth (top-100 rows)', identical: `${same}/${sample}` });

  const js = f32.shards.map((s) => ({ rows: s.rows, data: s.data }));
  const jsLat = timeEach(Math.min(20, w.queries.rows), (i) => exactSearch(queryAt(w.queries, i), js, optionsOf(f32)));
  add({ section, method: 'semsearch exact float32, JS scan (before)', p50: jsLat.p50, p99: jsLat.p99, qps1: 1000 / jsLat.mean, note: `${jsLat.n} queries` });
  await exactRows(section, f32, { queries: w.queries, truth }, 'float32 (SIMD)', LAT_Q, true);
  for (const p of ['float16', 'int8', 'binary'] as const) {
    const b = buildFolder(root, `real-${p}`, w.corpus, w.dim, p);
    if (p !== 'binary') await exactRows(section, b, { queries: w.queries, truth }, `${p} (SIMD)`, LAT_Q, false);
    // 4 is the sentence-transformers default; more candidates buy recall at the cost of int8 rows rescored.
    else for (const mult of RESCORE) await exactRows(section, b, { queries: w.queries, truth }, `binary + int8 rescoring (×${mult})`, LAT_Q, false, mult);
    rmSync(b.dir, { recursive: true, force: true });
  }

  for (const quantization of ['f16', 'i8', 'f32'] as AnnQuantization[]) {
    const t = performance.now();
    const entry = await buildAnnIndex(f32.dir, { quantization, threads: 2 });
    const buildSeconds = (performance.now() - t) / 1000;
    const t2 = performance.now();
    const graph = await AnnGraph.open(f32.dir, entry, w.dim, false);
    const openSeconds = (performance.now() - t2) / 1000;
    for (const ef of EFS) {
      const search = (q: Matrix, threads: number): ScoredRow[][] =>
        graph.search(q.data, w.dim, K, ef, threads).map((hits, qi) => scoreRows(q.row(qi), hits.map((h) => h.row), f32.shards, optionsOf(f32)).slice(0, K));
      const lat = timeEach(Math.min(LAT_Q, w.queries.rows), (i) => search(queryAt(w.queries, i), 1));
      let tt = performance.now();
      const all = search(w.queries, 1);
      const qps1 = w.queries.rows / ((performance.now() - tt) / 1000);
      tt = performance.now();
      search(w.queries, 2);
      const qps2 = w.queries.rows / ((performance.now() - tt) / 1000);
      add({ section, method: `semsearch HNSW ${quantization}`, setting: `ef ${ef}`, recall: recallAt10(all, truth), p50: lat.p50, p99: lat.p99, qps1, qps2, buildSeconds, loadSeconds: openSeconds, bytes: entry.bytes, note: 'M 16, ef_construction 128, 2 build threads; max(k, ef) candidates rescored exactly' });
    }
  }
  rmSync(f32.dir, { recursive: true, force: true });
}

/** Rows near the real ones (a real row plus Gaussian noise, normalised): the real workload's geometry at a larger size. */
function jittered(w: Workload, n: number, noise: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n * w.dim);
  for (let r = 0; r < n; r++) {
    const src = r < w.rows ? r : Math.floor(rnd() * w.rows);
    let n2 = 0;
    for (let i = 0; i < w.dim; i++) {
      const g = r < w.rows ? 0 : Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
      const v = (w.corpus[src * w.dim + i] as number) + (noise / Math.sqrt(w.dim)) * g;
      out[r * w.dim + i] = v;
      n2 += v * v;
    }
    const inv = 1 / Math.sqrt(n2);
    for (let i = 0; i < w.dim; i++) out[r * w.dim + i] = (out[r * w.dim + i] as number) * inv;
  }
  return out;
}

async function scaleWorkload(w: Workload, root: string, n: number): Promise<void> {
  const section = `${n.toLocaleString('en')} × ${w.dim} (${isSynthetic(w) ? 'SYNTHETIC' : 'real'} rows + jittered copies)`;
  const corpus = jittered(w, n, 0.35, 7);
  const nq = Math.min(LAT_Q, w.queries.rows);
  const queries = new Matrix(nq, w.dim, w.queries.data.slice(0, nq * w.dim));
  const f32 = buildFolder(root, 'scale-f32', corpus, w.dim, 'float32');
  const bw = bandwidth(f32.shards);
  context['scaleBandwidth'] = bw;
  log(`${section}: memory stream (1 thread) ${bw.gbPerSecond.toFixed(1)} GB/s, ${(bw.seconds * 1000).toFixed(1)} ms for ${gib(bw.bytes)}`);
  const exact = exactSearch(queries, f32.shards, optionsOf(f32, 100));
  const truth = (qi: number): number[] => (exact[qi] ?? []).map((h) => h.row);
  await exactRows(section, f32, { queries, truth }, 'float32 (SIMD)', nq, true);
  const one = rows[rows.length - 1] as Row;
  one.note = `${one.note ?? ''}; one 1-thread scan = ${((one.p50 ?? 0) / (bw.seconds * 1000)).toFixed(2)}× the time to stream the matrix once`;
  const bin = buildFolder(root, 'scale-binary', corpus, w.dim, 'binary');
  const bbw = bandwidth(bin.shards);
  const mult = RESCORE[RESCORE.length - 1] as number;
  await exactRows(section, bin, { queries, truth }, `binary + int8 rescoring (×${mult})`, nq, true, mult);
  const last = rows[rows.length - 1] as Row;
  last.note = `${last.note ?? ''}; sign bits stream in ${(bbw.seconds * 1000).toFixed(2)} ms (${bbw.gbPerSecond.toFixed(1)} GB/s)`;
  rmSync(bin.dir, { recursive: true, force: true });
  for (const quantization of flag('no-scale-hnsw') ? [] : (['f16', 'i8'] as const)) {
    const t = performance.now();
    let lastLog = 0;
    const entry = await buildAnnIndex(f32.dir, {
      quantization,
      threads: 2,
      onProgress: (done, total) => {
        if (performance.now() - lastLog > 30000) {
          lastLog = performance.now();
          log(`HNSW ${quantization} build ${done}/${total}`);
        }
      },
    });
    const buildSeconds = (performance.now() - t) / 1000;
    const t2 = performance.now();
    const graph = await AnnGraph.open(f32.dir, entry, w.dim, false);
    const openSeconds = (performance.now() - t2) / 1000;
    const t3 = performance.now();
    await AnnGraph.open(f32.dir, entry, w.dim, true);
    const verifiedSeconds = (performance.now() - t3) / 1000;
    for (const ef of EFS) {
      const search = (q: Matrix): ScoredRow[][] => graph.search(q.data, w.dim, K, ef, 1).map((hits, qi) => scoreRows(q.row(qi), hits.map((h) => h.row), f32.shards, optionsOf(f32)).slice(0, K));
      const lat = timeEach(nq, (i) => search(queryAt(queries, i)));
      add({
        section,
        method: `semsearch HNSW ${quantization}`,
        setting: `ef ${ef}`,
        recall: recallAt10(search(queries), truth),
        p50: lat.p50,
        p99: lat.p99,
        qps1: 1000 / lat.mean,
        buildSeconds,
        loadSeconds: openSeconds,
        bytes: entry.bytes,
        note: `2 build threads; opened memory-mapped in ${openSeconds.toFixed(2)} s, ${verifiedSeconds.toFixed(2)} s with its sha256 checked; QPS = 1 / mean latency`,
      });
    }
  }
  rmSync(f32.dir, { recursive: true, force: true });
}

/**
 * The 8.8M × 768 recipe at full size: sign bits and int8 rescoring rows written as index shards, loaded, scanned on
 * two workers, rescored. The codes are simulated (random signs; int8 rows correlated with them), as no 8.8M
 * embeddings exist on this machine: latency, memory and load time hold for any codes; recall is measured on the
 * real workload above.
 */
async function fullScale(root: string, n: number): Promise<void> {
  const dim = 768;
  const section = `${n.toLocaleString('en')} × ${dim} binary + int8 rescoring (simulated codes)`;
  const dir = join(root, 'full');
  mkdirSync(join(dir, SHARD_DIR), { recursive: true });
  const rnd = seededRandom(11);
  const shardRows = 262144;
  const t0 = performance.now();
  const entries = [];
  const ranges = { min: new Array<number>(dim).fill(-0.25), max: new Array<number>(dim).fill(0.25) };
  for (let s = 0, k = 0; s < n; s += shardRows, k++) {
    const rowsHere = Math.min(shardRows, n - s);
    const m = new Matrix(rowsHere, dim);
    for (let i = 0; i < m.data.length; i++) m.data[i] = (rnd() - 0.5) * 0.5;
    entries.push(writeShard(dir, k, 'binary', encodeShard(m, 'binary', { min: Float32Array.from(ranges.min), max: Float32Array.from(ranges.max) })));
    if (k % 8 === 0) log(`full scale: wrote ${s + rowsHere}/${n} rows`);
  }
  const writeSeconds = (performance.now() - t0) / 1000;
  const manifest = benchManifest(dim, 'binary', shardRows, entries, ranges);
  writeManifest(dir, manifest);
  // Load once with the size check alone (openIndex's verify: false), drop it, then once with every sha256 checked.
  const quick = load(dir, manifest, false);
  quick.shards.length = 0;
  (globalThis as { gc?: () => void }).gc?.();
  const loaded = load(dir, manifest);
  // The whole process after the second load (the first may not be collected yet): an upper bound on what search needs.
  const rss = process.memoryUsage().rss;
  const bw = bandwidth(loaded.shards);
  log(`${section}: written in ${writeSeconds.toFixed(0)} s; loaded in ${quick.loadSeconds.toFixed(1)} s (size check), ${loaded.loadSeconds.toFixed(1)} s (sha256 verified); sign bits stream in ${(bw.seconds * 1000).toFixed(1)} ms (1 thread)`);
  const q = new Matrix(LAT_Q, dim);
  for (let i = 0; i < q.data.length; i++) q.data[i] = rnd() - 0.5;
  const b: Built = { dir, shards: loaded.shards, manifest, loadSeconds: loaded.loadSeconds, bytes: loaded.bytes };
  const mult = RESCORE[RESCORE.length - 1] as number;
  const o = { ...optionsOf(b), rescoreMultiplier: mult };
  const lat1 = timeEach(Math.min(50, LAT_Q), (i) => exactSearch(queryAt(q, i), b.shards, o));
  const pool = new ParallelSearcher(b.shards, 2);
  try {
    await pool.search(queryAt(q, 0), o);
    const lat2 = await timeEachAsync(LAT_Q, async (i) => void (await pool.search(queryAt(q, i), o)));
    add({
      section,
      method: `semsearch binary + int8 rescoring (×${mult})`,
      p50: lat2.p50,
      p99: lat2.p99,
      qps2: 1000 / lat2.mean,
      qps1: 1000 / lat1.mean,
      loadSeconds: loaded.loadSeconds,
      bytes: loaded.bytes,
      note: `p50/p99 on 2 workers over ${lat2.n} queries; 1 thread p50 ${lat1.p50.toFixed(1)} ms; sign bits stream once in ${(bw.seconds * 1000).toFixed(1)} ms on 1 thread; process RSS ${gib(rss)} after the loads; load ${loaded.loadSeconds.toFixed(1)} s with sha256, ${quick.loadSeconds.toFixed(1)} s with the size check alone (verify: false); shards written in ${writeSeconds.toFixed(0)} s`,
    });
  } finally {
    await pool.close();
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Peers

interface PeerResult {
  method: string;
  params: Record<string, unknown>;
  recall_at_10?: number;
  build_seconds?: number;
  memory_bytes?: number;
  load_seconds?: number;
  view_seconds?: number;
  qps?: Record<string, number>;
  p50_ms?: number;
  p99_ms?: number;
  gb_per_s?: number;
}

type Peers = { results: PeerResult[]; versions: Record<string, unknown> } | { failed: string } | undefined;

/** The peers' figures, or why there are none (a failure is reported, never fatal: semsearch's rows stand alone). */
function runPeers(): Peers {
  if (flag('no-peers')) return undefined;
  if (!existsSync(PYTHON)) {
    const failed = `no Python at ${PYTHON} (install: tools/reference/README.md, requirements-search.txt)`;
    log(`peers not run: ${failed}`);
    return { failed };
  }
  const out = join(tmpdir(), `semsearch-peer-${process.pid}.json`);
  log('peers: faiss and usearch (Python) on the same workload ...');
  const r = spawnSync(
    PYTHON,
    [join(repoRoot, 'bench', 'peers', 'search_peer.py'), '--workload', WORKLOAD, '--methods', PEER_METHODS, '--threads', '1,2', '--k', String(K), '--ef', EFS.join(','), '--latency-queries', String(LAT_Q), '--out', out],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, HF_HUB_OFFLINE: '1' } },
  );
  if (r.status !== 0 || !existsSync(out)) {
    const failed = `${PYTHON} bench/peers/search_peer.py ${r.error !== undefined ? `did not start (${r.error.message})` : `exited with ${r.status ?? r.signal}`} (its stderr is above in the log)`;
    log(`peer run failed: ${failed}; report written without peers`);
    return { failed };
  }
  try {
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { results: PeerResult[]; versions: Record<string, unknown> };
    if (!Array.isArray(doc.results)) throw new Error('no results list');
    return doc;
  } catch (e) {
    return { failed: `the peer's output ${out} is not a results file: ${(e as Error).message}` };
  } finally {
    rmSync(out, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);

function report(w: Workload, peersIn: Peers): string {
  const m = machineInfo();
  const lines: string[] = [];
  lines.push('# Search at scale: measured figures', '');
  lines.push(
    'Written by `npm run bench:search` (bench/search-scale.ts); every figure below comes from one run on one machine.',
    'semsearch figures use the product code (index shards loaded into kernel memory, `exactSearch`, `ParallelSearcher`,',
    '`buildAnnIndex` / `AnnGraph` with exact rescoring); peers run on the same vectors, queries and ground truth.',
    '',
  );
  lines.push(`- Machine: ${m.modelName}, ${m.cores} cores, ${m.memoryGiB.toFixed(1)} GiB, ${m.isa ?? (m.avx512 ? 'AVX-512' : 'AVX2')}; run ${new Date().toISOString()}.`);
  if (isSynthetic(w)) {
    lines.push(
      `- Workload: SYNTHETIC — ${w.rows.toLocaleString('en')} random unit vectors (${w.dim} dims) around random centres, ${w.queries.rows.toLocaleString('en')} queries near rows (search_peer.py --make-synthetic, ${JSON.stringify(w.meta['synthetic'] ?? {})}), float32 exact top-${w.gtK} ground truth. Not embeddings of text: recall and graph figures here say nothing about a real corpus.`,
    );
  } else {
    lines.push(
      `- Workload: ${w.rows.toLocaleString('en')} real all-MiniLM-L6-v2 embeddings (${w.dim} dims) of the ../shared texts, ${w.queries.rows.toLocaleString('en')} queries, float32 exact top-${w.gtK} ground truth (bench/search-workload.ts).`,
    );
  }
  const peers = peersIn !== undefined && 'failed' in peersIn ? undefined : peersIn;
  if (peersIn !== undefined && 'failed' in peersIn) lines.push(`- Peers (FAISS, usearch): FAILED — ${peersIn.failed}. No peer rows or ratios below; the semsearch figures stand.`);
  else if (peersIn === undefined) lines.push('- Peers (FAISS, usearch): not run (--no-peers).');
  const bw = context['realBandwidth'] as { gbPerSecond: number; seconds: number } | undefined;
  if (bw !== undefined) lines.push(`- Memory bandwidth, one thread streaming the float32 shards: ${bw.gbPerSecond.toFixed(1)} GB/s (${(bw.seconds * 1000).toFixed(2)} ms per pass).`);
  const sbw = context['scaleBandwidth'] as { gbPerSecond: number; seconds: number } | undefined;
  if (sbw !== undefined) lines.push(`- At the 1M scale: ${sbw.gbPerSecond.toFixed(1)} GB/s (${(sbw.seconds * 1000).toFixed(1)} ms per pass over the float32 matrix).`);
  lines.push('- Latency: one query at a time on one thread (p50 / p99 ms). QPS: all queries in one call, 1 and 2 threads.', '');
  for (const section of [...new Set(rows.map((r) => r.section))]) {
    lines.push(`## ${section}`, '', '| method | setting | recall@10 | p50 ms | p99 ms | QPS 1 thr | QPS 2 thr | build s | load s | bytes | notes |', '|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows.filter((x) => x.section === section)) {
      lines.push(
        `| ${r.method} | ${r.setting ?? ''} | ${r.identical ?? f(r.recall, 4)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.qps1, 0)} | ${f(r.qps2, 0)} | ${f(r.buildSeconds, 1)} | ${f(r.loadSeconds, 2)} | ${r.bytes !== undefined ? gib(r.bytes) : ''} | ${r.note ?? ''} |`,
      );
    }
    lines.push('');
  }
  if (peers !== undefined) {
    lines.push(`## Peers on the ${isSynthetic(w) ? 'SYNTHETIC' : 'real'} workload (Python: faiss-cpu, usearch)`, '', `Versions: ${JSON.stringify(peers.versions)}`, '');
    lines.push('| method | setting | recall@10 | p50 ms | p99 ms | QPS 1 thr | QPS 2 thr | build s | load s | view s | bytes |', '|---|---|---|---|---|---|---|---|---|---|---|');
    for (const p of peers.results) {
      if (p.method === 'membw') {
        lines.push(`| numpy sum (memory bandwidth) | | | | | | | | | | ${f(p.gb_per_s, 1)} GB/s |`);
        continue;
      }
      const setting = p.params['ef'] !== undefined ? `ef ${String(p.params['ef'])}` : p.params['candidates'] !== undefined ? `${String(p.params['candidates'])} candidates` : '';
      lines.push(
        `| ${p.method} | ${setting} | ${f(p.recall_at_10, 4)} | ${f(p.p50_ms)} | ${f(p.p99_ms)} | ${f(p.qps?.['1'], 0)} | ${f(p.qps?.['2'], 0)} | ${f(p.build_seconds, 1)} | ${f(p.load_seconds, 2)} | ${f(p.view_seconds, 3)} | ${p.memory_bytes !== undefined ? gib(p.memory_bytes) : ''} |`,
      );
    }
    lines.push('', '## semsearch as a ratio to FAISS (same run)', '');
    lines.push('| semsearch | FAISS | recall@10 (s / F) | p50 latency (s / F, lower is better) | QPS 1 thr (s / F) | QPS 2 thr (s / F) | build (s / F) |', '|---|---|---|---|---|---|---|');
    // The workload's own section, real or synthetic: the peers ran on it.
    const real = rows.filter((r) => r.section === context['workloadSection']);
    const pair = (mine: Row | undefined, theirs: PeerResult | undefined): void => {
      if (mine === undefined || theirs === undefined) return;
      lines.push(
        `| ${mine.method} ${mine.setting ?? ''} | ${theirs.method} ${theirs.params['ef'] !== undefined ? `ef ${String(theirs.params['ef'])}` : ''} | ${f(mine.recall, 4)} / ${f(theirs.recall_at_10, 4)} | ${ratio(mine.p50, theirs.p50_ms)} | ${ratio(mine.qps1, theirs.qps?.['1'])} | ${ratio(mine.qps2, theirs.qps?.['2'])} | ${ratio(mine.buildSeconds, theirs.build_seconds)} |`,
      );
    };
    pair(real.find((r) => r.method === 'semsearch exact float32 (SIMD)'), peers.results.find((p) => p.method === 'faiss-flat'));
    pair(real.find((r) => r.method === 'semsearch exact float32 batch (Gemm)'), peers.results.find((p) => p.method === 'faiss-flat'));
    pair(real.find((r) => r.method === 'semsearch exact binary + int8 rescoring (×4)'), peers.results.find((p) => p.method === 'faiss-binary'));
    for (const ef of EFS) {
      pair(real.find((r) => r.method === 'semsearch HNSW f16' && r.setting === `ef ${ef}`), peers.results.find((p) => p.method === 'faiss-hnsw' && p.params['ef'] === ef));
    }
    lines.push('');
  }
  lines.push('Rebuild the workload: `node --conditions=source --import tsx bench/search-workload.ts` (needs the real all-MiniLM-L6-v2 export, tools/reference/export_real.py).');
  lines.push('Peers: `~/venvs/ref/bin/pip install -r tools/reference/requirements-search.txt`.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

const w = loadWorkload(WORKLOAD);
log(`workload ${WORKLOAD}: ${w.rows} × ${w.dim}, ${w.queries.rows} queries`);
const root = mkdtempSync(join(opt('tmp', tmpdir()), 'semsearch-search-scale-'));
let peers: Peers;
// The report is rewritten after every section, so a long run that dies keeps what it measured.
const save = (): void => {
  mkdirSync(dirname(OUT_JSON), { recursive: true });
  writeFileSync(OUT_JSON, JSON.stringify({ machine: machineInfo(), workload: w.meta, context, rows, peers }, null, 2) + '\n');
  writeFileSync(OUT_MD, report(w, peers));
  log(`wrote ${OUT_MD} and ${OUT_JSON} (${statSync(OUT_MD).size} bytes)`);
};
try {
  peers = runPeers();
  if (!flag('skip-real')) await realWorkload(w, root);
  save();
  if (SCALE_ROWS > 0) {
    await scaleWorkload(w, root, SCALE_ROWS);
    save();
  }
  if (FULL_ROWS > 0) {
    await fullScale(root, FULL_ROWS);
    save();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
