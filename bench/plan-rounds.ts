/**
 * The library's encode speed under each workers x threads plan, in interleaved rounds (each round starts one plan
 * later): docs/s (DL19 passages sampled by length) and queries/s (TREC DL queries), batches of 32, medians with
 * min-max. A plan is WxT, with "s" for spinning off: 1x2, 2x1, 2x2s.
 *
 *   node --conditions=source --import tsx bench/plan-rounds.ts --model DIR [--plans 1x2,2x1,2x2s] [--rounds 5] [--docs 256]
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/encoder/load-model.js';
import { machineInfo } from './machine.js';
import { median } from './stats.js';
import { loadCorpora, sampleByLength } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { model: { type: 'string' }, plans: { type: 'string', default: '1x2,2x1,2x2s' }, rounds: { type: 'string', default: '5' }, docs: { type: 'string', default: '256' } } });
if (values.model === undefined) throw new Error('--model DIR');
const plans = values.plans.split(',');
const { queries, docs: allDocs } = loadCorpora(root);
const docs = sampleByLength(allDocs, Number(values.docs), 2);
const rate: Record<string, { docs: number[]; queries: number[] }> = Object.fromEntries(plans.map((p) => [p, { docs: [], queries: [] }]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const plan of plans.map((_, i) => plans[(i + r) % plans.length] as string)) {
    const m = /^(\d+)x(\d+)(s?)$/.exec(plan);
    if (m === null) throw new Error(`plan ${plan}: WxT or WxTs`);
    const workers = Number(m[1]);
    const threads = Number(m[2]);
    // loadModel's threads is the budget its workers share: W workers of T threads each is a budget of W*T.
    const model = await loadModel(values.model, { workers, threads: workers * threads, ...(m[3] === 's' ? { session: { allowSpinning: false } } : {}) });
    await model.encode(docs.slice(0, 32));
    let t = performance.now();
    await model.encode(docs, { batchSize: 32 });
    rate[plan]?.docs.push(docs.length / ((performance.now() - t) / 1000));
    t = performance.now();
    await model.encode(queries, { batchSize: 32 });
    rate[plan]?.queries.push(queries.length / ((performance.now() - t) / 1000));
    await model.dispose();
    process.stderr.write(`round ${r + 1} ${plan}: docs ${rate[plan]?.docs.at(-1)?.toFixed(1)}/s, queries ${rate[plan]?.queries.at(-1)?.toFixed(1)}/s\n`);
  }
}
const sum = (xs: number[]): { median: number; min: number; max: number } => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
console.log(JSON.stringify({ date: new Date().toISOString(), cpu: machineInfo().modelName, isa: machineInfo().isa, model: values.model, rounds: Number(values.rounds), rows: plans.map((p) => ({ plan: p, docsPerSecond: sum(rate[p]?.docs ?? []), queriesPerSecond: sum(rate[p]?.queries ?? []) })) }, null, 1));
