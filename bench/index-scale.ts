// Scale benchmark of the index engine (not a test): synthetic unit vectors, as the 8.8M-passage MS MARCO
// collection is not on this machine. Prints build time, resident memory, exact and ANN latency, recall@10.
//   npx tsx bench/index-scale.ts --rows 1000000 --dim 384 --precision float32 --ann f16
//   npx tsx bench/index-scale.ts --rows 8841823 --dim 768 --precision binary --queries 20
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Index as UsearchIndex, MetricKind, ScalarKind, type Matches } from 'usearch';
import { normalizeRows } from '../src/encoder/normalize.js';
import { exactSearch, type ExactSearchOptions } from '../src/store/exact-search.js';
import type { IndexPrecision } from '../src/store/manifest.js';
import { ParallelSearcher } from '../src/store/parallel-search.js';
import { encodeShard, readShard, SHARD_DIR, writeShard, type ShardVectors } from '../src/store/shards.js';
import { shardFloats } from '../src/store/ann.js';
import { Matrix } from '../src/tensor/matrix.js';
import { rangesOf } from '../src/tensor/quantize.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] as string) : dflt;
};
const rows = Number(opt('rows', '100000'));
const dim = Number(opt('dim', '384'));
const precision = opt('precision', 'float32') as IndexPrecision;
const ann = opt('ann', 'none');
const nQueries = Number(opt('queries', '100'));
const shardRows = Number(opt('shard-rows', '65536'));
const threads = Number(opt('threads', '2'));
const out = opt('out', '');

// xorshift + Box–Muller: fast, seeded, reproducible.
let seed = 0x9e3779b9;
function uniform(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) + 0.5) / 4294967296;
}
function gaussianRows(n: number): Matrix {
  const m = new Matrix(n, dim);
  for (let i = 0; i < m.data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    m.data[i] = r * Math.cos(t);
    if (i + 1 < m.data.length) m.data[i + 1] = r * Math.sin(t);
  }
  return normalizeRows(m);
}
const rss = (): string => `${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

const dir = mkdtempSync(join(out !== '' ? out : tmpdir(), 'semsearch-scale-'));
mkdirSync(join(dir, SHARD_DIR));
console.log(`rows ${rows}, dim ${dim}, precision ${precision}, ann ${ann}, queries ${nQueries}, threads ${threads}, folder ${dir}`);

// Queries are noisy copies of known rows, so each has a true nearest passage, as a question has its answer.
const queryRows = Array.from({ length: nQueries }, (_, i) => Math.floor(((i + 0.5) / nQueries) * rows));
const queries = new Matrix(nQueries, dim);

let t0 = performance.now();
const entries = [];
let ranges;
for (let start = 0, n = 0; start < rows; start += shardRows, n++) {
  const part = gaussianRows(Math.min(shardRows, rows - start));
  queryRows.forEach((r, qi) => {
    if (r >= start && r < start + part.rows) queries.data.set(part.row(r - start), qi * dim);
  });
  ranges ??= rangesOf(part);
  entries.push(writeShard(dir, n, precision, encodeShard(part, precision, ranges)));
}
const noise = gaussianRows(nQueries);
for (let i = 0; i < queries.data.length; i++) queries.data[i] = (queries.data[i] as number) + 0.5 * (noise.data[i] as number);
normalizeRows(queries);
const buildSecs = (performance.now() - t0) / 1000;
console.log(`build (generate + quantize + durable shard writes): ${buildSecs.toFixed(1)} s, ${entries.length} shards, RSS ${rss()}`);

t0 = performance.now();
const shards: ShardVectors[] = entries.map((e) => readShard(dir, e, precision, dim, true));
console.log(`load with sha256 verification: ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rss()}`);

const options: ExactSearchOptions = { k: 10, dim, precision, ...(ranges !== undefined ? { ranges } : {}) };
const pool = new ParallelSearcher(shards, threads);
const exactLat: number[] = [];
const truth: number[][] = [];
for (let q = 0; q < nQueries; q++) {
  const t = performance.now();
  const [hits] = await pool.search(queries.slice(q, q + 1), options);
  exactLat.push(performance.now() - t);
  truth.push((hits ?? []).map((h) => h.row));
}
const ownFound = truth.filter((h, q) => h.includes(queryRows[q] as number)).length;
console.log(`exact (${pool.threads} threads): p50 ${pct(exactLat, 50).toFixed(1)} ms, p99 ${pct(exactLat, 99).toFixed(1)} ms; source row in top-10 for ${ownFound}/${nQueries}; RSS ${rss()}`);
await pool.close();
if (precision === 'float32' && rows <= 200000) {
  const t = performance.now();
  exactSearch(queries.slice(0, 5), shards, options);
  console.log(`exact (1 thread, batch of 5): ${((performance.now() - t) / 5).toFixed(1)} ms per query`);
}

if (ann !== 'none') {
  t0 = performance.now();
  const index = new UsearchIndex({ dimensions: dim, metric: MetricKind.IP, quantization: ann as ScalarKind, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
  let base = 0;
  const manifestLike = { precision, dim, ranges: ranges !== undefined ? { min: Array.from(ranges.min), max: Array.from(ranges.max) } : undefined };
  for (const s of shards) {
    const keys = new BigUint64Array(s.rows);
    for (let r = 0; r < s.rows; r++) keys[r] = BigInt(base + r);
    index.add(keys, shardFloats(s, manifestLike as never), threads);
    base += s.rows;
  }
  console.log(`HNSW build (${ann}, M=16, ef_add=128): ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rss()}`);
  for (const ef of [64, 128]) {
    const ix = new UsearchIndex({ dimensions: dim, metric: MetricKind.IP, quantization: ann as ScalarKind, connectivity: 16, expansion_add: 128, expansion_search: ef, multi: false });
    const file = join(dir, 'g.usearch');
    if (ef === 64) index.save(file);
    ix.view(file);
    const lat: number[] = [];
    let found = 0;
    let own = 0;
    for (let q = 0; q < nQueries; q++) {
      const t = performance.now();
      const r = ix.search(queries.row(q), 10, 1) as Matches;
      lat.push(performance.now() - t);
      const got = Array.from(r.keys, Number);
      found += got.filter((x) => truth[q]?.includes(x)).length;
      if (got.includes(queryRows[q] as number)) own++;
    }
    console.log(
      `ANN ef=${ef}: p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, recall@10 vs exact ${(found / (nQueries * 10)).toFixed(4)}, source row in top-10 for ${own}/${nQueries}`,
    );
  }
}
writeFileSync(join(dir, 'done'), '');
rmSync(dir, { recursive: true, force: true });
