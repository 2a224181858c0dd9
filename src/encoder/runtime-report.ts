import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { detectCpu, type CpuFacts } from '../cpu/features.js';
import { chooseInt8Variant, INT8_BUILT_FOR, INT8_MEASURED_SPEED, INT8_PREFERENCE, int8SpeedLine, isAccurateOn, isQuantizedVariant, type Int8Speed } from '../cpu/int8.js';
import { isSemsearchError, SemsearchError } from '../errors.js';
import { resolveModel } from '../hub/resolve.js';
import { onnxFilePath, variantsInFolder } from '../hub/model-files.js';
import { CUDA_INSTALL_COMMAND, cudaInstallCommand, cudaStatus } from '../model/device.js';
import { defaultParallelism, type ParallelismPlan } from './default-parallelism.js';
import { sessionPlan } from './load-model.js';

export interface ModelFilesReport {
  model: string;
  dir: string;
  /** Each precision the encoder can run, with the file it would load here, or why none. */
  precisions: { precision: 'float32' | 'int8'; file?: string; note?: string }[];
  /** Every quantized file in the folder and whether it is accurate on this CPU. */
  quantized: { file: string; accurate: boolean }[];
}

export interface RuntimeReport {
  cpu: CpuFacts;
  onnxruntime: string;
  /**
   * Threads by default. `loadModel`: its ONNX Runtime sessions (worker threads when more than one) and each one's
   * intra-op threads (`onnxRuntimePicks`: ONNX Runtime sizes the pool, one thread per core). `serve` (when the caller
   * gives the server's defaults, as `semsearch doctor` does): its inference workers, each with one session.
   */
  threads: {
    cores: number;
    loadModel: { sessions: number; threadsPerSession: number; onnxRuntimePicks?: true };
    /** An opened index's model (`semsearch search`), when the caller gives its session count, as doctor does. */
    openIndex?: { sessions: number; threadsPerSession: number; onnxRuntimePicks?: true };
    serve?: { workers: number; threadsPerWorker: number };
    /** The one rule both follow when given neither workers nor threads (defaultParallelism), and why. */
    rule: ParallelismPlan;
  };
  /** `measured`: int8 against fp32 on this kind of CPU (absent: not measured); `speed`: that, in words. */
  int8: { builtFor: string; preference: readonly string[]; measured?: Int8Speed; speed: string };
  /**
   * The devices `device` / --device can ask for here: the CPU always; CUDA when ONNX Runtime's CUDA provider is
   * installed (its files in `folder`), else why not and the command that installs it. The CUDA 12 and cuDNN 9 system
   * libraries are loaded, and so checked, only when a session is created.
   */
  devices: { cpu: { available: true }; cuda: { available: boolean; folder: string; missing: string[]; reason?: string; install?: string } };
  model?: ModelFilesReport;
}

/**
 * What this machine gives the encoder: CPU features, ONNX Runtime, thread defaults, and, for a model, the file each
 * precision would load. Never downloads: a hub name is looked up in the local cache only.
 */
export async function describeRuntime(
  options: { model?: string; cpu?: CpuFacts; indexWorkers?: number; serve?: { workers: number; threads: number }; cores?: number } = {},
): Promise<RuntimeReport> {
  const cpu = options.cpu ?? detectCpu();
  const cores = options.cores ?? availableParallelism();
  // What loadModel opens with no options (sessionPlan is the rule it follows); ONNX Runtime sizes a pool left to it to
  // the cores it sees.
  const sessions = (plan: ReturnType<typeof sessionPlan>): RuntimeReport['threads']['loadModel'] => ({
    sessions: plan.workers,
    threadsPerSession: plan.intraOpThreads ?? cores,
    ...(plan.intraOpThreads === undefined ? { onnxRuntimePicks: true as const } : {}),
  });
  const report: RuntimeReport = {
    cpu,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    threads: {
      cores,
      loadModel: sessions(sessionPlan({}, cores)),
      ...(options.indexWorkers !== undefined ? { openIndex: sessions(sessionPlan({ workers: options.indexWorkers }, cores)) } : {}),
      ...(options.serve !== undefined ? { serve: { workers: options.serve.workers, threadsPerWorker: options.serve.threads } } : {}),
      rule: defaultParallelism(cores),
    },
    int8: {
      builtFor: INT8_BUILT_FOR[cpu.isa],
      preference: INT8_PREFERENCE[cpu.isa],
      ...(INT8_MEASURED_SPEED[cpu.isa] !== undefined ? { measured: INT8_MEASURED_SPEED[cpu.isa] } : {}),
      speed: int8SpeedLine(cpu.isa),
    },
    devices: { cpu: { available: true }, cuda: cudaReport() },
  };
  if (options.model !== undefined) report.model = await describeModelFiles(options.model, cpu);
  return report;
}

