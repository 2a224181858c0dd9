// `npm run bench`: encoding throughput of semsearch against its peers on this machine, in one run.
// Every system runs in its own process on the same texts with the same thread budget, one after the other,
// after a check that nobody else is using the CPU. See docs/BENCHMARK.md for the method and the results.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EncodeJob, EncodeResult, SemsearchLevers } from './jobs.js';
import { cpuBusyCores, machineInfo, waitForQuiet, type QuietCheck } from './machine.js';
import { describeModel, REAL_MODEL_NAME, sequenceFlops, workloadFlops, type BenchModel } from './models.js';
import { parseOptions } from './options.js';
import { ensureModels, ensureVariants, modelDir } from './prepare.js';
import { measureQuality } from './quality.js';
import { measureCross } from './cross.js';
import { evaluateTargets, writeMarkdown, printSummary } from './report.js';
import type { BenchResults, Config, ConfigResult, DefaultsResult, DefaultsRow, LeverResult, Precision, Ratio, WorkloadInfo, WorkloadMeasure } from './results.js';
import { runChild, type Contention } from './run-child.js';
import { maxAbsDiff, rowCosines, throughput } from './stats.js';
import { dataDir, loadCorpora, sampleByLength } from './workloads.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const started = new Date();
const date = started.toISOString().slice(0, 10);
const log = (s: string): void => console.log(s);

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const opts = parseOptions(process.argv.slice(2), repoRoot, date);

/**
 * The library's defaults before the 'defaults' study changed them (ONNX Runtime's own: graph level "all", idle
 * threads spinning; one session), set explicitly so the run compares them with whatever the defaults are now.
 */
const BEFORE_DEFAULTS: SemsearchLevers = { graphOptimizationLevel: 'all', allowSpinning: true, workers: 1 };

/** More configurations for the defaults section, to choose new defaults from: SEMSEARCH_BENCH_CANDIDATES=1. */
const DEFAULT_CANDIDATES: Record<string, SemsearchLevers> =
  process.env['SEMSEARCH_BENCH_CANDIDATES'] === '1'
    ? {
        'no spinning': { allowSpinning: false, workers: 1 },
        'graph extended': { graphOptimizationLevel: 'extended', workers: 1 },
        'workers 2': { workers: 2, allowSpinning: true },
        'workers 2, no spinning': { workers: 2, allowSpinning: false },
        'no spinning, extended': { allowSpinning: false, graphOptimizationLevel: 'extended', workers: 1 },
      }
    : {};
const machine = machineInfo();
const hasPython = existsSync(opts.python);
const workDir = mkdtempSync(join(tmpdir(), 'semsearch-bench-'));
const results: BenchResults = {
  schema: 'semsearch-bench/1',
  date,
  started: started.toISOString(),
  finished: '',
  quick: opts.quick,
  git: { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain', '--', 'src', 'bench']) !== '' },
  command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  machine,
  loadAverageAtStart: loadavg(),
  settings: (({ out: _o, docsMd: _d, ...rest }) => rest)(opts),
  data: { dir: dataDir(repoRoot), files: [] },
  gemm: null,
  models: [],
  levers: [],
  scaling: [],
  batch: [],
  quality: null,
  targets: [],
  notes: [],
};

log(`semsearch encode benchmark ${date}${opts.quick ? ' (quick)' : ''}`);
log(`machine: ${machine.modelName}, ${machine.cores} cores, ${machine.mhz.toFixed(0)} MHz, AVX-512 ${machine.avx512 ? 'yes' : 'no'}, VNNI ${machine.avx512vnni ? 'yes' : 'no'}; peak ${machine.peakGflops.toFixed(1)} GFLOP/s fp32`);
log(`settings: threads ${opts.threads}, batch ${opts.batchSize}, reps ${opts.reps}, models ${opts.models.join(', ')}, sections ${opts.sections.join(', ')}`);
if (!hasPython) {
  log(`Python peers: ${opts.python} not found, so sentence-transformers is not measured (tools/reference/README.md sets it up)`);
  results.notes.push(`no Python at ${opts.python}: sentence-transformers peers skipped`);
}
ensureModels(opts, repoRoot, log);
const corpora = loadCorpora(repoRoot);
results.data.files = corpora.files;

async function quiet(): Promise<QuietCheck> {
  return waitForQuiet(opts.maxBusyCores, opts.maxWaitSeconds, log);
}

let childCount = 0;
type Measured = { res: EncodeResult & { contention: Contention }; q: QuietCheck; emb: Record<string, Float32Array>; attempts: number };

/**
 * Measure one configuration; when other processes took more than the allowed CPU while it ran, measure it
 * again (up to `retries` times) and keep the least disturbed attempt.
 */
async function run(config: Config, m: BenchModel, texts: Record<string, string[]>, retries = opts.retries): Promise<Measured> {
  let best: Measured | null = null;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const r = await runOnce(config, m, texts);
    if (best === null || r.res.contention.othersCores < best.res.contention.othersCores) best = { ...r, attempts: attempt };
    else best.attempts = attempt;
    if (r.res.contention.othersCores <= opts.maxBusyCores) break;
    if (attempt <= retries) log(`  ${config.label || config.id}: other processes used ${fmt(r.res.contention.othersCores, 2)} cores meanwhile; measuring again`);
  }
  return best as Measured;
}

