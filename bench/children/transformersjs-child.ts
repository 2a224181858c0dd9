// One transformers.js measurement: feature-extraction on the same ONNX file, local files only, the same
// thread budget, pooling and normalisation from the model's own modules. Started by bench/run-child.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import type { EncodeJob, EncodeResult } from '../jobs.js';
import { onnxRuntimeVersion, packageVersion } from './versions.js';

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as EncodeJob;

// Nothing is fetched: the model folder is read in place.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = dirname(job.modelDir) + '/';
env.useFSCache = false;

/** sentence-transformers' order: longest text first (code points), so batches pad little. */
function sortedOrder(texts: string[]): number[] {
  const len = texts.map((t) => [...t].length);
  return texts.map((_, i) => i).sort((a, b) => (len[b] as number) - (len[a] as number) || a - b);
}

async function encodeAll(fe: FeatureExtractionPipeline, texts: string[], dim: number): Promise<Float32Array> {
  const order = job.order === 'sorted' ? sortedOrder(texts) : texts.map((_, i) => i);
  const out = new Float32Array(texts.length * dim);
  for (let s = 0; s < order.length; s += job.batchSize) {
    const idx = order.slice(s, s + job.batchSize);
    const t = await fe(
      idx.map((i) => texts[i] as string),
      { pooling: job.pooling === 'cls' ? 'cls' : 'mean', normalize: job.normalize === true },
    );
    const data = t.data as Float32Array;
    idx.forEach((orig, r) => out.set(data.subarray(r * dim, (r + 1) * dim), orig * dim));
  }
  return out;
}

const t0 = performance.now();
const fileName = basename(job.onnxFile).replace(/\.onnx$/, '');
const fe = (await pipeline('feature-extraction', basename(job.modelDir), {
  dtype: 'fp32',
  device: 'cpu',
  model_file_name: fileName,
  session_options: { intraOpNumThreads: job.threads, interOpNumThreads: 1, executionMode: 'sequential' },
})) as FeatureExtractionPipeline;
// Truncate at the model's max_seq_length, as sentence-transformers and semsearch do (tokenizer_config.json says 512).
// model_max_length is a getter over the tokenizer config in transformers.js 4.
if (job.maxSeqLength !== undefined) (fe.tokenizer as unknown as { _tokenizerConfig: { model_max_length: number } })._tokenizerConfig.model_max_length = job.maxSeqLength;
const probe = await fe(['dimension probe'], { pooling: job.pooling === 'cls' ? 'cls' : 'mean', normalize: job.normalize === true });
const dim = probe.dims[probe.dims.length - 1] as number;
const result: EncodeResult = {
  loadSeconds: (performance.now() - t0) / 1000,
  versions: { node: process.versions.node, '@huggingface/transformers': packageVersion('@huggingface/transformers'), 'onnxruntime-node': onnxRuntimeVersion() },
  workloads: {},
  peakRssMB: 0,
};
for (const w of job.workloads) {
  const texts = JSON.parse(readFileSync(w.textsFile, 'utf8')) as string[];
  if (job.warmupTexts > 0) await encodeAll(fe, texts.slice(0, job.warmupTexts), dim);
  const times: number[] = [];
  let emb: Float32Array = new Float32Array(0);
  for (let r = 0; r < job.reps; r++) {
    const t = performance.now();
    emb = await encodeAll(fe, texts, dim);
    times.push((performance.now() - t) / 1000);
  }
  writeFileSync(w.embeddingsFile, new Uint8Array(emb.buffer, emb.byteOffset, emb.byteLength));
  result.workloads[w.name] = { times, items: texts.length, rows: texts.length, dim };
}
await fe.dispose();
result.peakRssMB = process.resourceUsage().maxRSS / 1024;
writeFileSync(job.resultFile, JSON.stringify(result));
