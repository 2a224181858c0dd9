import { crossTable } from './cross.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchResults, ModelResult, Target } from './results.js';

/** The issue's targets, judged from the ratios; a verdict resting on a disturbed measurement is marked so. */
export function evaluateTargets(results: BenchResults): Target[] {
  const t: Target[] = [];
  const limit = results.settings.maxBusyCores;
  for (const mr of results.models) {
    const others = (id: string): number => mr.results.find((c) => c.config.id === id)?.contention.othersCores ?? 0;
    const r = (ours: string, peer: string, w: string): number => mr.ratios.find((x) => x.ours === ours && x.peer === peer && x.workload === w)?.ratio ?? Number.NaN;
    const add = (target: string, ours: string, peer: string, w: string, threshold: number): void => {
      const value = r(ours, peer, w);
      if (!Number.isFinite(value)) return;
      const worst = Math.max(others(ours), others(peer));
      const disturbed = worst > limit;
      t.push({ target, model: mr.model.name, value, threshold, met: value >= threshold, note: disturbed ? `disturbed: others used ${worst.toFixed(2)} cores` : '', disturbed });
    };
    add('fp32 docs/s >= 1.5x sentence-transformers torch', 'semsearch-fp32', 'st-torch-fp32', 'docs', 1.5);
    add('fp32 docs/s >= 1.3x sentence-transformers onnx', 'semsearch-fp32', 'st-onnx-fp32', 'docs', 1.3);
    add('int8 docs/s >= 4x sentence-transformers torch fp32', 'semsearch-int8', 'st-torch-fp32', 'docs', 4);
    for (const p of ['fp32', 'int8'] as const) {
      for (const w of ['docs', 'queries']) add(`${p} ${w}/s >= 1.5x transformers.js (its pipeline on batches in the given order)`, `semsearch-${p}`, `tjs-${p}`, w, 1.5);
    }
  }
  if (results.quality) {
    const q = results.quality;
    t.push({ target: 'int8 NDCG@10 loss on DL19 BM25 top-100 re-ranking <= 0.5 points', model: 'all-MiniLM-L6-v2', value: q.lossPoints, threshold: 0.5, met: q.lossPoints <= 0.5, note: `fp32 ${f(q.ndcg10['fp32'], 4)}, int8 ${f(q.ndcg10['int8'], 4)}` });
  }
  return t;
}

const BEGIN = '<!-- bench:results:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

function f(x: number | undefined, d = 1): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d);
}

function ratioCell(mr: ModelResult, ours: string, peer: string): string {
  const q = mr.ratios.find((r) => r.ours === ours && r.peer === peer && r.workload === 'queries')?.ratio;
  const d = mr.ratios.find((r) => r.ours === ours && r.peer === peer && r.workload === 'docs')?.ratio;
  if (q === undefined && d === undefined) return '–';
  return `${f(q, 2)} / ${f(d, 2)}`;
}

const RATIO_COLUMNS: [string, string, string][] = [
  ['fp32 ÷ ST torch', 'semsearch-fp32', 'st-torch-fp32'],
  ['fp32 ÷ ST onnx', 'semsearch-fp32', 'st-onnx-fp32'],
  ['fp32 ÷ transformers.js', 'semsearch-fp32', 'tjs-fp32'],
  ['fp32 ÷ transformers.js sorted', 'semsearch-fp32', 'tjs-sorted-fp32'],
  ['int8 ÷ ST onnx int8', 'semsearch-int8', 'st-onnx-int8'],
  ['int8 ÷ transformers.js int8', 'semsearch-int8', 'tjs-int8'],
  ['int8 ÷ transformers.js int8 sorted', 'semsearch-int8', 'tjs-sorted-int8'],
  ['int8 ÷ ST torch fp32', 'semsearch-int8', 'st-torch-fp32'],
];

