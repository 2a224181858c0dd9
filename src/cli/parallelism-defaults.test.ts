import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { defaultParallelism, spinningFor } from '../encoder/default-parallelism.js';
import { sessionPlan } from '../encoder/load-model.js';
import { describeRuntime } from '../encoder/runtime-report.js';
import { resolveOptions, serveParallelism } from '../server/options.js';
import type { Device } from '../model/device.js';

const CORES = [1, 2, 3, 4, 16];
const DEVICES: Device[] = ['cpu', 'cuda'];

test('loadModel, serve and doctor take their default workers x threads from the one rule, for every core count and device', async () => {
  for (const cores of CORES) {
    for (const device of DEVICES) {
      const rule = defaultParallelism(cores, device);
      const at = `${cores} cores, ${device}`;
      assert.ok(rule.workers >= 1 && rule.threadsPerWorker >= 1, at);
      assert.ok(rule.workers * rule.threadsPerWorker <= cores || cores === 0, `${at}: the rule never oversubscribes the cores`);
      assert.ok(rule.why.length > 0, at);
      // loadModel: its sessions and each one's intra-op threads (absent: ONNX Runtime's pool, one thread per core).
      const lm = sessionPlan({ device }, cores);
      assert.equal(lm.workers, rule.workers, `loadModel workers, ${at}`);
      assert.equal(lm.intraOpThreads ?? cores, rule.threadsPerWorker, `loadModel threads, ${at}`);
      // serve: workers, threads per worker, and spinning left on (the rule's threads fit the cores).
      assert.deepEqual(serveParallelism({ device }, cores), { workers: rule.workers, threads: rule.threadsPerWorker, allowSpinning: undefined }, `serve, ${at}`);
    }
    // doctor reports the CPU's rule, loadModel's plan and serve's, for the same core count.
    const rule = defaultParallelism(cores);
    const serve = serveParallelism({}, cores);
    const report = await describeRuntime({ cores, serve, indexWorkers: 1 });
    assert.deepEqual(report.threads.rule, rule, `doctor rule, ${cores} cores`);
    assert.equal(report.threads.loadModel.sessions, rule.workers, `doctor loadModel, ${cores} cores`);
    assert.equal(report.threads.loadModel.threadsPerSession, rule.threadsPerWorker, `doctor loadModel threads, ${cores} cores`);
    assert.deepEqual(report.threads.serve, { workers: rule.workers, threadsPerWorker: rule.threadsPerWorker }, `doctor serve, ${cores} cores`);
  }
});

test('serve resolves its defaults from the rule on this machine', () => {
  const cfg = resolveOptions({ index: 'unused-index-folder' });
  const rule = defaultParallelism(availableParallelism());
  assert.equal(cfg.workers, rule.workers);
  assert.equal(cfg.threads, rule.threadsPerWorker);
  assert.equal(cfg.allowSpinning, undefined);
});

test('explicit workers and threads override the rule; spinning goes off only where threads outnumber the cores', () => {
  assert.deepEqual(serveParallelism({ workers: 1 }, 4), { workers: 1, threads: 4, allowSpinning: undefined });
  assert.deepEqual(serveParallelism({ workers: 3 }, 16), { workers: 3, threads: 5, allowSpinning: undefined });
  assert.deepEqual(serveParallelism({ threads: 3 }, 4), { workers: defaultParallelism(4).workers, threads: 3, allowSpinning: defaultParallelism(4).workers * 3 > 4 ? false : undefined });
  assert.deepEqual(serveParallelism({ workers: 2, threads: 2 }, 2), { workers: 2, threads: 2, allowSpinning: false });
  assert.deepEqual(sessionPlan({ workers: 1 }, 4), { workers: 1 });
  assert.deepEqual(sessionPlan({ workers: 1, threads: 3 }, 4), { workers: 1, intraOpThreads: 3 });
  assert.deepEqual(sessionPlan({ workers: 4 }, 16), { workers: 4, intraOpThreads: 4 });
  // A threads budget is what the rule splits, as the cores are when none is given.
  assert.equal(sessionPlan({ threads: 1 }, 16).workers, defaultParallelism(1).workers);
  assert.equal(spinningFor(2, 1, 2), undefined);
  assert.equal(spinningFor(2, 2, 2), false);
  assert.throws(() => resolveOptions({ index: 'x', workers: 0 }), /workers must be a positive integer/);
  assert.throws(() => resolveOptions({ index: 'x', threads: 1.5 }), /threads must be a positive integer/);
});
