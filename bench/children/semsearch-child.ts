// One semsearch measurement: load the model, warm up, time `reps` encodes of each workload, write the last
// embeddings and the timings. Started by bench/run-child.ts as `node --import tsx bench/children/semsearch-child.ts JOB`.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadModelFromDir, Matrix, type SentenceTransformer } from '../../src/index.js';
import { TransformerSession } from '../../src/model/onnx-session.js';
import type { EncodeJob, EncodeResult, WorkloadResult } from '../jobs.js';
import { onnxRuntimeVersion } from './versions.js';

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as EncodeJob;
const levers = job.levers ?? {};

async function encodeAll(model: SentenceTransformer, texts: string[]): Promise<Matrix> {
  if (levers.order !== 'input') return model.encode(texts, { batchSize: job.batchSize, ...(levers.batching !== undefined ? { batching: levers.batching } : {}) });
  // One call per batch in the given order: the padding a caller gets without length sorting.
  const out = new Float32Array(texts.length * model.dimension);
  for (let s = 0; s < texts.length; s += job.batchSize) {
    // 'fixed': the slice is one batch as given; padding-aware batching would re-sort and split it.
    const m = await model.encode(texts.slice(s, s + job.batchSize), { batchSize: job.batchSize, batching: 'fixed' });
    out.set(m.data, s * model.dimension);
  }
  return new Matrix(texts.length, model.dimension, out);
}

// Time spent inside ONNX Runtime, to show what share of encode() anything outside it (tokenising, padding,
// pooling, copying) could still win.
let ortSeconds = 0;
const originalRun = TransformerSession.prototype.run;
TransformerSession.prototype.run = async function (this: TransformerSession, batch) {
  const t = performance.now();
  try {
    return await originalRun.call(this, batch);
  } finally {
    ortSeconds += (performance.now() - t) / 1000;
  }
};

const t0 = performance.now();
const session = {
  ...(levers.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: levers.graphOptimizationLevel } : {}),
  ...(levers.enableCpuMemArena !== undefined ? { enableCpuMemArena: levers.enableCpuMemArena } : {}),
  ...(levers.enableMemPattern !== undefined ? { enableMemPattern: levers.enableMemPattern } : {}),
  ...(levers.allowSpinning !== undefined ? { allowSpinning: levers.allowSpinning } : {}),
};
const model = await loadModelFromDir(job.modelDir, { onnxFile: job.onnxFile, threads: job.threads, session, ...(levers.workers !== undefined ? { workers: levers.workers } : {}) });
const result: EncodeResult = { loadSeconds: (performance.now() - t0) / 1000, versions: { node: process.versions.node, 'onnxruntime-node': onnxRuntimeVersion() }, workloads: {}, peakRssMB: 0 };
for (const w of job.workloads) {
  const texts = JSON.parse(readFileSync(w.textsFile, 'utf8')) as string[];
  const tt = performance.now();
  const lengths = model.tokenize(texts).map((ids) => ids.length);
  const tokenizeSeconds = (performance.now() - tt) / 1000;
  if (job.warmupTexts > 0) await encodeAll(model, texts.slice(0, job.warmupTexts));
  const times: number[] = [];
  let emb: Matrix | undefined;
  let ort = 0;
  for (let r = 0; r < job.reps; r++) {
    const t = performance.now();
    ortSeconds = 0;
    emb = await encodeAll(model, texts);
    times.push((performance.now() - t) / 1000);
    ort += ortSeconds;
  }
  const m = emb as Matrix;
  writeFileSync(w.embeddingsFile, new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  const total = times.reduce((a, b) => a + b, 0);
  // With worker sessions (the default on 2+ threads) ONNX Runtime runs in other threads, out of this hook's sight.
  const wr: WorkloadResult = { times, items: texts.length, rows: m.rows, dim: m.dim, lengths, tokenizeSeconds, ...(total > 0 && ort > 0 ? { ortShare: ort / total } : {}) };
  result.workloads[w.name] = wr;
}
await model.dispose();
result.peakRssMB = process.resourceUsage().maxRSS / 1024;
writeFileSync(job.resultFile, JSON.stringify(result));
