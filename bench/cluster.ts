/**
 * The local index beside OpenSearch (1 and 2 nodes, started here from Maven Central by scripts/opensearch.mjs), in
 * one run on the same vectors: push rate, search p50/p99, recall@10 against the local exact top-10, memory per node.
 * Writes bench/results/<date>-cluster.json and prints a markdown table (docs/SCALE-OUT.md quotes it).
 *
 *   npm run bench:cluster -- --index <local index> [--queries topics.tsv] [--max-queries 200] [--nodes 1,2]
 *                            [--heap 1g] [--java-home DIR] [--oversample 1,5] [--tag jdk17]
 *
 * Every cluster gets one primary shard per node and no replicas (the local index has no copy either). Queries are
 * encoded once, by the index's model, and each search is timed alone, one at a time, from this process.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nodeRss, startCluster, stopCluster } from '../scripts/opensearch.mjs';
import { OpenSearchIndex } from '../src/opensearch/opensearch-index.js';
import { pushIndex } from '../src/opensearch/push.js';
import { openIndex } from '../src/store/search-index.js';
import { type IndexHit } from '../src/store/searcher.js';
import type { Matrix } from '../src/tensor/matrix.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    index: { type: 'string' },
    queries: { type: 'string', default: join(root, '..', 'shared', 'data', 'msmarco-passage-topics-qrels', 'topics.dl19-passage.txt') },
    'max-queries': { type: 'string', default: '200' },
    nodes: { type: 'string', default: '1,2' },
    heap: { type: 'string', default: '1g' },
    'java-home': { type: 'string' },
    oversample: { type: 'string', default: '1,5' },
    tag: { type: 'string', default: '' },
    'http-port': { type: 'string', default: '9270' },
  },
});
if (values.index === undefined) throw new Error('--index <local index folder> is required (a float32 index; the DL19 pool of docs/EVALUATION.md was used)');
const queries = readFileSync(values.queries, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => l.split('\t')[1] ?? '')
  .filter((q) => q !== '')
  .slice(0, Number(values['max-queries']));
const K = 10;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
function recall(got: IndexHit[][], want: IndexHit[][]): number {
  let hit = 0;
  got.forEach((g, qi) => {
    const w = new Set((want[qi] ?? []).map((h) => h.id));
    for (const h of g.slice(0, K)) if (w.has(h.id)) hit++;
  });
  return hit / (K * want.length);
}
async function timed(n: number, fn: (qi: number) => Promise<IndexHit[]>): Promise<{ hits: IndexHit[][]; p50: number; p99: number; mean: number }> {
  // One warm-up pass, then the timed one.
  for (let qi = 0; qi < Math.min(n, 20); qi++) await fn(qi);
  const hits: IndexHit[][] = [];
  const ms: number[] = [];
  for (let qi = 0; qi < n; qi++) {
    const t = performance.now();
    hits.push(await fn(qi));
    ms.push(performance.now() - t);
  }
  return { hits, p50: pct(ms, 50), p99: pct(ms, 99), mean: ms.reduce((a, b) => a + b, 0) / n };
}
function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const local = await openIndex(values.index, { searchThreads: 1 });
const emb = (await local.model.encodeQuery(queries)) as Matrix;
const row = (qi: number): Float32Array => emb.row(qi);
const exact = await timed(queries.length, async (qi) => (await local.searchEmbeddings(row(qi), K, { exact: true }))[0] ?? []);
const rows: Record<string, unknown>[] = [
  { system: 'semsearch local (exact scan, 1 thread)', nodes: 0, pushDocsPerSecond: null, p50Ms: exact.p50, p99Ms: exact.p99, recallAt10: recall(exact.hits, exact.hits), rssMiB: rssMiB() },
];
if (local.hasAnn) {
  const ann = await timed(queries.length, async (qi) => (await local.searchEmbeddings(row(qi), K))[0] ?? []);
  rows.push({ system: 'semsearch local (HNSW graph)', nodes: 0, pushDocsPerSecond: null, p50Ms: ann.p50, p99Ms: ann.p99, recallAt10: recall(ann.hits, exact.hits), rssMiB: rssMiB() });
}
const live = local.count;
const java = values['java-home'] ?? 'java on the PATH';
for (const nodes of values.nodes.split(',').map(Number)) {
  const dir = join(root, '.cluster-bench');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cluster = await startCluster({ nodes, dir, heap: values.heap, httpPort: Number(values['http-port']), ...(values['java-home'] !== undefined ? { javaHome: values['java-home'] } : {}) });
  try {
    const push = await pushIndex(values.index, { url: cluster.url, indexName: 'bench', shards: nodes, replicas: 0, onProgress: (p) => p.phase === 'rows' && p.done % 5000 < 500 && process.stderr.write(`  push ${p.done}/${p.total} ${Math.round(p.done / p.seconds)} docs/s\n`) });
    if (push.remote !== live) throw new Error(`pushed ${push.remote} documents of ${live}`);
    const remote = await OpenSearchIndex.open({ url: cluster.url, indexName: 'bench', model: local.model });
    try {
      for (const oversample of values.oversample.split(',').map(Number)) {
        for (const rescore of [false, true]) {
          const r = await timed(queries.length, async (qi) => (await remote.searchEmbeddings(row(qi), K, { oversample, rescore }))[0] ?? []);
          rows.push({
            system: `OpenSearch ${nodes} node${nodes > 1 ? 's' : ''}, oversample ${oversample}${rescore ? ', rescored' : ''}`,
            nodes,
            oversample,
            rescore,
            pushDocsPerSecond: push.docsPerSecond,
            pushSeconds: push.seconds,
            p50Ms: r.p50,
            p99Ms: r.p99,
            recallAt10: recall(r.hits, exact.hits),
            rssMiB: cluster.nodes.map((n) => (nodeRss(n.pid) ?? NaN) / 2 ** 20),
          });
          process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
        }
      }
    } finally {
      await remote.close();
    }
  } finally {
    await stopCluster({ dir });
  }
}
await local.close();

const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, java, heap: values.heap, index: values.index, live, queries: queries.length, k: K, tag: values.tag, rows };
const out = join(root, 'bench', 'results', `${result.date.slice(0, 10)}-cluster${values.tag !== '' ? `-${values.tag}` : ''}.json`);
writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
const f = (x: unknown, d = 1): string => (typeof x === 'number' ? x.toFixed(d) : Array.isArray(x) ? x.map((v) => f(v, 0)).join(' + ') : '');
console.log(`| system | push docs/s | p50 ms | p99 ms | recall@10 | RSS MiB (per node) |\n|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${String(r.system)} | ${f(r.pushDocsPerSecond, 0)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.recallAt10, 3)} | ${f(r.rssMiB, 0)} |`);
console.log(`\n${out}`);