export function ratioTable(r: BenchResults): string[] {
  const cols = RATIO_COLUMNS.filter(([, o, p]) => r.models.some((m) => m.ratios.some((x) => x.ours === o && x.peer === p)));
  if (cols.length === 0) return ['(no peers measured)'];
  const lines = [`| model | ${cols.map((c) => c[0]).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const mr of r.models) lines.push(`| ${mr.model.label} | ${cols.map(([, o, p]) => ratioCell(mr, o, p)).join(' | ')} |`);
  return lines;
}

function throughputTable(r: BenchResults): string[] {
  const lines = [
    '| model | system | queries/s | spread | docs/s | spread | docs GFLOP/s (% of peak) | cosine vs semsearch (min, docs) | load s | peak RSS MB | others\' cores |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const mr of r.models) {
    for (const c of mr.results) {
      const q = c.workloads['queries'];
      const d = c.workloads['docs'];
      const cos = d?.cosineVsSemsearch ? `${d.cosineVsSemsearch.min.toFixed(6)} (vs ${d.cosineVsSemsearch.against})` : '–';
      const unit = c.config.precision === 'int8' ? 'GOP/s' : '';
      lines.push(
        `| ${mr.model.name} | ${c.config.label} | ${f(q?.throughput.median)} | ${f((q?.throughput.spread ?? Number.NaN) * 100, 0)}% | ${f(d?.throughput.median)} | ${f((d?.throughput.spread ?? Number.NaN) * 100, 0)}% | ${f(d?.gflops)}${unit ? ' ' + unit : ''} (${f((d?.peakShare ?? Number.NaN) * 100, 0)}%) | ${cos} | ${f(c.loadSeconds, 1)} | ${f(c.peakRssMB, 0)} | ${f(c.contention.othersCores, 2)} (+${f(c.contention.nicedCores, 2)} niced) |`,
      );
    }
  }
  return lines;
}

/** Which quantized file each model's int8 rows ran, as semsearch's variant 'int8' picked it on this CPU. */
function int8Files(r: BenchResults): string {
  const files = [...new Set(r.models.map((mr) => mr.model.files.int8).filter((x): x is string => x !== null))];
  return files.length > 0 ? files.join(', ') : 'none';
}

/** The defaults before and now against sentence-transformers, from the 'defaults' section's rounds. */
export function defaultsTable(r: BenchResults): string[] {
  const L = ['### Defaults, before and now (semsearch fp32, in rounds)', ''];
  L.push('| model | configuration | queries/s | docs/s | ÷ ST onnx (q / d) | ÷ ST torch (q / d) | × defaults before (q / d) | peak RSS MB | others\' cores (max) |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const d of r.defaults ?? []) {
    const med = (id: string, w: string): number => d.rows.find((x) => x.id === id)?.workloads[w]?.median ?? Number.NaN;
    for (const row of d.rows) {
      const q = row.workloads['queries']?.median ?? Number.NaN;
      const dd = row.workloads['docs']?.median ?? Number.NaN;
      const ratio = (id: string): string => `${f(q / med(id, 'queries'), 2)} / ${f(dd / med(id, 'docs'), 2)}`;
      L.push(`| ${d.label} | ${row.label} | ${f(q)} | ${f(dd)} | ${ratio('st-onnx-fp32')} | ${ratio('st-torch-fp32')} | ${ratio('defaults-before')} | ${f(row.peakRssMB, 0)} | ${f(row.othersCores, 2)} |`);
    }
  }
  L.push('');
  L.push(`Each configuration ran as a fresh process once per round (${r.defaults?.[0]?.rounds ?? '?'} rounds, order rotated), ${r.settings.reps} timed passes per process; the table gives the median over rounds of each round's median. "Defaults before": graph level "all", spinning on, one session (\`workers: 1\`), set explicitly; "defaults now": no options at all.`);
  return L;
}

export function generatedSection(r: BenchResults, jsonPath: string | null): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(`Run of ${r.date} (${r.started} → ${r.finished}), commit \`${r.git.commit.slice(0, 12)}\`${r.git.dirty ? ' with uncommitted changes in src/ or bench/' : ''}: \`${r.command}\`${jsonPath ? `; every number below is in [\`${jsonPath}\`](${jsonPath})` : ''}.`);
  L.push('');
  L.push(`Machine: ${m.modelName} (${m.vendor}, family ${m.family} model ${m.model}), ${m.cores} cores, ${m.threadsPerCore} thread/core, ${m.mhz.toFixed(0)} MHz, ${f(m.memoryGiB, 0)} GiB, ${m.hypervisor ?? 'bare metal'}; ISA ${m.isa ?? (m.avx512vnni ? 'avx512_vnni' : '?')} (${(m.isaFlags ?? []).join(' ') || 'flags not recorded'}); int8 files: ${int8Files(r)}; load average at start ${r.loadAverageAtStart.map((x) => x.toFixed(2)).join(' / ')}. ` +
    `Settings: ${r.settings.threads} intra-op threads for every system, batch ${r.settings.batchSize}; peers compared in ${r.settings.rounds} round(s) over all systems (order rotated each round), ${r.settings.reps} timed passes per workload in all, each process warmed up with one batch; median and spread ((max − min) / median) of the passes. ` +
    `Before every measurement the run waits until other processes use < ${r.settings.maxBusyCores} cores (sampled over 1 s).`);
  const busy = r.models.flatMap((mr) => mr.results.filter((c) => !c.quiet.quiet).map((c) => `${mr.model.name} ${c.config.label}`));
  if (busy.length > 0) L.push('', `Measured on a busy machine (waited ${r.settings.maxWaitSeconds} s in vain): ${busy.join(', ')}.`);
  L.push('');
  L.push(`**Peak.** ${m.peakDerivation}` + (r.gemm ? ` Measured ceiling: torch.mm of 2048×2048 fp32 matrices reaches ${f(r.gemm.gflops)} GFLOP/s (${f(r.gemm.peakShare * 100, 0)}% of that peak).` : ''));
  L.push('');
  L.push('### Throughput ratios: semsearch ÷ peer (queries / docs, medians)');
  L.push('');
  L.push(...ratioTable(r));
  L.push('');
  L.push('"transformers.js" is its feature-extraction pipeline called on batches in the given (shuffled) order, as its documentation calls it; "sorted" gives it the same length-sorted batches as sentence-transformers and semsearch, so only the engines differ.');
  L.push('');
  if (r.targets.length > 0) {
    L.push('### Targets');
    L.push('');
    L.push('"(?)": a row it rests on was measured while other processes used more CPU than allowed, so the verdict is not reliable either way.');
    L.push('');
    L.push('| target | model | value | met |');
    L.push('|---|---|---:|:---:|');
    for (const t of r.targets) L.push(`| ${t.target} | ${t.model} | ${f(t.value, 2)}${t.note ? ` (${t.note})` : ''} | ${t.met ? 'yes' : 'no'}${t.disturbed ? ' (?)' : ''} |`);
    L.push('');
  }
  L.push('### Throughput, work rate, agreement, memory');
  L.push('');
  L.push(...throughputTable(r));
  L.push('');
  L.push("Others' cores: CPU that other processes used while the measurement ran (machine busy time from /proc/stat less the benchmark's own and its child's), averaged over the child's life, and in brackets what ran at nice > 0 (it yields to the benchmark and mostly fills idle moments, so it does not trigger a repeat); a measurement over the limit is repeated (up to the retry count) and the least disturbed attempt kept.");
  L.push('');
  L.push('GFLOP/s count useful work only (real tokens, no padding): 2 flops per multiply-add of the encoder layers (Q/K/V/output projections, FFN, attention scores and weighted sums). int8 rows are in GOP/s against the int8 peak. Cosine: row-wise, each peer against semsearch of the same precision on the same texts (semsearch int8 against semsearch fp32). Peak RSS is the whole process (`process.resourceUsage().maxRSS`, Python `ru_maxrss`).');
  L.push('');
  for (const mr of r.models) {
    const w = Object.entries(mr.workloads).map(([k, v]) => `${k}: ${v.items} texts, ${f(v.meanTokens)} tokens on average, padding +${f((v.paddedTokensSorted / v.tokens - 1) * 100, 1)}% sorted / +${f((v.paddedTokensInput / v.tokens - 1) * 100, 1)}% in given order`);
    L.push(`- ${mr.model.label}${mr.model.randomWeights ? ' (random weights)' : ''}: ${w.join('; ')}.`);
  }
  L.push('');
  if (r.defaults !== undefined && r.defaults.length > 0) L.push(...defaultsTable(r), '');
  if (r.levers.length > 0) {
    L.push('### Speed levers (semsearch, same run)');
    L.push('');
    L.push('| lever | queries/s | × baseline | docs/s | × baseline | max abs diff vs baseline | peak RSS MB | others\' cores | what |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const l of r.levers) {
      const q = l.workloads['queries'];
      const d = l.workloads['docs'];
      L.push(`| ${l.lever} | ${f(q?.median)} | ${f(q?.vsBaseline, 2)} | ${f(d?.median)} | ${f(d?.vsBaseline, 2)} | ${l.maxAbsDiffVsBaseline !== undefined ? l.maxAbsDiffVsBaseline.toExponential(1) : '–'} | ${f(l.peakRssMB, 0)} | ${f(l.othersCores, 2)} | ${l.detail} |`);
    }
    const tok = r.models.flatMap((mr) => mr.results.filter((c) => c.config.id === 'semsearch-fp32').map((c) => `${mr.model.name} ${f((c.workloads['queries']?.tokenizeShare ?? Number.NaN) * 100, 1)}% / ${f((c.workloads['docs']?.tokenizeShare ?? Number.NaN) * 100, 1)}%`));
    L.push('');
    L.push(`Tokenisation's share of semsearch fp32 encode time (queries / docs), i.e. the most that taking it off the critical path could save: ${tok.join(', ')}.`);
    const ort = r.models.flatMap((mr) => mr.results.filter((c) => c.config.system === 'semsearch').map((c) => `${mr.model.name} ${c.config.precision} ${f((c.workloads['queries']?.ortShare ?? Number.NaN) * 100, 1)}% / ${f((c.workloads['docs']?.ortShare ?? Number.NaN) * 100, 1)}%`));
    L.push('');
    L.push(`Share of semsearch encode time inside ONNX Runtime's run (queries / docs); the rest is tokenising, padding, pooling and copying: ${ort.join(', ')}.`);
    L.push('');
  }
  if (r.scaling.length > 0) {
    L.push('### Thread scaling (semsearch)');
    L.push('');
    L.push('| model | precision | workload | 1 thread /s | N threads /s | speed-up | efficiency |');
    L.push('|---|---|---|---:|---:|---:|---:|');
    for (const s of r.scaling) L.push(`| ${s.model} | ${s.precision} | ${s.workload} | ${f(s.t1)} | ${f(s.tN)} (N=${s.threads}) | ${f(s.speedup, 2)} | ${f(s.efficiency * 100, 0)}% |`);
    L.push('');
  }
  if (r.batch.length > 0) {
    L.push("### Batch size and padding (semsearch fp32 with sentence-transformers' fixed batches, batching: 'fixed')");
    L.push('');
    L.push('| model | workload | batch | order | items/s | spread | padded tokens / real tokens |');
    L.push('|---|---|---:|---|---:|---:|---:|');
    for (const b of r.batch) L.push(`| ${b.model} | ${b.workload} | ${b.batchSize} | ${b.order} | ${f(b.median)} | ${f(b.spread * 100, 0)}% | ${f(b.paddedTokens / b.tokens, 3)} |`);
    L.push('');
  }
  if (r.quality) {
    const q = r.quality;
    L.push('### int8 ranking quality');
    L.push('');
    L.push(`${q.task}; ${q.passages} passages. NDCG@10 fp32 ${f(q.ndcg10['fp32'], 4)}, int8 ${f(q.ndcg10['int8'], 4)}: loss ${f(q.lossPoints, 2)} points (BM25 alone: ${f(q.bm25Ndcg10, 4)}). MRR (recip_rank) fp32 ${f(q.mrr10['fp32'], 4)}, int8 ${f(q.mrr10['int8'], 4)}. Re-ranking took ${f(q.seconds['fp32'])} s (fp32) and ${f(q.seconds['int8'])} s (int8).`);
    L.push('');
  }
  if (r.cross) L.push(...crossTable(r.cross));
  const v = [...r.models.flatMap((mr) => mr.results.map((c) => c.versions)), ...(r.cross?.rows.map((x) => x.versions) ?? [])].reduce<Record<string, string>>((a, b) => ({ ...a, ...b }), {});
  L.push(`Versions: ${Object.entries(v).map(([k, x]) => `${k} ${x}`).join(', ')}.`);
  if (r.notes.length > 0) L.push('', `Notes: ${r.notes.join('; ')}.`);
  return L.join('\n');
}

const DEFAULT_HEAD = `# Encoding benchmark

\`npm run bench\` measures semsearch's encoding throughput against its peers on this machine, in one run.
`;

/** Write the generated section into the markdown file, keeping whatever is written outside the markers. */
export function writeMarkdown(r: BenchResults, file: string, jsonPath: string | null): void {
  const section = `${BEGIN}\n${generatedSection(r, jsonPath)}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : `${DEFAULT_HEAD}\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + END.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

export function printSummary(r: BenchResults, log: (s: string) => void): void {
  log('\nsemsearch ÷ peer, queries / docs (medians):');
  for (const line of ratioTable(r)) log(line);
  if (r.cross) log(`\ncross-encoder pairs/s, semsearch ÷ sentence-transformers: torch ${f(r.cross.ratios.vsTorch, 2)}×, onnx ${f(r.cross.ratios.vsOnnx, 2)}×`);
  if (r.targets.length > 0) {
    log('\ntargets:');
    for (const t of r.targets) log(`  ${t.met ? 'met    ' : 'NOT met'}${t.disturbed ? '?' : ' '} ${t.model.padEnd(18)} ${t.target}: ${f(t.value, 2)} (threshold ${t.threshold})${t.note ? ` ${t.note}` : ''}`);
  }
}
