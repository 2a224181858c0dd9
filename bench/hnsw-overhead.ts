/**
 * HNSW per-query overhead, stage by stage, one query at a time on one thread (issue 32):
 *
 *   node --conditions=source --import tsx bench/hnsw-overhead.ts --workload DIR [--dir /tmp/hnsw-idx] [--ef 16,32,64,128]
 *        [--quant i8,f16] [--queries 300] [--rounds 3]
 *
 * DIR is a workload folder (bench/search-workload.ts, or search_peer.py --make-synthetic: labelled SYNTHETIC). The
 * float32 index and its graphs are built once under --dir (2 build threads) and reused by later runs, so a before
 * and an after run walk the same graphs. Stages, timed interleaved query by query (the machine may be shared):
 *   walk     usearch's own search call (the view AnnGraph holds), max(k, ef) results: the native floor
 *   graph    AnnGraph.search: the walk plus the candidate rows as the product takes them
 *   full     graph + exact rescoring of the candidates (scoreRows) + top k: the "semsearch HNSW" rows of
 *            docs/SEARCH-SCALE.md
 *   before   the same as full, with the JavaScript this file copies from before the change (results checked equal)
 * Each ef's stages run once over the queries untimed first (the mapped graph's pages). No passage text is fetched
 * (FAISS fetches none). FAISS on the same workload: bench/peers/search_peer.py
 * --methods faiss-hnsw --threads 1.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BatchMatches, type Index as UsearchIndex } from 'usearch';
import { AnnGraph, buildAnnIndex } from '../src/store/ann.js';
import { scoreRows, type ExactSearchOptions, type ScoredRow } from '../src/store/exact-search.js';
import { readManifest, writeManifest, type AnnEntry, type AnnQuantization, type IndexManifest, type ShardEntry } from '../src/store/manifest.js';
import { encodeShard, readShard, SHARD_DIR, writeShard, type ShardVectors } from '../src/store/shards.js';
import { FLOAT16_VALUES } from '../src/tensor/float16.js';
import { Matrix } from '../src/tensor/matrix.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const WORKLOAD = resolve(opt('workload', ''));
const DIR = resolve(opt('dir', '/tmp/hnsw-idx'));
const EFS = opt('ef', '16,32,64,128').split(',').map(Number);
const QUANTS = opt('quant', 'i8,f16').split(',') as AnnQuantization[];
const NQ = Number(opt('queries', '300'));
const ROUNDS = Number(opt('rounds', '3'));
const K = 10;
const SHARD_ROWS = 65536;

const log = (s: string): void => console.error(`[${(performance.now() / 1000).toFixed(0).padStart(5)}s] ${s}`);
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

const meta = JSON.parse(readFileSync(join(WORKLOAD, 'meta.json'), 'utf8')) as Record<string, unknown> & { dim: number; corpusRows: number; queryRows: number; gtK: number };
const dim = meta.dim;
const synthetic = meta['model'] === 'synthetic' || meta['synthetic'] !== undefined;
const queries = readF32(join(WORKLOAD, 'queries.f32'));
const gtBytes = readFileSync(join(WORKLOAD, 'gt.i32'));
const gt = new Int32Array(gtBytes.buffer.slice(gtBytes.byteOffset, gtBytes.byteOffset + gtBytes.length));
const nq = Math.min(NQ, meta.queryRows);

// The float32 index folder, written once.
if (!existsSync(join(DIR, 'manifest.json'))) {
  log(`writing the float32 index under ${DIR}`);
  const corpus = readF32(join(WORKLOAD, 'corpus.f32'));
  mkdirSync(join(DIR, SHARD_DIR), { recursive: true });
  const rows = meta.corpusRows;
  const entries: ShardEntry[] = [];
  for (let s = 0, n = 0; s < rows; s += SHARD_ROWS, n++) {
    const part = new Matrix(Math.min(SHARD_ROWS, rows - s), dim, corpus.subarray(s * dim, Math.min(rows, s + SHARD_ROWS) * dim));
    entries.push(writeShard(DIR, n, 'float32', encodeShard(part, 'float32', undefined)));
  }
  const now = new Date().toISOString();
  const m: IndexManifest = {
    format: 'semsearch-index',
    version: 1,
    model: { ref: 'bench', onnxFile: 'onnx/model.onnx', modelType: 'bert', dimension: dim, similarityFnName: 'cosine', maxSeqLength: 256, fingerprint: 'bench' },
    precision: 'float32',
    dim,
    normalized: true,
    shardSize: SHARD_ROWS,
    count: rows,
    shards: entries,
    corpus: { path: 'bench', format: 'msmarco', consumed: rows, skipped: 0, lastId: null },
    complete: true,
    createdAt: now,
    updatedAt: now,
  };
  writeManifest(DIR, m);
}
const m0 = readManifest(DIR);
const shards: ShardVectors[] = m0.shards.map((e) => readShard(DIR, e, m0.precision, m0.dim, false));
const o: ExactSearchOptions = { k: K, precision: m0.precision, dim };

// Graphs, built once each and kept beside the index (the manifest names only the last one built).
const entries = new Map<AnnQuantization, AnnEntry>();
for (const quantization of QUANTS) {
  const saved = join(DIR, `ann-${quantization}.entry.json`);
  if (!existsSync(saved)) {
    const t = performance.now();
    const entry = await buildAnnIndex(DIR, { quantization, threads: 2 });
    log(`built the ${quantization} graph in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    (await import('node:fs')).writeFileSync(saved, JSON.stringify(entry));
  }
  entries.set(quantization, JSON.parse(readFileSync(saved, 'utf8')) as AnnEntry);
}

// ----- "before": the per-query JavaScript as it was, copied here to time it beside the product code.
function shardStartsBefore(ss: readonly ShardVectors[]): number[] {
  const starts: number[] = [];
  let total = 0;
  for (const s of ss) {
    starts.push(total);
    total += s.rows;
  }
  return starts;
}
function shardOfBefore(starts: readonly number[], row: number): number {
  let si = starts.length - 1;
  while (si > 0 && (starts[si] as number) > row) si--;
  return si;
}
function scoreRowsBefore(q: Float32Array, rows: readonly number[], ss: readonly ShardVectors[]): ScoredRow[] {
  const starts = shardStartsBefore(ss);
  const out: ScoredRow[] = [];
  for (const row of rows) {
    const si = shardOfBefore(starts, row);
    const s = ss[si] as ShardVectors;
    const off = (row - (starts[si] as number)) * dim;
    let score = 0;
    if (o.precision === 'float32') {
      const v = s.data as Float32Array;
      for (let i = 0; i < dim; i++) score += (q[i] as number) * (v[off + i] as number);
      score = Math.fround(score);
    } else {
      const h = s.data as Uint16Array;
      for (let i = 0; i < dim; i++) score += (q[i] as number) * (FLOAT16_VALUES[h[off + i] as number] as number);
    }
    out.push({ row, score });
  }
  return out.sort((x, y) => y.score - x.score || x.row - y.row);
}
function graphBefore(view: UsearchIndex, entry: AnnEntry, q: Float32Array, k: number, ef: number): { row: number; score: number }[] {
  const scale = entry.scale ?? 1;
  const found = view.search(scale === 1 ? q : q.map((x) => x * scale), Math.max(k, ef), 1);
  const r = found instanceof BatchMatches ? found.get(0) : found;
  const hits: { row: number; score: number }[] = [];
  for (let j = 0; j < r.keys.length; j++) hits.push({ row: Number(r.keys[j]), score: 1 - (r.distances[j] as number) });
  return hits;
}

interface Row {
  quant: AnnQuantization;
  ef: number;
  stage: string;
  p50: number;
  p99: number;
  mean: number;
  recall: number;
}
const rows: Row[] = [];
const cpu = machineInfo();
log(`${cpu.modelName}, ${cpu.cores} cores, ${cpu.isa ?? ''}; ${meta.corpusRows} × ${dim}${synthetic ? ' SYNTHETIC' : ''}, ${nq} queries × ${ROUNDS} rounds`);

for (const quant of QUANTS) {
  const entry = entries.get(quant) as AnnEntry;
  const graph = await AnnGraph.open(DIR, entry, dim, false);
  for (const ef of EFS) {
    // The view AnnGraph walks for this ef (private: reached the way the product reaches it).
    graph.search(queries.subarray(0, dim), dim, K, ef, 1);
    const view = (graph as unknown as { views: Map<number, UsearchIndex> }).views.get(ef) as UsearchIndex;
    const scale = entry.scale ?? 1;
    const stages: Record<string, (q: Float32Array) => ScoredRow[] | undefined> = {
      walk: (q) => {
        view.search(scale === 1 ? q : q.map((x) => x * scale), Math.max(K, ef), 1);
        return undefined;
      },
      graph: (q) => {
        graph.search(q, dim, K, ef, 1);
        return undefined;
      },
      full: (q) => scoreRows(q, (graph.search(q, dim, K, ef, 1)[0] ?? []).map((h) => h.row), shards, o).slice(0, K),
      before: (q) => scoreRowsBefore(q, graphBefore(view, entry, q, K, ef).map((h) => h.row), shards).slice(0, K),
    };
    const names = Object.keys(stages);
    const ms = new Map<string, number[]>(names.map((n) => [n, []]));
    const found = new Map<string, ScoredRow[][]>([
      ['full', []],
      ['before', []],
    ]);
    // One untimed pass first: the graph is memory-mapped, and the first walks through it take page faults that a
    // FAISS index read into memory never sees.
    for (let i = 0; i < nq; i++) (stages['full'] as (q: Float32Array) => unknown)(queries.slice(i * dim, (i + 1) * dim));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < nq; i++) {
        const q = queries.slice(i * dim, (i + 1) * dim);
        // Rotate the order so no stage always runs first (caches, the other tenant of the cores).
        for (let j = 0; j < names.length; j++) {
          const name = names[(i + j + round) % names.length] as string;
          const t = performance.now();
          const hits = (stages[name] as (q: Float32Array) => ScoredRow[] | undefined)(q);
          (ms.get(name) as number[]).push(performance.now() - t);
          if (round === 0 && hits !== undefined) (found.get(name) as ScoredRow[][]).push(hits);
        }
      }
    }
    const a = found.get('full') as ScoredRow[][];
    const b = found.get('before') as ScoredRow[][];
    const same = a.every((h, qi) => JSON.stringify(h) === JSON.stringify(b[qi]));
    if (!same) throw new Error(`${quant} ef ${ef}: full and before disagree`);
    let hit = 0;
    a.forEach((h, qi) => {
      const t = new Set(Array.from(gt.subarray(qi * meta.gtK, qi * meta.gtK + K)));
      for (const x of h) if (t.has(x.row)) hit++;
    });
    const recall = hit / (a.length * K);
    for (const name of names) {
      const xs = ms.get(name) as number[];
      rows.push({ quant, ef, stage: name, p50: pct(xs, 50), p99: pct(xs, 99), mean: xs.reduce((s, x) => s + x, 0) / xs.length, recall: name === 'full' || name === 'before' ? recall : NaN });
    }
    log(`${quant} ef ${ef}: recall@10 ${recall.toFixed(4)}; ` + names.map((n) => `${n} ${pct(ms.get(n) as number[], 50).toFixed(3)}`).join(', ') + ' ms p50');
  }
}

console.log(`| graph | ef | recall@10 | ${['walk', 'graph', 'full', 'before'].map((s) => `${s} p50 / p99 ms`).join(' | ')} |`);
console.log('|---|---|---|---|---|---|---|');
for (const quant of QUANTS) {
  for (const ef of EFS) {
    const r = (s: string): Row => rows.find((x) => x.quant === quant && x.ef === ef && x.stage === s) as Row;
    console.log(`| ${quant} | ${ef} | ${r('full').recall.toFixed(4)} | ${['walk', 'graph', 'full', 'before'].map((s) => `${r(s).p50.toFixed(3)} / ${r(s).p99.toFixed(3)}`).join(' | ')} |`);
  }
}
