import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { CRASH_KINDS, crashTrial, prepareCrashBench, type CrashBench } from './test-support/crash.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
let tmp: string;
let model: SentenceTransformer;
let bench: CrashBench;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-crash-'));
  model = await loadModelFromDir(BERT);
  bench = await prepareCrashBench(tmp, model, BERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

// Two kills of each kind here; scripts/crash-writes.ts runs as many as asked (npm run crash -- --runs 40).
test('kill -9 during semsearch add, delete, compact and server writes: acknowledged writes stay, half-writes never show, search equals a clean build (graph included)', async () => {
  const results = [];
  for (const [i, kind] of [...CRASH_KINDS, ...CRASH_KINDS].entries()) results.push(await crashTrial(bench, kind, 1000 + i));
  assert.equal(results.length, 8);
  // At least some kills must land while a write runs, or the test proves nothing.
  assert.ok(results.some((r) => r.killedMidway), JSON.stringify(results));
});