function cudaReport(): RuntimeReport['devices']['cuda'] {
  const s = cudaStatus();
  return { available: s.available, folder: s.folder, missing: s.missing, ...(s.reason !== undefined ? { reason: s.reason, install: cudaInstallCommand() } : {}) };
}

async function describeModelFiles(model: string, cpu: CpuFacts): Promise<ModelFilesReport> {
  let dir: string;
  try {
    dir = await resolveModel(model, { localFilesOnly: true });
  } catch (e) {
    if (!isSemsearchError(e, 'HUB_OFFLINE_MISSING')) throw e;
    // The cache lookup's own advice is about its offline switches, which a doctor run does not set.
    throw new SemsearchError(
      'HUB_OFFLINE_MISSING',
      `${model} is not in the local model cache, and doctor never downloads: load it once (e.g. semsearch encode -m ${model} "x") or pass a model folder`,
      { ...(e.file !== undefined ? { file: e.file } : {}), field: 'model' },
    );
  }
  // No onnx/ folder gives no variants: every precision below then says so.
  const offered = variantsInFolder(dir);
  const precisions: ModelFilesReport['precisions'] = [];
  precisions.push(offered.includes('(default)') ? { precision: 'float32', file: onnxFilePath() } : { precision: 'float32', note: `no ${onnxFilePath()}` });
  try {
    const choice = chooseInt8Variant(offered, cpu, dir);
    precisions.push({ precision: 'int8', file: onnxFilePath(choice.variant), ...(choice.fallback !== undefined ? { note: choice.fallback } : {}) });
  } catch (e) {
    if (!isSemsearchError(e)) throw e;
    precisions.push({ precision: 'int8', note: e.message });
  }
  const quantized = offered.filter(isQuantizedVariant).map((v) => ({ file: onnxFilePath(v), accurate: isAccurateOn(v, cpu.isa) }));
  return { model, dir, precisions, quantized };
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The thread defaults in words: loadModel's sessions and their threads, and serve's workers. */
function threadsLine(t: RuntimeReport['threads']): string {
  const said = (who: string, l: RuntimeReport['threads']['loadModel']): string => {
    const each = `${count(l.threadsPerSession, 'intra-op thread')}${l.onnxRuntimePicks === true ? " (ONNX Runtime's default: one per core)" : ''}`;
    return l.sessions === 1 ? `${who}: 1 ONNX Runtime session of ${each}` : `${who}: ${l.sessions} ONNX Runtime sessions in worker threads, ${each} each (the ${t.cores} cores shared)`;
  };
  const parts = [said('loadModel (index, add, encode, eval, mine)', t.loadModel)];
  if (t.openIndex !== undefined) parts.push(said('openIndex (search)', t.openIndex));
  if (t.serve !== undefined) parts.push(`serve: ${count(t.serve.workers, 'inference worker')}, each one session of ${count(t.serve.threadsPerWorker, 'intra-op thread')} (--workers, --threads)`);
  return `by default, ${parts.join('; ')}`;
}

/** The report as `semsearch doctor` prints it. */
export function formatRuntimeReport(r: RuntimeReport): string {
  const source = r.cpu.source === 'cpuinfo' ? 'from /proc/cpuinfo' : r.cpu.source === 'env' ? 'from SEMSEARCH_CPU_ISA' : `from the architecture`;
  const lines = [
    `cpu          ${r.cpu.model} (${r.cpu.arch}, ${r.cpu.cores} cores)`,
    `isa          ${r.cpu.isa} (${source})`,
    `flags        ${r.cpu.flags.length > 0 ? r.cpu.flags.join(' ') : '(none of interest)'}`,
    `onnxruntime  ${r.onnxruntime} (onnxruntime-node)`,
    `threads      ${threadsLine(r.threads)}`,
    `             why: ${r.threads.rule.why}`,
    `int8         built for this CPU: ${r.int8.builtFor}; accurate here, best first: ${r.int8.preference.join(', ')}`,
    `int8 speed   ${r.int8.speed}`,
    `devices      cpu: yes; cuda: ${
      r.devices.cuda.available
        ? `yes, ONNX Runtime's CUDA provider is in ${r.devices.cuda.folder} (it loads the CUDA 12 and cuDNN 9 libraries when a session starts)`
        : `no: ${r.devices.cuda.reason ?? ''}; to install it: ${r.devices.cuda.install ?? CUDA_INSTALL_COMMAND} (README, "GPU (CUDA)")`
    }`,
  ];
  if (r.model !== undefined) {
    lines.push(`model        ${r.model.model}${r.model.dir !== r.model.model ? ` (${r.model.dir})` : ''}`);
    for (const p of r.model.precisions) lines.push(`  ${p.precision.padEnd(10)} ${p.file ?? '-'}${p.note !== undefined ? `  (${p.note})` : ''}`);
    for (const q of r.model.quantized) lines.push(`  ${q.accurate ? 'accurate' : 'drifts  '}   ${q.file}`);
  }
  return lines.join('\n') + '\n';
}
