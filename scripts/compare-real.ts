// Real-weight parity, run by hand (never in CI: the weights are not in the repo).
//   ~/venvs/ref/bin/python tools/reference/export_real.py          # writes <model>/reference
//   npx tsx scripts/compare-real.ts [modelDir] [--variant qint8_avx512_vnni]
// Compares semsearch's token ids, embeddings and top-10 search with sentence-transformers' on the first 1,000
// passages of the DL19 relevant subset and its 43 queries, and prints the figures for the issue note.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { loadModelFromDir, Matrix, semanticSearch, SIMILARITY_FUNCTIONS } from '../src/index.js';

const args = process.argv.slice(2);
const variantAt = args.indexOf('--variant');
const variant = variantAt >= 0 ? args[variantAt + 1] : undefined;
const dir = args.find((a, i) => !a.startsWith('--') && (variantAt < 0 || i !== variantAt + 1)) ?? join(homedir(), '.cache', 'semsearch', 'real', 'all-MiniLM-L6-v2');
const refDir = join(dir, 'reference');
const meta = JSON.parse(readFileSync(join(refDir, 'meta.json'), 'utf8')) as {
  data: { collection: string; queries: string; first_n_passages: number };
  files: Record<string, { rows: number; dim: number }>;
};

function readTsv(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

function readF32(name: string): Matrix {
  const shape = meta.files[name] as { rows: number; dim: number };
  const buf = readFileSync(join(refDir, name));
  const data = new Float32Array(shape.rows * shape.dim);
  for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(i * 4);
  return new Matrix(shape.rows, shape.dim, data);
}

function compare(label: string, got: Matrix, want: Matrix): void {
  let maxAbs = 0;
  let cosSum = 0;
  let cosMin = 1;
  for (let r = 0; r < got.rows; r++) {
    const a = got.row(r);
    const b = want.row(r);
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs((a[i] as number) - (b[i] as number)));
      d += (a[i] as number) * (b[i] as number);
      na += (a[i] as number) ** 2;
      nb += (b[i] as number) ** 2;
    }
    const c = d / Math.sqrt(na * nb);
    cosSum += c;
    cosMin = Math.min(cosMin, c);
  }
  console.log(`${label}: rows ${got.rows}, max abs diff ${maxAbs.toExponential(3)}, mean cosine ${(cosSum / got.rows).toFixed(8)}, min cosine ${cosMin.toFixed(8)}`);
}

const collection = readTsv(meta.data.collection);
const queriesTsv = readTsv(meta.data.queries);
const passageIds = JSON.parse(readFileSync(join(refDir, 'passage_ids.json'), 'utf8')) as string[];
const queryIds = JSON.parse(readFileSync(join(refDir, 'query_ids.json'), 'utf8')) as string[];
const passages = passageIds.map((id) => collection.get(id) as string);
const queries = queryIds.map((id) => queriesTsv.get(id) as string);

const model = await loadModelFromDir(dir, variant !== undefined ? { variant } : {});
console.log(`model ${dir} (${model.onnxFile}), ${model.config.modelType}, max_seq_length ${model.maxSeqLength}, similarity ${model.similarityFnName}`);

const tokenFile = (n: string): number[][] => JSON.parse(readFileSync(join(refDir, n), 'utf8')) as number[][];
for (const [name, texts] of [['passage_token_ids.json', passages], ['query_token_ids.json', queries]] as const) {
  const want = tokenFile(name);
  const got = model.tokenize(texts);
  const bad = got.filter((ids, i) => JSON.stringify(ids) !== JSON.stringify(want[i])).length;
  console.log(`token ids ${name}: ${got.length - bad}/${got.length} identical`);
}

const suffix = variant === undefined ? 'torch' : 'qint8';
let t = performance.now();
const P = await model.encode(passages, { batchSize: 32 });
const pSecs = (performance.now() - t) / 1000;
t = performance.now();
const Q = await model.encode(queries, { batchSize: 32 });
const qSecs = (performance.now() - t) / 1000;
console.log(`encoded ${passages.length} passages in ${pSecs.toFixed(1)} s, ${queries.length} queries in ${qSecs.toFixed(2)} s`);
compare(`passages vs Python ${suffix}`, P, readF32(`passages.${suffix}.f32`));
compare(`queries vs Python ${suffix}`, Q, readF32(`queries.${suffix}.f32`));
if (variant !== undefined) {
  compare('passages vs Python fp32 torch', P, readF32('passages.torch.f32'));
  compare('queries vs Python fp32 torch', Q, readF32('queries.torch.f32'));
}

const search = JSON.parse(readFileSync(join(refDir, 'search.json'), 'utf8')) as { results: Record<string, [string, number, number][]> };
const hits = semanticSearch(Q, P, { topK: 10, scoreFunction: SIMILARITY_FUNCTIONS[model.similarityFnName] });
let same = 0;
let overlap = 0;
queryIds.forEach((qid, i) => {
  const want = (search.results[qid] ?? []).map(([, cid]) => cid);
  const got = (hits[i] ?? []).map((h) => h.corpusId);
  if (JSON.stringify(want) === JSON.stringify(got)) same++;
  overlap += got.filter((c) => want.includes(c)).length / Math.max(1, want.length);
});
console.log(`top-10 vs Python semantic_search: ${same}/${queryIds.length} queries identical in order, mean overlap ${(overlap / queryIds.length).toFixed(4)}`);
await model.dispose();