async function runOnce(config: Config, m: BenchModel, texts: Record<string, string[]>, reps = opts.reps): Promise<Omit<Measured, 'attempts'>> {
  const tag = `c${++childCount}-${m.name}-${config.id}`;
  const workloads = Object.entries(texts).map(([name, t]) => {
    const textsFile = join(workDir, `${m.name}-${name}-${t.length}.texts.json`);
    if (!existsSync(textsFile)) writeFileSync(textsFile, JSON.stringify(t));
    return { name, textsFile, embeddingsFile: join(workDir, `${tag}-${name}.f32`) };
  });
  const job: EncodeJob = {
    kind: 'encode',
    system: config.system,
    modelDir: m.dir,
    onnxFile: config.file,
    backend: config.system === 'st-torch' ? 'torch' : 'onnx',
    threads: config.threads ?? opts.threads,
    batchSize: config.batchSize ?? opts.batchSize,
    warmupTexts: config.batchSize ?? opts.batchSize,
    reps,
    workloads,
    resultFile: join(workDir, `${tag}.result.json`),
    pooling: m.pooling,
    normalize: m.normalize,
    maxSeqLength: m.maxSeqLength,
    ...(config.order !== undefined ? { order: config.order } : {}),
    ...(config.levers !== undefined ? { levers: config.levers } : {}),
  };
  const q = await quiet();
  const res = await runChild(job, workDir, repoRoot, opts.python, tag);
  const emb: Record<string, Float32Array> = {};
  for (const w of workloads) {
    const buf = readFileSync(w.embeddingsFile);
    emb[w.name] = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    rmSync(w.embeddingsFile, { force: true });
  }
  return { res, q, emb };
}

function fmt(x: number, d = 1): string {
  return Number.isFinite(x) ? x.toFixed(d) : '-';
}

/** How many texts per pass: the same seconds for every model, so big models get fewer documents. */
function sizes(m: BenchModel): { docs: number; queries: number } {
  const l6 = { layers: 6, hidden: 384, intermediate: 1536 };
  const factor = sequenceFlops(m, 96) / sequenceFlops(l6, 96);
  return {
    docs: Math.min(corpora.docs.length, Math.max(opts.minDocs, Math.round(opts.docsBase / factor / 8) * 8)),
    queries: Math.min(corpora.queries.length, Math.max(opts.minQueries, Math.round(opts.queriesBase / factor))),
  };
}

function peerConfigs(m: BenchModel, index: number): Config[] {
  const int8 = m.files.int8;
  const c: Config[] = [{ id: 'semsearch-fp32', label: 'semsearch fp32', system: 'semsearch', precision: 'fp32', file: m.files.fp32 }];
  if (int8) c.push({ id: 'semsearch-int8', label: 'semsearch int8', system: 'semsearch', precision: 'int8', file: int8 });
  if (!opts.sections.includes('peers')) return c;
  if (hasPython) {
    c.push({ id: 'st-torch-fp32', label: 'sentence-transformers torch fp32', system: 'st-torch', precision: 'fp32', file: m.files.fp32 });
    c.push({ id: 'st-onnx-fp32', label: 'sentence-transformers onnx fp32', system: 'st-onnx', precision: 'fp32', file: m.files.fp32 });
    if (int8) c.push({ id: 'st-onnx-int8', label: 'sentence-transformers onnx int8', system: 'st-onnx', precision: 'int8', file: int8 });
  }
  c.push({ id: 'tjs-fp32', label: 'transformers.js fp32', system: 'transformers.js', precision: 'fp32', file: m.files.fp32, order: 'input' });
  if (int8) c.push({ id: 'tjs-int8', label: 'transformers.js int8', system: 'transformers.js', precision: 'int8', file: int8, order: 'input' });
  if (opts.tjsSorted && (index === 0 || opts.quick)) {
    // fp32 and the first model only: the engine-against-engine comparison once keeps the run short.
    c.push({ id: 'tjs-sorted-fp32', label: 'transformers.js fp32, length-sorted batches', system: 'transformers.js', precision: 'fp32', file: m.files.fp32, order: 'sorted' });
  }
  return c;
}

