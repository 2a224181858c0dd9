// The living index against its brute-force oracle, many seeds: see src/store/test-support/oracle.ts.
// Usage: npm run test:oracle -- [--seeds 40] [--seed 1] [--ops 150] [--model-every 8] [--shrink-ms 60000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import { describeFailure, runSeed, type OracleConfig } from '../src/store/test-support/oracle.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    ops: { type: 'string', default: '150' },
    'model-every': { type: 'string', default: '8' },
    'shrink-ms': { type: 'string', default: '60000' },
  },
});
const BERT = fileURLToPath(new URL('../src/model/fixtures/models/bert', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'semsearch-oracle-'));
const model = await loadModelFromDir(BERT);
const graphs = ['i8', 'f16', 'f32', null] as const;
let failed = 0;
let ops = 0;
let checks = 0;
const t0 = Date.now();
try {
  for (let i = 0; i < Number(values.seeds); i++) {
    const seed = Number(values.seed) + i;
    const useModel = Number(values['model-every']) > 0 && i % Number(values['model-every']) === Number(values['model-every']) - 1;
    const config: OracleConfig = {
      initial: 20 + ((seed * 37) % 280),
      ops: Number(values.ops),
      graph: graphs[i % 4 === 3 ? 1 + (i % 3) : 0] ?? null,
      vectors: useModel ? 'model' : 'synthetic',
      noise: [0.25, 0.05, 1][i % 3] as number,
      policy: i % 2 === 0 ? { tailRows: 8 + (seed % 40), tombstoneShare: 0.1 + (seed % 4) / 10 } : {},
    };
    const t = Date.now();
    const r = await runSeed({ model, modelRef: BERT, dir: tmp }, seed, config, Number(values['shrink-ms']));
    ops += r.ops;
    checks += r.checks;
    if (r.failure !== undefined) {
      failed++;
      console.log(`seed ${seed}: FAILED\n${describeFailure(r.failure)}`);
    } else {
      console.log(`seed ${seed} (${config.vectors}, graph ${config.graph}, ${config.initial} docs, noise ${config.noise}, policy ${JSON.stringify(config.policy)}): ${r.ops} ops, ${r.searches} searches, ${r.checks} checks: ok (${Date.now() - t} ms)`);
    }
  }
} finally {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`${values.seeds} seeds, ${ops} operations, ${checks} checks, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exitCode = failed > 0 ? 1 : 0;
