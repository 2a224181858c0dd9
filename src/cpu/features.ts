import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { SemsearchError } from '../errors.js';

/**
 * The instruction set that decides which int8 ONNX file is accurate here. ONNX Runtime picks its integer
 * kernels from the CPU at run time, and a file quantized for one set can saturate on another (signed-int8
 * weights on an AVX2 CPU go through 16-bit pair sums that clip), so the choice of file has to follow the CPU.
 */
export type Isa = 'avx512_vnni' | 'avx512' | 'avx2' | 'arm64' | 'baseline';
export const ISAS: readonly Isa[] = ['avx512_vnni', 'avx512', 'avx2', 'arm64', 'baseline'];

/** The CPU flags the choice looks at, shown by `semsearch doctor`; the rest of /proc/cpuinfo is noise for this. */
export const RELEVANT_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8', 'asimddp', 'i8mm'] as const;

export interface CpuFacts {
  /** process.arch: 'x64', 'arm64', … */
  arch: string;
  /** The CPU's model name, as the OS reports it. */
  model: string;
  cores: number;
  /** The instruction set used to pick int8 files. */
  isa: Isa;
  /** Where `isa` came from: the OS's CPU flags, the architecture alone, or the SEMSEARCH_CPU_ISA override. */
  source: 'cpuinfo' | 'arch' | 'env';
  /** Of RELEVANT_FLAGS, those this CPU has (as the OS reports them; an override does not change them). */
  flags: string[];
}

/** Environment variable that names the ISA where /proc/cpuinfo does not describe the CPU code really runs on. */
export const ISA_ENV = 'SEMSEARCH_CPU_ISA';

/**
 * The ISA from x86 CPU flags as Linux lists them. AVX-512 needs the foundation and the byte/word forms
 * (F + BW) that the quantized GEMMs use; VNNI is the 512-bit `avx512_vnni`.
 */
export function isaFromFlags(flags: ReadonlySet<string>): Isa {
  const avx512 = flags.has('avx512f') && flags.has('avx512bw');
  if (avx512 && flags.has('avx512_vnni')) return 'avx512_vnni';
  if (avx512) return 'avx512';
  if (flags.has('avx2')) return 'avx2';
  return 'baseline';
}

/** The first `flags` (x86) or `Features` (arm64) line of /proc/cpuinfo, and the model name. */
export function parseCpuinfo(text: string): { flags: Set<string>; model: string } {
  let flags: Set<string> | undefined;
  let model = '';
  for (const line of text.split('\n')) {
    const m = /^([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (m === null) continue;
    const key = (m[1] as string).toLowerCase();
    const value = m[2] as string;
    if (flags === undefined && (key === 'flags' || key === 'features')) flags = new Set(value.split(/\s+/).filter((f) => f !== ''));
    if (model === '' && (key === 'model name' || key === 'cpu model' || key === 'hardware')) model = value.trim();
    if (flags !== undefined && model !== '') break;
  }
  return { flags: flags ?? new Set(), model };
}

export interface DetectCpuOptions {
  /** Text of /proc/cpuinfo (default: read it; absent on macOS and Windows). */
  cpuinfo?: string;
  arch?: string;
  env?: Record<string, string | undefined>;
}

function readCpuinfo(): string | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * What this CPU offers the int8 kernels. SEMSEARCH_CPU_ISA overrides the reading for emulators and
 * containers whose /proc/cpuinfo shows the host (qemu-user passes the host's file through while it
 * emulates another CPU).
 */
export function detectCpu(options: DetectCpuOptions = {}): CpuFacts {
  const arch = options.arch ?? process.arch;
  const env = options.env ?? process.env;
  const text = options.cpuinfo ?? readCpuinfo();
  const parsed = text === undefined ? { flags: new Set<string>(), model: '' } : parseCpuinfo(text);
  const flags = RELEVANT_FLAGS.filter((f) => parsed.flags.has(f));
  const model = parsed.model !== '' ? parsed.model : (cpus()[0]?.model ?? 'unknown');
  const cores = cpus().length;
  const override = env[ISA_ENV]?.trim().toLowerCase();
  if (override !== undefined && override !== '') {
    if (!(ISAS as readonly string[]).includes(override)) {
      throw new SemsearchError('INVALID_ARGUMENT', `${ISA_ENV}='${override}' is not an instruction set; use one of ${ISAS.join(', ')}`, { field: ISA_ENV });
    }
    return { arch, model, cores, isa: override as Isa, source: 'env', flags };
  }
  if (arch === 'arm64') return { arch, model, cores, isa: 'arm64', source: 'arch', flags };
  if (arch !== 'x64' || text === undefined) return { arch, model, cores, isa: 'baseline', source: 'arch', flags };
  return { arch, model, cores, isa: isaFromFlags(parsed.flags), source: 'cpuinfo', flags };
}
