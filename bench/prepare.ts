import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_MODEL_NAMES, REAL_MODEL_NAME } from './models.js';
import type { BenchOptions } from './options.js';

/** Where a model of the run lives: the real one beside the other real exports, the random ones in bench-models/. */
export function modelDir(o: BenchOptions, name: string): string {
  return name === REAL_MODEL_NAME ? join(o.realModelsDir, REAL_MODEL_NAME) : join(o.benchModelsDir, name);
}

function runPython(o: BenchOptions, args: string[], repoRoot: string, log: (s: string) => void): boolean {
  log(`  $ ${o.python} ${args.join(' ')}`);
  const r = spawnSync(o.python, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return r.status === 0;
}

/**
 * Make what the run needs and the cache lacks, with the Python reference tools (tools/reference/README.md):
 * the random-weight models of the real sizes and the real all-MiniLM-L6-v2 export. Nothing is written into the
 * repository. Without the Python venv, missing models are skipped with a message.
 */
export function ensureModels(o: BenchOptions, repoRoot: string, log: (s: string) => void): void {
  const hasPython = existsSync(o.python);
  const missing = o.models.filter((n) => (BENCH_MODEL_NAMES as readonly string[]).includes(n) && !existsSync(join(modelDir(o, n), 'bench-model.json')));
  if (missing.length > 0) {
    if (!hasPython) log(`  bench models ${missing.join(', ')} are missing and ${o.python} does not exist: skipped (see tools/reference/README.md)`);
    else {
      log(`  generating bench models ${missing.join(', ')} (random weights, real sizes) into ${o.benchModelsDir}`);
      runPython(o, ['tools/reference/make_bench_models.py', o.benchModelsDir, '--only', ...missing], repoRoot, log);
    }
  }
  const real = modelDir(o, REAL_MODEL_NAME);
  if (o.models.includes(REAL_MODEL_NAME) && !existsSync(join(real, 'onnx', 'model.onnx'))) {
    if (!hasPython) log(`  ${real} is missing and ${o.python} does not exist: skipped (tools/reference/export_real.py makes it)`);
    else {
      log(`  exporting the real all-MiniLM-L6-v2 into ${real}`);
      runPython(o, ['tools/reference/export_real.py', real], repoRoot, log);
    }
  }
}

/** The hub's optimised variants (O1, O2) of one model, made as the hub's were, into bench-variants/<name>/onnx/. */
export function ensureVariants(o: BenchOptions, name: string, repoRoot: string, levels: string[], log: (s: string) => void): Record<string, string> {
  const out = join(o.variantsDir, name);
  const missing = levels.filter((l) => !existsSync(join(out, 'onnx', `model_${l}.onnx`)));
  if (missing.length > 0 && existsSync(o.python)) runPython(o, ['bench/peers/st_variants.py', modelDir(o, name), out, ...missing], repoRoot, log);
  const files: Record<string, string> = {};
  for (const l of levels) {
    const f = join(out, 'onnx', `model_${l}.onnx`);
    if (existsSync(f)) files[l] = f;
  }
  return files;
}
