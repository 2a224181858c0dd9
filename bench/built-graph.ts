/**
 * The ONNX graph semsearch builds from a checkpoint (src/model/graph) against the model's own ONNX export (optimum's,
 * via sentence-transformers), on the same machine in one run: agreement of the embeddings, top-10 agreement of a
 * search, and encoding speed. Needs a model folder with both model.safetensors and onnx/model.onnx (the real
 * all-MiniLM-L6-v2 of tools/reference/export_real.py by default); weights are never committed.
 *
 *   node --conditions=source --import tsx bench/built-graph.ts [--model DIR] [--docs 512] [--queries 43] [--reps 3]
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import { cosSim } from '../src/score/similarity.js';
import type { Matrix } from '../src/tensor/matrix.js';
import { machineInfo } from './machine.js';
import { loadCorpora, sampleByLength } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(homedir(), '.cache', 'semsearch', 'real', 'all-MiniLM-L6-v2') },
    docs: { type: 'string', default: '512' },
    queries: { type: 'string', default: '43' },
    reps: { type: 'string', default: '3' },
  },
});
const src = values.model;
// The same folder without onnx/: every file linked except the export.
const bare = mkdtempSync(join(tmpdir(), 'semsearch-built-'));
for (const f of readdirSync(src)) if (f !== 'onnx') symlinkSync(join(src, f), join(bare, f));
process.env['SEMSEARCH_BUILD_CACHE'] ??= join(bare, '.build');
const corpora = loadCorpora(root);
const docs = sampleByLength(corpora.docs, Number(values.docs), 2);
const queries = corpora.queries.slice(0, Number(values.queries));

const t0 = performance.now();
const built = await loadModelFromDir(bare, { threads: 2 });
const buildSeconds = (performance.now() - t0) / 1000;
const exported = await loadModelFromDir(src, { threads: 2 });

function top10(q: Matrix, d: Matrix): number[][] {
  const s = cosSim(q, d);
  return Array.from({ length: s.rows }, (_, r) => Array.from(s.row(r).keys()).sort((a, b) => (s.row(r)[b] as number) - (s.row(r)[a] as number) || a - b).slice(0, 10));
}
let maxDiff = 0;
const eb = await built.encode(docs);
const ee = await exported.encode(docs);
for (let i = 0; i < eb.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs((eb.data[i] as number) - (ee.data[i] as number)));
const qb = await built.encodeQuery(queries);
const qe = await exported.encodeQuery(queries);
const tb = top10(qb, eb);
const te = top10(qe, ee);
const sameTop10 = tb.filter((t, i) => t.join() === (te[i] ?? []).join()).length;

const rate: Record<string, number[]> = { built: [], export: [] };
for (let r = 0; r < Number(values.reps); r++) {
  for (const [name, m] of [['built', built], ['export', exported]] as const) {
    const t = performance.now();
    await m.encode(docs);
    (rate[name] as number[]).push(docs.length / ((performance.now() - t) / 1000));
  }
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const cpu = machineInfo();
console.log(JSON.stringify({
  model: src,
  cpu: cpu.modelName,
  cores: cpu.cores,
  docs: docs.length,
  queries: queries.length,
  buildSeconds: Number(buildSeconds.toFixed(2)),
  maxAbsDiff: maxDiff,
  identicalTop10: `${sameTop10}/${queries.length}`,
  docsPerSecond: { built: Math.round(med(rate['built'] as number[])), export: Math.round(med(rate['export'] as number[])) },
  ratio: Number((med(rate['built'] as number[]) / med(rate['export'] as number[])).toFixed(3)),
}, null, 1));
await built.dispose();
await exported.dispose();
rmSync(bare, { recursive: true, force: true });
