import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { detectCpu, type CpuFacts } from '../cpu/features.js';
import { chooseInt8Variant, INT8_BUILT_FOR, INT8_PREFERENCE, isAccurateOn, isQuantizedVariant } from '../cpu/int8.js';
import { isSemsearchError, SemsearchError } from '../errors.js';
import { resolveModel } from '../hub/resolve.js';
import { onnxFilePath, variantsInFolder } from '../hub/model-files.js';
import { CUDA_INSTALL_COMMAND, cudaInstallCommand, cudaStatus } from '../model/device.js';

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
  threads: { cores: number; onnxRuntimeDefault: number; serveDefault: number };
  int8: { builtFor: string; preference: readonly string[] };
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
export async function describeRuntime(options: { model?: string; cpu?: CpuFacts } = {}): Promise<RuntimeReport> {
  const cpu = options.cpu ?? detectCpu();
  const cores = availableParallelism();
  const report: RuntimeReport = {
    cpu,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    // ONNX Runtime sizes its intra-op pool to the cores it sees; serve leaves one to the HTTP thread.
    threads: { cores, onnxRuntimeDefault: cores, serveDefault: cores },
    int8: { builtFor: INT8_BUILT_FOR[cpu.isa], preference: INT8_PREFERENCE[cpu.isa] },
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

/** The report as `semsearch doctor` prints it. */
export function formatRuntimeReport(r: RuntimeReport): string {
  const source = r.cpu.source === 'cpuinfo' ? 'from /proc/cpuinfo' : r.cpu.source === 'env' ? 'from SEMSEARCH_CPU_ISA' : `from the architecture`;
  const lines = [
    `cpu          ${r.cpu.model} (${r.cpu.arch}, ${r.cpu.cores} cores)`,
    `isa          ${r.cpu.isa} (${source})`,
    `flags        ${r.cpu.flags.length > 0 ? r.cpu.flags.join(' ') : '(none of interest)'}`,
    `onnxruntime  ${r.onnxruntime} (onnxruntime-node)`,
    `threads      ${r.threads.onnxRuntimeDefault} intra-op by default (one per core); serve: ${r.threads.serveDefault} (every core, shared by its workers)`,
    `int8         built for this CPU: ${r.int8.builtFor}; accurate here, best first: ${r.int8.preference.join(', ')}`,
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