async function measureModel(name: string, index: number): Promise<void> {
  const m = describeModel(name, modelDir(opts, name), name !== REAL_MODEL_NAME);
  if (m === null) {
    log(`\n${name}: not found in ${modelDir(opts, name)}; skipped`);
    results.notes.push(`${name}: model folder missing, skipped`);
    return;
  }
  const n = sizes(m);
  const texts = { queries: sampleByLength(corpora.queries, n.queries, 1), docs: sampleByLength(corpora.docs, n.docs, 2) };
  log(`\n${m.label}: ${n.queries} queries, ${n.docs} docs per pass, ${opts.reps} timed pass(es) after a warm-up batch`);
  const configs = peerConfigs(m, index);
  const runs: (Measured & { config: Config })[] = [];
  // Rounds: every configuration is measured once per round (one timed pass each), in an order rotated per
  // round, so that a neighbour's burst of CPU use lands on several systems instead of all passes of one.
  const rounds = Math.max(1, opts.rounds);
  const repsPerRound = Math.max(1, Math.round(opts.reps / rounds));
  for (let round = 0; round < rounds; round++) {
    const rot = (index + round) % configs.length;
    const order = [...configs.slice(rot), ...configs.slice(0, rot)];
    for (const config of order) {
      try {
        const r = rounds > 1 ? { ...(await runOnce(config, m, texts, repsPerRound)), attempts: 1 } : await run(config, m, texts);
        const prev = runs.find((x) => x.config === config);
        if (prev === undefined) runs.push({ config, ...r });
        else {
          // Pool the passes of all rounds; contention is averaged over them, memory is the worst round's.
          for (const [w, wr] of Object.entries(r.res.workloads)) prev.res.workloads[w]?.times.push(...wr.times);
          const n = round + 1;
          prev.res.contention = {
            othersCores: (prev.res.contention.othersCores * round + r.res.contention.othersCores) / n,
            nicedCores: (prev.res.contention.nicedCores * round + r.res.contention.nicedCores) / n,
            childCores: (prev.res.contention.childCores * round + r.res.contention.childCores) / n,
            seconds: prev.res.contention.seconds + r.res.contention.seconds,
          };
          prev.res.peakRssMB = Math.max(prev.res.peakRssMB, r.res.peakRssMB);
          prev.res.loadSeconds = Math.min(prev.res.loadSeconds, r.res.loadSeconds);
          prev.emb = r.emb;
          prev.attempts += 1;
        }
        if (round === rounds - 1) {
          const w = (runs.find((x) => x.config === config) as Measured).res;
          log(
            `  ${config.label.padEnd(46)} queries ${fmt(throughput(w.workloads['queries']?.items ?? 0, w.workloads['queries']?.times ?? []).median).padStart(7)}/s  docs ${fmt(throughput(w.workloads['docs']?.items ?? 0, w.workloads['docs']?.times ?? []).median).padStart(7)}/s  peak RSS ${fmt(w.peakRssMB, 0)} MB  (others ${fmt(w.contention.othersCores, 2)} cores)`,
          );
        }
      } catch (e) {
        log(`  ${config.label}: FAILED ${(e as Error).message}`);
        results.notes.push(`${m.name} ${config.label}: failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (rounds > 1 && round < rounds - 1) log(`  round ${round + 1}/${rounds} done`);
  }
  const ours = runs.find((r) => r.config.id === 'semsearch-fp32');
  const lengths: Record<string, number[]> = {};
  for (const w of Object.keys(texts)) lengths[w] = ours?.res.workloads[w]?.lengths ?? [];
  const workloads: Record<string, WorkloadInfo> = {};
  for (const [w, ls] of Object.entries(lengths)) {
    const sorted = workloadFlops(m, ls, opts.batchSize, true);
    const input = workloadFlops(m, ls, opts.batchSize, false);
    workloads[w] = {
      items: ls.length,
      tokens: sorted.tokens,
      meanTokens: sorted.tokens / Math.max(1, ls.length),
      paddedTokensSorted: sorted.paddedTokens,
      paddedTokensInput: input.paddedTokens,
      usefulGflop: sorted.useful / 1e9,
    };
  }
  const configResults: ConfigResult[] = runs.map(({ config, res, q, emb, attempts }) => {
    const ref = runs.find((r) => r.config.system === 'semsearch' && r.config.precision === config.precision && r.config.levers === undefined);
    const ws: Record<string, WorkloadMeasure> = {};
    for (const [w, wr] of Object.entries(res.workloads)) {
      const tp = throughput(wr.items, wr.times);
      const info = workloads[w] as WorkloadInfo;
      const gflops = (info.usefulGflop * tp.median) / Math.max(1, info.items);
      const peak = config.precision === 'int8' ? machine.peakInt8Gops : machine.peakGflops;
      const measure: WorkloadMeasure = { items: wr.items, throughput: tp, gflops, peakShare: gflops / peak };
      if (wr.tokenizeSeconds !== undefined) measure.tokenizeShare = wr.tokenizeSeconds / (1 / tp.median) / wr.items;
      if (wr.ortShare !== undefined) measure.ortShare = wr.ortShare;
      const mine = emb[w];
      const theirs = ref?.emb[w];
      if (mine && theirs && ref && ref !== runs.find((r) => r.config === config) && mine.length === theirs.length) {
        measure.cosineVsSemsearch = { ...rowCosines(mine, theirs, wr.dim), maxAbsDiff: maxAbsDiff(mine, theirs), against: ref.config.label };
      }
      ws[w] = measure;
    }
    return { config, loadSeconds: res.loadSeconds, peakRssMB: res.peakRssMB, versions: res.versions, quiet: q, contention: res.contention, attempts, workloads: ws };
  });
  // semsearch int8 against semsearch fp32: what the quantized variant changes.
  const i8 = runs.find((r) => r.config.id === 'semsearch-int8');
  const i8res = configResults.find((r) => r.config.id === 'semsearch-int8');
  if (i8 && ours && i8res) {
    for (const w of Object.keys(texts)) {
      const a = i8.emb[w];
      const b = ours.emb[w];
      const dim = i8.res.workloads[w]?.dim ?? 1;
      if (a && b && i8res.workloads[w]) i8res.workloads[w].cosineVsSemsearch = { ...rowCosines(a, b, dim), maxAbsDiff: maxAbsDiff(a, b), against: 'semsearch fp32' };
    }
  }
  const ratios: Ratio[] = [];
  const med = (id: string, w: string): number => configResults.find((r) => r.config.id === id)?.workloads[w]?.throughput.median ?? Number.NaN;
  for (const w of Object.keys(texts)) {
    for (const r of configResults) {
      if (r.config.system === 'semsearch') continue;
      const oursId = `semsearch-${r.config.precision}`;
      ratios.push({ workload: w, ours: oursId, peer: r.config.id, ratio: med(oursId, w) / med(r.config.id, w), ourMedian: med(oursId, w), peerMedian: med(r.config.id, w) });
    }
    // The int8 target is against torch fp32.
    if (configResults.some((r) => r.config.id === 'st-torch-fp32')) {
      ratios.push({ workload: w, ours: 'semsearch-int8', peer: 'st-torch-fp32', ratio: med('semsearch-int8', w) / med('st-torch-fp32', w), ourMedian: med('semsearch-int8', w), peerMedian: med('st-torch-fp32', w) });
    }
  }
  results.models.push({ model: m, workloads, results: configResults, ratios });
}

async function measureLevers(name: string): Promise<void> {
  const m = describeModel(name, modelDir(opts, name), name !== REAL_MODEL_NAME);
  if (m === null) return;
  log(`\nspeed levers on ${m.label} (semsearch only; each against the default configuration of the same run)`);
  const n = sizes(m);
  const texts = { queries: sampleByLength(corpora.queries, n.queries, 1), docs: sampleByLength(corpora.docs, n.docs, 2) };
  // O2 only: O1 is the basic level that ONNX Runtime applies at load anyway.
  const variants = ensureVariants(opts, name, repoRoot, ['O2'], log);
  const f = m.files.fp32;
  const levers: { lever: string; detail: string; config: Config }[] = [
    { lever: 'baseline', detail: `defaults: onnx/model.onnx, graph optimisation "all", arena and memory pattern on, spinning on, ${opts.threads} intra-op threads, at most ${opts.batchSize} per batch, padding-aware batches (sorted by token count, cut where padding costs more than a pass)`, config: { id: 'baseline', label: 'baseline', system: 'semsearch', precision: 'fp32', file: f, levers: {} } },
    { lever: 'fixed batches', detail: `sentence-transformers' batches: sorted by character count, cut every ${opts.batchSize} texts (encode's batching: "fixed")`, config: { id: 'fixed-batches', label: 'fixed batches', system: 'semsearch', precision: 'fp32', file: f, levers: { batching: 'fixed' } } },
    { lever: 'no length sorting', detail: `batches of ${opts.batchSize} in the given order (padding to each batch's longest)`, config: { id: 'unsorted', label: 'unsorted', system: 'semsearch', precision: 'fp32', file: f, levers: { order: 'input' } } },
    { lever: 'graph optimisation "basic"', detail: 'constant folding and redundant-node removal only', config: { id: 'opt-basic', label: 'basic', system: 'semsearch', precision: 'fp32', file: f, levers: { graphOptimizationLevel: 'basic' } } },
    { lever: 'graph optimisation "extended"', detail: 'basic + operator fusions, no layout transforms', config: { id: 'opt-extended', label: 'extended', system: 'semsearch', precision: 'fp32', file: f, levers: { graphOptimizationLevel: 'extended' } } },
    { lever: 'memory arena off', detail: 'enableCpuMemArena: false', config: { id: 'no-arena', label: 'no arena', system: 'semsearch', precision: 'fp32', file: f, levers: { enableCpuMemArena: false } } },
    { lever: 'memory pattern off', detail: 'enableMemPattern: false (shapes change every batch)', config: { id: 'no-pattern', label: 'no pattern', system: 'semsearch', precision: 'fp32', file: f, levers: { enableMemPattern: false } } },
    { lever: 'no spinning', detail: 'session.intra_op.allow_spinning = 0', config: { id: 'no-spin', label: 'no spin', system: 'semsearch', precision: 'fp32', file: f, levers: { allowSpinning: false } } },
  ];
  for (const [level, file] of Object.entries(variants)) {
    levers.push({ lever: `hub variant ${level}`, detail: `onnx/model_${level}.onnx made by sentence-transformers' export_optimized_onnx_model (optimum ORTOptimizer)`, config: { id: `variant-${level}`, label: level, system: 'semsearch', precision: 'fp32', file: relative(m.dir, file), levers: {} } });
  }
  if (opts.threads >= 2) {
    const w = opts.threads;
    levers.push({ lever: `workers: ${w} (x 1 thread)`, detail: `loadModel({ workers: ${w}, threads: ${opts.threads} }): ${w} ONNX Runtime sessions on worker threads, one intra-op thread each, batches in flight at once; tokenising overlaps the runs; weights loaded ${w} times`, config: { id: 'workers', label: 'workers', system: 'semsearch', precision: 'fp32', file: f, levers: { workers: w } } });
    if (m.files.int8) levers.push({ lever: `int8 + workers: ${w}`, detail: `${m.files.int8} (variant 'int8' on this CPU) on the worker pool (against the fp32 baseline)`, config: { id: 'int8-workers', label: 'int8 workers', system: 'semsearch', precision: 'int8', file: m.files.int8, levers: { workers: w } } });
  }
  if (m.files.int8) levers.push({ lever: `int8: ${m.files.int8}`, detail: "dynamic int8 quantization, the file variant 'int8' takes on this CPU (different outputs: cosine vs fp32 in the model table)", config: { id: 'int8', label: 'int8', system: 'semsearch', precision: 'int8', file: m.files.int8, levers: {} } });
  let base: Measured | null = null;
  for (const l of levers) {
    const r = await run(l.config, m, texts);
    if (l.lever === 'baseline') base = r;
    const ws: LeverResult['workloads'] = {};
    for (const [w, wr] of Object.entries(r.res.workloads)) {
      const tp = throughput(wr.items, wr.times);
      const b = base?.res.workloads[w];
      ws[w] = { median: tp.median, spread: tp.spread, vsBaseline: b ? tp.median / throughput(b.items, b.times).median : 1 };
    }
    let diff: number | undefined;
    if (base && l.config.precision === 'fp32') diff = Math.max(...Object.keys(texts).map((w) => maxAbsDiff(r.emb[w] as Float32Array, base?.emb[w] as Float32Array)));
    results.levers.push({ lever: l.lever, model: m.name, detail: l.detail, workloads: ws, peakRssMB: r.res.peakRssMB, othersCores: r.res.contention.othersCores, ...(diff !== undefined ? { maxAbsDiffVsBaseline: diff } : {}) });
    log(`  ${l.lever.padEnd(34)} queries ${fmt(ws['queries']?.median ?? Number.NaN).padStart(7)}/s (x${fmt(ws['queries']?.vsBaseline ?? Number.NaN, 2)})  docs ${fmt(ws['docs']?.median ?? Number.NaN).padStart(7)}/s (x${fmt(ws['docs']?.vsBaseline ?? Number.NaN, 2)})${diff !== undefined ? `  max |diff| ${diff.toExponential(1)}` : ''}`);
  }
  // Two processes with one thread each, run at the same time on halves of the texts: the most that worker
  // threads with a shared budget of two threads could give (each holds its own copy of the weights).
  if (opts.threads >= 2 && base) {
    const halves = (t: string[]): [string[], string[]] => [t.filter((_, i) => i % 2 === 0), t.filter((_, i) => i % 2 === 1)];
    const [qa, qb] = halves(texts.queries);
    const [da, db] = halves(texts.docs);
    const cfg: Config = { id: 'pair', label: 'pair', system: 'semsearch', precision: 'fp32', file: f, threads: Math.floor(opts.threads / 2), levers: {} };
    await quiet();
    // No retry here: each of the pair sees the other as "other processes".
    const [ra, rb] = await Promise.all([runOnce({ ...cfg, id: 'pair-a' }, m, { queries: qa, docs: da }), runOnce({ ...cfg, id: 'pair-b' }, m, { queries: qb, docs: db })]);
    const ws: LeverResult['workloads'] = {};
    for (const w of Object.keys(texts)) {
      const a = ra.res.workloads[w];
      const b = rb.res.workloads[w];
      const bb = base.res.workloads[w];
      if (!a || !b || !bb) continue;
      // Both run concurrently; the pair's rate is the sum of the two rates.
      const med = throughput(a.items, a.times).median + throughput(b.items, b.times).median;
      const spread = Math.max(throughput(a.items, a.times).spread, throughput(b.items, b.times).spread);
      ws[w] = { median: med, spread, vsBaseline: med / throughput(bb.items, bb.times).median };
    }
    results.levers.push({ lever: `${opts.threads / Math.floor(opts.threads / 2)} workers x ${Math.floor(opts.threads / 2)} thread`, model: m.name, detail: 'two processes at once, each with half the texts and one intra-op thread (the ceiling of worker threads sharing the thread budget; weights loaded twice)', workloads: ws, peakRssMB: ra.res.peakRssMB + rb.res.peakRssMB, othersCores: Math.max(0, ra.res.contention.othersCores - rb.res.contention.childCores) });
    log(`  ${'2 workers x 1 thread'.padEnd(34)} queries ${fmt(ws['queries']?.median ?? Number.NaN).padStart(7)}/s (x${fmt(ws['queries']?.vsBaseline ?? Number.NaN, 2)})  docs ${fmt(ws['docs']?.median ?? Number.NaN).padStart(7)}/s (x${fmt(ws['docs']?.vsBaseline ?? Number.NaN, 2)})`);
  }
}

async function measureScaling(names: string[]): Promise<void> {
  log(`\nthread scaling (semsearch, 1 vs ${opts.threads} threads)`);
  for (const name of names) {
    const m = describeModel(name, modelDir(opts, name), name !== REAL_MODEL_NAME);
    if (m === null) continue;
    const n = sizes(m);
    const texts = { queries: sampleByLength(corpora.queries, n.queries, 1), docs: sampleByLength(corpora.docs, n.docs, 2) };
    const precisions: [Precision, string | null][] = [['fp32', m.files.fp32], ['int8', m.files.int8]];
    for (const [precision, file] of precisions) {
      if (file === null) continue;
      const rs: Record<number, EncodeResult & { contention: Contention }> = {};
      for (const threads of [1, opts.threads]) {
        rs[threads] = (await run({ id: `scale-${precision}-${threads}`, label: '', system: 'semsearch', precision, file, threads, levers: {} }, m, texts)).res;
      }
      for (const w of Object.keys(texts)) {
        const a = rs[1]?.workloads[w];
        const b = rs[opts.threads]?.workloads[w];
        if (!a || !b) continue;
        const t1 = throughput(a.items, a.times).median;
        const tN = throughput(b.items, b.times).median;
        results.scaling.push({ model: m.name, precision, workload: w, t1, tN, threads: opts.threads, speedup: tN / t1, efficiency: tN / t1 / opts.threads });
        log(`  ${m.name.padEnd(18)} ${precision} ${w.padEnd(8)} 1 thread ${fmt(t1).padStart(7)}/s  ${opts.threads} threads ${fmt(tN).padStart(7)}/s  speed-up x${fmt(tN / t1, 2)}`);
      }
    }
  }
}

async function measureBatch(name: string): Promise<void> {
  const m = describeModel(name, modelDir(opts, name), name !== REAL_MODEL_NAME);
  if (m === null) return;
  log(`\nbatch size and padding on ${m.label} (semsearch fp32, sentence-transformers' fixed batches)`);
  const n = sizes(m);
  const texts = { queries: sampleByLength(corpora.queries, n.queries, 1), docs: sampleByLength(corpora.docs, n.docs, 2) };
  const cases: { batchSize: number; order: 'sorted' | 'input' }[] = [1, 16, 32, 64, 128].map((batchSize) => ({ batchSize, order: 'sorted' as const }));
  cases.push({ batchSize: opts.batchSize, order: 'input' });
  for (const c of cases) {
    const r = await run({ id: `batch-${c.batchSize}-${c.order}`, label: '', system: 'semsearch', precision: 'fp32', file: m.files.fp32, batchSize: c.batchSize, levers: { order: c.order, batching: 'fixed' } }, m, texts);
    const parts: string[] = [];
    for (const [w, wr] of Object.entries(r.res.workloads)) {
      const tp = throughput(wr.items, wr.times);
      const fl = workloadFlops(m, wr.lengths ?? [], c.batchSize, c.order === 'sorted');
      results.batch.push({ model: m.name, workload: w, batchSize: c.batchSize, order: c.order, median: tp.median, spread: tp.spread, paddedTokens: fl.paddedTokens, tokens: fl.tokens });
      parts.push(`${w} ${fmt(tp.median).padStart(7)}/s (padding +${fmt((fl.paddedTokens / fl.tokens - 1) * 100, 0)}%)`);
    }
    log(`  batch ${String(c.batchSize).padStart(3)} ${c.order.padEnd(6)}  ${parts.join('  ')}`);
  }
}

/** Write what has been measured so far, so an interrupted run still leaves its numbers. */
/**
 * The defaults, before and now, against sentence-transformers, in one run: every configuration is a fresh process
 * once per round (3 passes, their median), in an order rotated each round, and the table takes the median over
 * rounds, so a neighbour's burst or the machine warming up lands on all of them alike.
 */
async function measureDefaults(names: readonly string[]): Promise<void> {
  const rounds = Math.max(3, opts.rounds);
  for (const [index, name] of names.entries()) {
    const m = describeModel(name, modelDir(opts, name), name !== REAL_MODEL_NAME);
    if (m === null) continue;
    const n = sizes(m);
    const texts = { queries: sampleByLength(corpora.queries, n.queries, 1), docs: sampleByLength(corpora.docs, n.docs, 2) };
    log(`\ndefaults on ${m.label}: ${rounds} rounds, each configuration a fresh process per round`);
    const f = m.files.fp32;
    const configs: Config[] = [
      { id: 'defaults-before', label: 'semsearch, defaults before', system: 'semsearch', precision: 'fp32', file: f, levers: BEFORE_DEFAULTS },
      { id: 'defaults-now', label: 'semsearch, defaults now', system: 'semsearch', precision: 'fp32', file: f, levers: {} },
    ];
    for (const [label, levers] of Object.entries(DEFAULT_CANDIDATES)) configs.push({ id: `candidate-${label}`, label: `candidate: ${label}`, system: 'semsearch', precision: 'fp32', file: f, levers });
    if (hasPython) {
      configs.push({ id: 'st-onnx-fp32', label: 'sentence-transformers onnx fp32', system: 'st-onnx', precision: 'fp32', file: f });
      configs.push({ id: 'st-torch-fp32', label: 'sentence-transformers torch fp32', system: 'st-torch', precision: 'fp32', file: f });
    }
    const rows = new Map<string, DefaultsRow>();
    for (let round = 0; round < rounds; round++) {
      const rot = (index + round) % configs.length;
      for (const config of [...configs.slice(rot), ...configs.slice(0, rot)]) {
        const r = await runOnce(config, m, texts, opts.reps);
        const row = rows.get(config.id) ?? { id: config.id, label: config.label, ...(config.levers !== undefined ? { levers: config.levers } : {}), workloads: {}, othersCores: 0, peakRssMB: 0 };
        for (const [w, wr] of Object.entries(r.res.workloads)) {
          const e = (row.workloads[w] ??= { median: 0, rounds: [] });
          e.rounds.push(throughput(wr.items, wr.times).median);
        }
        row.othersCores = Math.max(row.othersCores, r.res.contention.othersCores);
        row.peakRssMB = Math.max(row.peakRssMB, r.res.peakRssMB);
        rows.set(config.id, row);
      }
      log(`  round ${round + 1}/${rounds} done`);
    }
    for (const row of rows.values()) for (const e of Object.values(row.workloads)) e.median = median(e.rounds);
    const res: DefaultsResult = { model: m.name, label: m.label, rounds, rows: [...rows.values()] };
    (results.defaults ??= []).push(res);
    const peer = (id: string, w: string): number => rows.get(id)?.workloads[w]?.median ?? Number.NaN;
    for (const row of res.rows) {
      const q = row.workloads['queries']?.median ?? Number.NaN;
      const d = row.workloads['docs']?.median ?? Number.NaN;
      log(
        `  ${row.label.padEnd(44)} queries ${fmt(q).padStart(7)}/s  docs ${fmt(d).padStart(7)}/s  ÷ST onnx ${fmt(q / peer('st-onnx-fp32', 'queries'), 2)}/${fmt(d / peer('st-onnx-fp32', 'docs'), 2)}  ÷ST torch ${fmt(q / peer('st-torch-fp32', 'queries'), 2)}/${fmt(d / peer('st-torch-fp32', 'docs'), 2)}  (others ≤ ${fmt(row.othersCores, 2)} cores)`,
      );
    }
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function writeOut(final: boolean): void {
  results.finished = new Date().toISOString();
  results.targets = evaluateTargets(results);
  if (!final) results.notes = results.notes.filter((n) => !n.startsWith('partial:')).concat(['partial: the run was still going when this was written']);
  else results.notes = results.notes.filter((n) => !n.startsWith('partial:'));
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(results, null, 1) + '\n');
  }
  if (opts.docsMd) writeMarkdown(results, opts.docsMd, opts.out ? relative(dirname(opts.docsMd), opts.out) : null);
}

async function main(): Promise<void> {
  if (hasPython && !opts.quick) {
    const q = await quiet();
    const g = await runChild<{ times: number[]; flops: number }>({ kind: 'gemm', threads: opts.threads, size: 2048, reps: 5, resultFile: join(workDir, 'gemm.result.json') }, workDir, repoRoot, opts.python, 'gemm');
    const best = Math.min(...g.times);
    results.gemm = { gflops: g.flops / best / 1e9, size: 2048, peakShare: g.flops / best / 1e9 / machine.peakGflops };
    log(`GEMM ceiling (torch.mm 2048x2048, ${opts.threads} threads, best of 5): ${fmt(results.gemm.gflops)} GFLOP/s = ${fmt(results.gemm.peakShare * 100)}% of peak (others used ${fmt(q.busyCores, 2)} cores before)`);
  }
  let i = 0;
  for (const name of opts.models) {
    await measureModel(name, i++);
    writeOut(false);
  }
  const leverModel = opts.models.includes(REAL_MODEL_NAME) ? REAL_MODEL_NAME : (opts.models[0] as string);
  if (opts.sections.includes('levers')) await measureLevers(leverModel);
  writeOut(false);
  if (opts.sections.includes('defaults')) await measureDefaults(opts.models.filter((n) => n === REAL_MODEL_NAME || n === 'bert-base'));
  writeOut(false);
  if (opts.sections.includes('scaling')) await measureScaling([leverModel, ...opts.models.filter((n) => n === 'distilbert')]);
  writeOut(false);
  if (opts.sections.includes('batch')) await measureBatch(leverModel);
  writeOut(false);
  if (opts.sections.includes('quality')) {
    const dir = modelDir(opts, REAL_MODEL_NAME);
    const m = describeModel(REAL_MODEL_NAME, dir, false);
    if (m?.files.int8) {
      log('\nint8 ranking quality (real all-MiniLM-L6-v2, DL19 BM25 top-100 re-ranking)');
      await quiet();
      results.quality = await measureQuality(dir, dataDir(repoRoot), opts.threads, { fp32: m.files.fp32, int8: m.files.int8 });
      const q = results.quality;
      log(`  NDCG@10 fp32 ${fmt(q.ndcg10['fp32'] as number, 4)}  int8 ${fmt(q.ndcg10['int8'] as number, 4)}  loss ${fmt(q.lossPoints, 2)} points (BM25 ${fmt(q.bm25Ndcg10, 4)}); ${q.passages} passages in ${fmt(q.seconds['fp32'] as number)} s / ${fmt(q.seconds['int8'] as number)} s`);
    }
  }
  if (opts.sections.includes('cross')) {
    const c = await measureCross({ opts, repoRoot, workDir, corpora, quiet, log });
    if (c !== null) results.cross = c;
    writeOut(false);
  }
  results.notes.push(`others' CPU use sampled after the run: ${fmt(await cpuBusyCores(1000), 2)} cores`);
  writeOut(true);
  printSummary(results, log);
  if (opts.out) log(`\nresults: ${relative(process.cwd(), opts.out)}`);
  if (opts.docsMd) log(`report: ${relative(process.cwd(), opts.docsMd)}`);
}

// An interrupted run removes its scratch folder too (the child in flight ends with the terminal's signal).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
