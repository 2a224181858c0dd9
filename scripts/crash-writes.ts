// kill -9 at random moments of index writes, many times, and verify the index after each: see
// src/store/test-support/crash.ts. Usage: npm run crash -- [--runs 40] [--seed 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelFromDir } from '../src/encoder/load-model.js';
import { CRASH_KINDS, crashTrial, prepareCrashBench, type TrialResult } from '../src/store/test-support/crash.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' }, seed: { type: 'string', default: '1' } } });
const runs = Number(values.runs);
const seed = Number(values.seed);
const BERT = fileURLToPath(new URL('../src/model/fixtures/models/bert', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'semsearch-crash-'));
const model = await loadModelFromDir(BERT);
const results: TrialResult[] = [];
let failed = 0;
try {
  const bench = await prepareCrashBench(tmp, model, BERT);
  for (let i = 0; i < runs; i++) {
    const kind = CRASH_KINDS[i % CRASH_KINDS.length] as (typeof CRASH_KINDS)[number];
    try {
      const r = await crashTrial(bench, kind, seed * 100_000 + i);
      results.push(r);
      const undone = r.recovered.rows + r.recovered.deletes + r.recovered.files > 0 ? `; recovery undid ${r.recovered.rows} rows, ${r.recovered.deletes} deletes, ${r.recovered.files} files` : '';
      console.log(`run ${i + 1}/${runs} ${kind}: killed ${r.killedMidway ? 'mid-run' : 'after it finished'} (+${r.delayMs} ms), ${r.acked} writes acknowledged, ${r.committed} committed${undone}: verified`);
    } catch (e) {
      failed++;
      console.log(`run ${i + 1}/${runs} ${kind} (seed ${seed * 100_000 + i}): FAILED: ${(e as Error).message}`);
    }
  }
} finally {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
const byKind = CRASH_KINDS.map((k) => {
  const rs = results.filter((r) => r.kind === k);
  const undone = rs.filter((r) => r.recovered.rows + r.recovered.deletes + r.recovered.files > 0).length;
  return `${k}: ${rs.length} verified (${rs.filter((r) => r.killedMidway).length} killed mid-run, ${undone} left uncommitted work that recovery undid, ${rs.filter((r) => r.committed > r.acked).length} with an unacknowledged write that had committed)`;
});
console.log(`\n${results.length}/${runs} runs verified, ${failed} failed\n${byKind.join('\n')}`);
process.exit(failed > 0 ? 1 : 0);
