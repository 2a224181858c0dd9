/**
 * fp32 against the int8 files of one model folder on this CPU, in interleaved rounds (each round starts one file
 * later), with the library's defaults (loadModel's workers x threads rule): docs/s (passages sampled by length) and
 * queries/s (TREC DL queries, batches of 32), medians with min-max over the rounds, × fp32, and each file's min
 * cosine to fp32. The built u8 graph (what `semsearch export --int8` writes on AVX2) is built into a scratch copy.
 *
 *   node --conditions=source --import tsx bench/int8-rounds.ts --model DIR [--files fp32=onnx/model.onnx,...]
 *        [--rounds 5] [--docs 256]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import { buildOnnx } from '../src/model/graph/build.js';
import { machineInfo } from './machine.js';
import { median, rowCosines } from './stats.js';
import { loadCorpora, sampleByLength } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    files: { type: 'string', default: 'fp32=onnx/model.onnx,hub quint8_avx2=onnx/model_quint8_avx2.onnx,built u8=onnx/built_u8.onnx' },
    rounds: { type: 'string', default: '5' },
    docs: { type: 'string', default: '256' },
  },
});
if (values.model === undefined) throw new Error('--model DIR: a model folder with onnx/model.onnx');
const src = values.model;
const dir = mkdtempSync(join(tmpdir(), 'semsearch-int8-rounds-'));
for (const f of readdirSync(src)) if (f !== 'onnx') symlinkSync(join(src, f), join(dir, f));
mkdirSync(join(dir, 'onnx'));
for (const f of readdirSync(join(src, 'onnx'))) symlinkSync(join(src, 'onnx', f), join(dir, 'onnx', f));
writeFileSync(join(dir, 'onnx', 'built_u8.onnx'), buildOnnx(dir, { int8: 'u8' }));
const files = Object.fromEntries(values.files.split(',').map((kv) => kv.split('=') as [string, string]));
const labels = Object.keys(files);
const { queries, docs: allDocs } = loadCorpora(root);
const docs = sampleByLength(allDocs, Number(values.docs), 2);
const rounds = Number(values.rounds);
const rate: Record<string, { docs: number[]; queries: number[] }> = Object.fromEntries(labels.map((l) => [l, { docs: [], queries: [] }]));
const emb: Record<string, Float32Array> = {};
for (let r = 0; r < rounds; r++) {
  const order = labels.map((_, i) => labels[(i + r) % labels.length] as string);
  for (const label of order) {
    const m = await loadModelFromDir(dir, { onnxFile: files[label] as string, onWarning: () => undefined });
    await m.encode(docs.slice(0, 32));
    let t = performance.now();
    const d = await m.encode(docs, { batchSize: 32 });
    (rate[label] as { docs: number[] }).docs.push(docs.length / ((performance.now() - t) / 1000));
    t = performance.now();
    await m.encode(queries, { batchSize: 32 });
    (rate[label] as { queries: number[] }).queries.push(queries.length / ((performance.now() - t) / 1000));
    emb[label] ??= d.data;
    await m.dispose();
    process.stderr.write(`round ${r + 1} ${label}: docs ${rate[label]?.docs.at(-1)?.toFixed(1)}/s, queries ${rate[label]?.queries.at(-1)?.toFixed(1)}/s\n`);
  }
}
const fp = labels[0] as string;
const med = (l: string, k: 'docs' | 'queries'): number => median(rate[l]?.[k] ?? []);
const rows = labels.map((l) => ({
  file: `${l} (${files[l]})`,
  docsPerSecond: { median: med(l, 'docs'), min: Math.min(...(rate[l]?.docs ?? [])), max: Math.max(...(rate[l]?.docs ?? [])), xFp32: med(l, 'docs') / med(fp, 'docs') },
  queriesPerSecond: { median: med(l, 'queries'), min: Math.min(...(rate[l]?.queries ?? [])), max: Math.max(...(rate[l]?.queries ?? [])), xFp32: med(l, 'queries') / med(fp, 'queries') },
  minCosineToFp32: rowCosines(emb[l] as Float32Array, emb[fp] as Float32Array, 384).min,
}));
const info = machineInfo();
console.log(JSON.stringify({ date: new Date().toISOString(), cpu: info.modelName, isa: info.isa, model: src, rounds, docs: docs.length, queries: queries.length, rows }, null, 1));
rmSync(dir, { recursive: true, force: true });
