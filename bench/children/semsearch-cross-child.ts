// One semsearch cross-encoder measurement: load, warm up, time `reps` predict() calls over the pairs, write the last
// scores and the timings. Started by bench/run-child.ts as `node --import tsx bench/children/semsearch-cross-child.ts JOB`.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadCrossEncoderFromDir, type TextPair } from '../../src/index.js';
import type { CrossJob, CrossResult } from '../jobs.js';
import { onnxRuntimeVersion } from './versions.js';

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as CrossJob;
const t0 = performance.now();
const model = await loadCrossEncoderFromDir(job.modelDir, { onnxFile: job.onnxFile, threads: job.threads });
const loadSeconds = (performance.now() - t0) / 1000;
const pairs = JSON.parse(readFileSync(job.pairsFile, 'utf8')) as TextPair[];
if (job.warmupPairs > 0) await model.predict(pairs.slice(0, job.warmupPairs), { batchSize: job.batchSize });
const times: number[] = [];
let scores: Float32Array = new Float32Array(0);
for (let r = 0; r < job.reps; r++) {
  const t = performance.now();
  scores = (await model.predict(pairs, { batchSize: job.batchSize })).data;
  times.push((performance.now() - t) / 1000);
}
writeFileSync(job.scoresFile, new Uint8Array(scores.buffer, scores.byteOffset, scores.byteLength));
await model.dispose();
const result: CrossResult = { loadSeconds, versions: { node: process.versions.node, 'onnxruntime-node': onnxRuntimeVersion() }, times, pairs: pairs.length, peakRssMB: process.resourceUsage().maxRSS / 1024 };
writeFileSync(job.resultFile, JSON.stringify(result));
