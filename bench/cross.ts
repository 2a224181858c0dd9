// The bench's 'cross' section: cross-encoder pairs/s of semsearch's CrossEncoder.predict beside sentence-transformers'
// CrossEncoder.predict on torch and on ONNX Runtime, in one run, on a random model of MiniLM-L6 size
// (cross-encoder/ms-marco-MiniLM-L6-v2's shape), each system in its own process with the same threads and batch.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuietCheck } from './machine.js';
import type { CrossJob, CrossResult } from './jobs.js';
import type { BenchOptions } from './options.js';
import { runChild, type Contention } from './run-child.js';
import { throughput } from './stats.js';
import { sampleByLength } from './workloads.js';
import { spawnSync } from 'node:child_process';

export const CROSS_MODEL = 'cross-minilm-l6';

export interface CrossRow {
  system: CrossJob['system'];
  label: string;
  pairsPerSecond: number;
  /** Median pass over the slowest: how steady the passes were. */
  spread: number;
  /** Largest |score − sentence-transformers torch's score| over the pairs (same pairs, same model). */
  maxAbsDiffVsTorch: number;
  peakRssMB: number;
  othersCores: number;
  versions: Record<string, string>;
}

export interface CrossSection {
  model: string;
  pairs: number;
  batchSize: number;
  threads: number;
  reps: number;
  rows: CrossRow[];
  /** semsearch ÷ each peer, pairs/s. */
  ratios: { vsTorch: number; vsOnnx: number };
}

interface Context {
  opts: BenchOptions;
  repoRoot: string;
  workDir: string;
  corpora: { queries: string[]; docs: string[] };
  quiet: () => Promise<QuietCheck>;
  log: (s: string) => void;
}

const LABELS: Record<CrossJob['system'], string> = {
  semsearch: 'semsearch CrossEncoder.predict (onnxruntime-node)',
  'st-torch': 'sentence-transformers CrossEncoder.predict (torch)',
  'st-onnx': 'sentence-transformers CrossEncoder.predict (onnx)',
};

