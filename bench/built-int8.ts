/**
 * Dynamic int8 of the graphs semsearch builds (src/model/graph, GraphOptions.int8) against fp32 and against the hub's
 * own quantized file, in one run on this machine: cosine of the embeddings to fp32, NDCG@10 of the DL19 BM25 top-100
 * re-ranked (bench/quality.ts), and docs/s. Needs the real all-MiniLM-L6-v2 (tools/reference/export_real.py).
 *
 *   node --conditions=source --import tsx bench/built-int8.ts [--model DIR] [--docs 256]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import { buildOnnx } from '../src/model/graph/build.js';
import { machineInfo } from './machine.js';
import { measureQuality } from './quality.js';
import { rowCosines } from './stats.js';
import { dataDir, loadCorpora, sampleByLength } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { model: { type: 'string', default: join(homedir(), '.cache', 'semsearch', 'real', 'all-MiniLM-L6-v2') }, docs: { type: 'string', default: '256' } } });
const src = values.model;
const dir = mkdtempSync(join(tmpdir(), 'semsearch-int8-'));
for (const f of readdirSync(src)) if (f !== 'onnx') symlinkSync(join(src, f), join(dir, f));
mkdirSync(join(dir, 'onnx'));
for (const f of readdirSync(join(src, 'onnx'))) symlinkSync(join(src, 'onnx', f), join(dir, 'onnx', f));
const t0 = performance.now();
writeFileSync(join(dir, 'onnx', 'built.onnx'), buildOnnx(dir));
writeFileSync(join(dir, 'onnx', 'built_s8.onnx'), buildOnnx(dir, { int8: 's8' }));
writeFileSync(join(dir, 'onnx', 'built_u8.onnx'), buildOnnx(dir, { int8: 'u8' }));
const buildSeconds = (performance.now() - t0) / 1000;
const files: Record<string, string> = {
  fp32: 'onnx/model.onnx',
  int8: 'onnx/model_qint8_avx512_vnni.onnx',
  'hub quint8_avx2': 'onnx/model_quint8_avx2.onnx',
  built: 'onnx/built.onnx',
  'built s8': 'onnx/built_s8.onnx',
  'built u8': 'onnx/built_u8.onnx',
};
const docs = sampleByLength(loadCorpora(root).docs, Number(values.docs), 2);
const emb: Record<string, Float32Array> = {};
const rate: Record<string, number> = {};
for (const [label, file] of Object.entries(files)) {
  const m = await loadModelFromDir(dir, { onnxFile: file, threads: 2, onWarning: () => undefined });
  await m.encode(docs.slice(0, 32));
  const t = performance.now();
  emb[label] = (await m.encode(docs)).data;
  rate[label] = docs.length / ((performance.now() - t) / 1000);
  await m.dispose();
}
const quality = await measureQuality(dir, dataDir(root), 2, files as { fp32: string; int8: string });
const rows = Object.keys(files).map((label) => ({
  file: label,
  cosineToFp32: rowCosines(emb[label] as Float32Array, emb['fp32'] as Float32Array, 384),
  ndcg10: quality.ndcg10[label],
  pointsBelowFp32: ((quality.ndcg10['fp32'] as number) - (quality.ndcg10[label] as number)) * 100,
  docsPerSecond: Math.round(rate[label] as number),
}));
console.log(JSON.stringify({ cpu: machineInfo().modelName, isa: machineInfo().isa, model: src, buildSeconds, docs: docs.length, rows }, null, 1));
rmSync(dir, { recursive: true, force: true });
