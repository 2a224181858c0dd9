/**
 * Batch exact search: the Gemm path (src/store/gemm-search.ts) against the SIMD scan it replaces for batches and
 * against FAISS's IndexFlatIP (bench/peers/search_peer.py, faiss-flat), on one synthetic workload, k = 10.
 * A benchmark, never a test. Prints a markdown report; every figure comes from this run.
 *
 *   node --conditions=source --import tsx bench/batch-search.ts --rows 1000000 --queries 1000 --rounds 3
 *   options: --dim 384  --k 10  --scan-queries 50 (the scan is timed on this many and given as QPS)
 *            --python PATH (~/venvs/ref/bin/python)  --no-peers  --dir DIR (workload folder; made when absent)
 *
 * The workload is search_peer.py's synthetic one (unit rows around 200 random centres, queries near rows): it is
 * labelled synthetic in the report. Rounds interleave semsearch and FAISS, so drift on a shared machine hits both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exactSearch, type ExactSearchOptions, type ScoredRow } from '../src/store/exact-search.js';
import { GemmSearcher } from '../src/store/gemm-search.js';
import { ParallelSearcher } from '../src/store/parallel-search.js';
import type { ShardVectors } from '../src/store/shards.js';
import { shardMaxNorm } from '../src/store/simd/simd-scan.js';
import { allocVectorMemory } from '../src/store/simd/vector-memory.js';
import { Matrix } from '../src/tensor/matrix.js';
import { machineInfo } from './machine.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const ROWS = Number(opt('rows', '200000'));
const DIM = Number(opt('dim', '384'));
const NQ = Number(opt('queries', '1000'));
const K = Number(opt('k', '10'));
const ROUNDS = Number(opt('rounds', '3'));
const SCAN_Q = Number(opt('scan-queries', '50'));
const PYTHON = opt('python', process.env['SEMSEARCH_PYTHON'] ?? join(homedir(), 'venvs', 'ref', 'bin', 'python'));
const DIR = resolve(opt('dir', join(tmpdir(), `semsearch-batch-${ROWS}x${DIM}-${NQ}`)));
const PEER = join(repoRoot, 'bench', 'peers', 'search_peer.py');
const SHARD_ROWS = 65536;
const log = (s: string): void => console.error(`[${(performance.now() / 1000).toFixed(0).padStart(5)}s] ${s}`);

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

if (!existsSync(join(DIR, 'meta.json'))) {
  if (!existsSync(PYTHON)) throw new Error(`no workload at ${DIR} and no Python at ${PYTHON} to make one`);
  log(`making the synthetic workload ${ROWS} × ${DIM}, ${NQ} queries in ${DIR}`);
  const r = spawnSync(PYTHON, [PEER, '--make-synthetic', DIR, '--rows', String(ROWS), '--dim', String(DIM), '--nq', String(NQ)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`search_peer.py --make-synthetic failed (exit ${r.status})`);
}
const corpus = readF32(join(DIR, 'corpus.f32'));
const queries = new Matrix(NQ, DIM, readF32(join(DIR, 'queries.f32')).subarray(0, NQ * DIM));
if (corpus.length !== ROWS * DIM) throw new Error(`${DIR}: corpus.f32 holds ${corpus.length / DIM} rows, not ${ROWS}`);

// Shards as an index loads them: kernel memory, with their norm bound.
const shards: ShardVectors[] = [];
for (let s = 0; s < ROWS; s += SHARD_ROWS) {
  const rows = Math.min(SHARD_ROWS, ROWS - s);
  const mem = allocVectorMemory(rows * DIM * 4);
  if (mem === undefined) throw new Error('no kernel memory');
  const data = new Float32Array(mem.bytes.buffer, mem.bytes.byteOffset, rows * DIM);
  data.set(corpus.subarray(s * DIM, (s + rows) * DIM));
  shards.push({ rows, data, memory: mem.memory, maxNorm: shardMaxNorm(mem.memory, rows, DIM, false) as number });
}
const o: ExactSearchOptions = { k: K, precision: 'float32', dim: DIM };

const timed = async <T>(fn: () => Promise<T> | T): Promise<{ s: number; v: T }> => {
  const t = performance.now();
  const v = await fn();
  return { s: (performance.now() - t) / 1000, v };
};

// The scan path (before): exactSearch on one thread, ParallelSearcher on two, on the first SCAN_Q queries.
const sub = new Matrix(SCAN_Q, DIM, queries.data.subarray(0, SCAN_Q * DIM));
exactSearch(new Matrix(2, DIM, queries.data.subarray(0, 2 * DIM)), shards, o);
const scan1 = await timed(() => exactSearch(sub, shards, o));
const pool = new ParallelSearcher(shards, 2);
await pool.search(new Matrix(2, DIM, queries.data.subarray(0, 2 * DIM)), o);
const scan2 = await timed(() => pool.search(sub, o));
await pool.close();
log(`scan: ${(SCAN_Q / scan1.s).toFixed(1)} QPS 1 thread, ${(SCAN_Q / scan2.s).toFixed(1)} QPS 2 threads (${SCAN_Q} queries)`);

const gemm = { 1: await GemmSearcher.create(DIM, { threads: 1 }), 2: await GemmSearcher.create(DIM, { threads: 2 }) };
await gemm[1].search(sub, shards, o);
// The Gemm path's hits must equal the scan's, bit for bit.
const same = JSON.stringify(await gemm[2].search(sub, shards, o)) === JSON.stringify(scan1.v);
if (!same) throw new Error('the Gemm path disagrees with exactSearch');

interface Faiss {
  qps: Record<string, number>;
  recall_at_10: number;
}
function faiss(): Faiss | string {
  if (args.includes('--no-peers')) return 'not run (--no-peers)';
  if (!existsSync(PYTHON)) return `not run: no Python at ${PYTHON}`;
  const out = join(tmpdir(), `semsearch-batch-peer-${process.pid}.json`);
  const r = spawnSync(PYTHON, [PEER, '--workload', DIR, '--methods', 'faiss-flat', '--threads', '1,2', '--k', String(K), '--reps', '1', '--latency-queries', '5', '--out', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0 || !existsSync(out)) return `failed (exit ${r.status ?? r.signal})`;
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { results: (Faiss & { method: string })[] };
  rmSync(out, { force: true });
  return doc.results.find((x) => x.method === 'faiss-flat') ?? 'failed: no faiss-flat row';
}

const rounds: { gemm: Record<string, number>; faiss: Faiss | string; passes: number; rescored: number }[] = [];
let all: ScoredRow[][] = [];
for (let round = 0; round < ROUNDS; round++) {
  const qps: Record<string, number> = {};
  const before = { passes: gemm[1].stats.passes + gemm[2].stats.passes, rescored: gemm[1].stats.rescored + gemm[2].stats.rescored };
  for (const t of [1, 2] as const) {
    const r = await timed(() => gemm[t].search(queries, shards, o));
    qps[t] = NQ / r.s;
    all = r.v as ScoredRow[][];
  }
  const f = faiss();
  rounds.push({ gemm: qps, faiss: f, passes: gemm[1].stats.passes + gemm[2].stats.passes - before.passes, rescored: gemm[1].stats.rescored + gemm[2].stats.rescored - before.rescored });
  log(`round ${round + 1}: gemm ${qps[1]?.toFixed(0)} / ${qps[2]?.toFixed(0)} QPS; faiss ${typeof f === 'string' ? f : `${f.qps['1']?.toFixed(0)} / ${f.qps['2']?.toFixed(0)}`}`);
}
await gemm[1].close();
await gemm[2].close();

// Agreement with FAISS's ids is reported (its float32 sums may order near-ties differently); ground truth is numpy's.
const gt = new Int32Array(readFileSync(join(DIR, 'gt.i32')).buffer.slice(0));
const gtK = gt.length / Number(JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')).queryRows);
let hit = 0;
all.forEach((hits, qi) => {
  const t = new Set(Array.from(gt.subarray(qi * gtK, qi * gtK + K)));
  for (const h of hits) if (t.has(h.row)) hit++;
});
const m = machineInfo();
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const lines = [
  `# Batch exact search, ${ROWS.toLocaleString('en')} × ${DIM} SYNTHETIC vectors (search_peer.py --make-synthetic), ${NQ} queries, k = ${K}`,
  '',
  `- Machine: ${m.modelName}, ${m.cores} cores, ${m.isa ?? (m.avx512 ? 'AVX-512' : 'AVX2')}; ${new Date().toISOString()}. Load average at the end: ${JSON.stringify((await import('node:os')).loadavg().map((x) => +x.toFixed(2)))}.`,
  `- Gemm path hits = exactSearch hits on the first ${SCAN_Q} queries: ${same}; recall@10 of all ${NQ} against numpy's float32 ground truth: ${(hit / (NQ * K)).toFixed(4)}.`,
  `- Scan (SIMD exactSearch, before): ${(SCAN_Q / scan1.s).toFixed(1)} QPS 1 thread, ${(SCAN_Q / scan2.s).toFixed(1)} QPS 2 threads (ParallelSearcher), timed on ${SCAN_Q} queries.`,
  '',
  '| round | Gemm QPS 1 thr | FAISS QPS 1 thr | ratio | Gemm QPS 2 thr | FAISS QPS 2 thr | ratio | FAISS recall@10 | passes | rows rescored |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
const r1: number[] = [];
const r2: number[] = [];
rounds.forEach((r, i) => {
  const f = typeof r.faiss === 'string' ? undefined : r.faiss;
  const a = f?.qps['1'] !== undefined ? (r.gemm[1] as number) / f.qps['1'] : undefined;
  const b = f?.qps['2'] !== undefined ? (r.gemm[2] as number) / f.qps['2'] : undefined;
  if (a !== undefined) r1.push(a);
  if (b !== undefined) r2.push(b);
  lines.push(
    `| ${i + 1} | ${r.gemm[1]?.toFixed(0)} | ${f?.qps['1']?.toFixed(0) ?? (r.faiss as string)} | ${a?.toFixed(2) ?? '–'}× | ${r.gemm[2]?.toFixed(0)} | ${f?.qps['2']?.toFixed(0) ?? '–'} | ${b?.toFixed(2) ?? '–'}× | ${f?.recall_at_10.toFixed(4) ?? '–'} | ${r.passes} | ${r.rescored} |`,
  );
});
if (r1.length > 0) lines.push('', `Median ratio to FAISS: ${med(r1).toFixed(2)}× on 1 thread, ${r2.length > 0 ? med(r2).toFixed(2) : '–'}× on 2 threads.`);
console.log(lines.join('\n'));
