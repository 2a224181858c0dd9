/**
 * A local index built from the search workload (bench/search-workload.ts) without encoding again: its 194,179 real
 * all-MiniLM-L6-v2 rows took 24 minutes to encode once, and they are the very rows `semsearch index` would compute.
 * The index is built by the product's own buildIndex; only the model's encode() is replaced by one that hands back
 * the workload's rows in order, after checking each text is the row's own. bench/cluster.ts then pushes this index
 * to OpenSearch and measures recall@10 on a set six times the DL19 pool's size.
 *
 *   node --conditions=source --import tsx bench/workload-index.ts --out DIR [--workload NAME] [--queries N]
 *
 * Writes DIR (a float32 index, no graph) and DIR.queries.tsv: the workload's first N (300) MS MARCO dev queries, as
 * a topics file for bench/cluster.ts --queries.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import type { SentenceTransformer } from '../src/encoder/sentence-transformer.js';
import { buildIndex } from '../src/store/build-index.js';
import { Matrix } from '../src/tensor/matrix.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    workload: { type: 'string', default: 'minilm-l6-384' },
    queries: { type: 'string', default: '300' },
  },
});
if (values.out === undefined) throw new Error('--out DIR is required');
const wl = join(process.env['SEMSEARCH_BENCH_CACHE'] ?? join(homedir(), '.cache', 'semsearch'), 'search-workload', values.workload);
const meta = JSON.parse(readFileSync(join(wl, 'meta.json'), 'utf8')) as { model: string; dim: number; corpusRows: number };
type Row = { id: string; source: string; text: string };
const readRows = (file: string): Row[] =>
  readFileSync(join(wl, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);
const corpus = readRows('corpus.jsonl');
if (corpus.length !== meta.corpusRows) throw new Error(`corpus.jsonl has ${corpus.length} rows, meta.json ${meta.corpusRows}`);

// The corpus as MS MARCO tsv: the workload's texts are whitespace-normalised, so none holds a tab or a newline.
const tsv = `${values.out}.corpus.tsv`;
writeFileSync(tsv, corpus.map((r) => `${r.id}\t${r.text}\n`).join(''));
const dev = readRows('queries.jsonl')
  .filter((q) => q.source === 'msmarco-dev-query')
  .slice(0, Number(values.queries));
writeFileSync(`${values.out}.queries.tsv`, dev.map((q) => `${q.id}\t${q.text}\n`).join(''));

const model = await loadModelFromDir(meta.model);
const fd = openSync(join(wl, 'corpus.f32'), 'r');
let cursor = 0;
// The product's model, with encode() reading the workload's rows: everything else (fingerprint, config) is the model's.
const stored = Object.create(model) as SentenceTransformer;
stored.encode = (async (texts: string | readonly string[]) => {
  const list = typeof texts === 'string' ? [texts] : texts;
  list.forEach((t, i) => {
    if (t !== corpus[cursor + i]?.text) throw new Error(`text ${cursor + i} is not the workload's row ${cursor + i}`);
  });
  const m = new Matrix(list.length, meta.dim);
  readSync(fd, new Uint8Array(m.data.buffer), 0, m.data.byteLength, cursor * meta.dim * 4);
  cursor += list.length;
  return m;
}) as SentenceTransformer['encode'];
const t0 = performance.now();
const r = await buildIndex({ corpus: tsv, out: values.out, model: stored, modelRef: meta.model, precision: 'float32', batchSize: 4096 });
closeSync(fd);
await model.dispose();
if (r.manifest.count !== corpus.length) throw new Error(`indexed ${r.manifest.count} of ${corpus.length}`);
console.log(`${values.out}: ${r.manifest.count} passages in ${((performance.now() - t0) / 1000).toFixed(1)} s; queries in ${values.out}.queries.tsv (${dev.length})`);