/** The random cross-encoder of MiniLM-L6 size, made once by tools/reference/make_bench_models.py (needs the Python venv). */
function ensureModel(ctx: Context): string | null {
  const dir = join(ctx.opts.benchModelsDir, CROSS_MODEL);
  if (existsSync(join(dir, 'bench-model.json'))) return dir;
  if (!existsSync(ctx.opts.python)) {
    ctx.log(`  ${dir} is missing and ${ctx.opts.python} does not exist: cross section skipped (see tools/reference/README.md)`);
    return null;
  }
  ctx.log(`  generating ${CROSS_MODEL} (random weights, real size) into ${ctx.opts.benchModelsDir}`);
  spawnSync(ctx.opts.python, ['tools/reference/make_bench_models.py', ctx.opts.benchModelsDir, '--only', CROSS_MODEL], { cwd: ctx.repoRoot, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return existsSync(join(dir, 'bench-model.json')) ? dir : null;
}

/**
 * Pairs as a re-ranker meets them: each TREC DL query with passages of the DL19 subset, the passages sampled over
 * the length distribution (the same sample every run), `n` pairs in all.
 */
function makePairs(ctx: Context, n: number): [string, string][] {
  const docs = sampleByLength(ctx.corpora.docs, n, 20241130);
  const queries = sampleByLength(ctx.corpora.queries, Math.min(n, ctx.corpora.queries.length), 20241131);
  return docs.map((d, i) => [queries[i % queries.length] as string, d]);
}

export async function measureCross(ctx: Context): Promise<CrossSection | null> {
  const dir = ensureModel(ctx);
  if (dir === null) return null;
  const hasPython = existsSync(ctx.opts.python);
  const n = ctx.opts.quick ? 64 : ctx.opts.docsBase;
  const pairs = makePairs(ctx, n);
  const pairsFile = join(ctx.workDir, `cross-${n}.pairs.json`);
  writeFileSync(pairsFile, JSON.stringify(pairs));
  const systems: CrossJob['system'][] = hasPython ? ['st-torch', 'st-onnx', 'semsearch'] : ['semsearch'];
  const measured = new Map<CrossJob['system'], { res: CrossResult & { contention: Contention }; scores: Float32Array }>();
  ctx.log(`\ncross-encoders: ${CROSS_MODEL} (random weights, MiniLM-L6 size), ${pairs.length} (query, passage) pairs, batch ${ctx.opts.batchSize}, ${ctx.opts.threads} threads`);
  for (const system of systems) {
    const tag = `cross-${system}`;
    const job: CrossJob = {
      kind: 'cross',
      system,
      modelDir: dir,
      onnxFile: 'onnx/model.onnx',
      threads: ctx.opts.threads,
      batchSize: ctx.opts.batchSize,
      warmupPairs: ctx.opts.batchSize,
      reps: ctx.opts.reps,
      pairsFile,
      scoresFile: join(ctx.workDir, `${tag}.f32`),
      resultFile: join(ctx.workDir, `${tag}.result.json`),
    };
    await ctx.quiet();
    const res = await runChild<CrossResult>(job, ctx.workDir, ctx.repoRoot, ctx.opts.python, tag);
    const buf = readFileSync(job.scoresFile);
    measured.set(system, { res, scores: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) });
    rmSync(job.scoresFile, { force: true });
  }
  const torch = measured.get('st-torch')?.scores;
  const rows: CrossRow[] = [...measured].map(([system, { res, scores }]) => {
    const t = throughput(res.pairs, res.times);
    let diff = Number.NaN;
    if (torch !== undefined) {
      diff = 0;
      for (let i = 0; i < scores.length; i++) diff = Math.max(diff, Math.abs((scores[i] as number) - (torch[i] as number)));
    }
    return { system, label: LABELS[system], pairsPerSecond: t.median, spread: t.median / Math.max(t.min, 1e-12), maxAbsDiffVsTorch: diff, peakRssMB: res.peakRssMB, othersCores: res.contention.othersCores, versions: res.versions };
  });
  const rate = (s: CrossJob['system']): number => rows.find((r) => r.system === s)?.pairsPerSecond ?? Number.NaN;
  const section: CrossSection = {
    model: CROSS_MODEL,
    pairs: pairs.length,
    batchSize: ctx.opts.batchSize,
    threads: ctx.opts.threads,
    reps: ctx.opts.reps,
    rows,
    ratios: { vsTorch: rate('semsearch') / rate('st-torch'), vsOnnx: rate('semsearch') / rate('st-onnx') },
  };
  for (const r of rows) ctx.log(`  ${r.label.padEnd(56)} ${r.pairsPerSecond.toFixed(1).padStart(8)} pairs/s  max |Δ| vs torch ${Number.isFinite(r.maxAbsDiffVsTorch) ? r.maxAbsDiffVsTorch.toExponential(1) : '-'}  RSS ${r.peakRssMB.toFixed(0)} MB`);
  ctx.log(`  semsearch ÷ ST torch ${section.ratios.vsTorch.toFixed(2)}×, ÷ ST onnx ${section.ratios.vsOnnx.toFixed(2)}×`);
  return section;
}

/** The section's lines in docs/BENCHMARK.md. */
export function crossTable(c: CrossSection): string[] {
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  return [
    `### Cross-encoders: pairs/s (${c.model}, random weights of cross-encoder/ms-marco-MiniLM-L6-v2's size)`,
    '',
    `${c.pairs} (query, passage) pairs (TREC DL queries, DL19 passages), batch ${c.batchSize}, ${c.threads} threads, median of ${c.reps} passes, each system in its own process.`,
    '',
    '| system | pairs/s | semsearch ÷ this | max \\|score − torch\\| | peak RSS MB |',
    '|---|---:|---:|---:|---:|',
    ...c.rows.map((r) => {
      const ours = c.rows.find((x) => x.system === 'semsearch')?.pairsPerSecond ?? Number.NaN;
      return `| ${r.label} | ${f(r.pairsPerSecond)} | ${r.system === 'semsearch' ? '1.00' : f(ours / r.pairsPerSecond, 2)} | ${Number.isFinite(r.maxAbsDiffVsTorch) ? r.maxAbsDiffVsTorch.toExponential(1) : '-'} | ${f(r.peakRssMB, 0)} |`;
    }),
    '',
  ];
}
