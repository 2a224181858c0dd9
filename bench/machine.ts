import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { detectCpu } from '../src/cpu/features.js';

/** What the benchmark ran on, and the theoretical fp32 peak derived from it (the method is in `peakDerivation`). */
export interface MachineInfo {
  modelName: string;
  vendor: string;
  family: number | null;
  model: number | null;
  cores: number;
  threadsPerCore: number;
  mhz: number;
  avx512: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  fmaUnits512: number;
  peakGflops: number;
  peakInt8Gops: number;
  peakDerivation: string;
  memoryGiB: number;
  hypervisor: string | null;
  /** The instruction set semsearch's int8 choice sees, and the CPU flags that decide it (src/cpu/features.ts). */
  isa?: string;
  isaFlags?: string[];
}

function lscpu(): Record<string, string> {
  try {
    const out = execFileSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    const m: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) m[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return m;
  } catch {
    return {};
  }
}

export function machineInfo(): MachineInfo {
  const info = lscpu();
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1];
  const flags = new Set((field('flags') ?? info['Flags'] ?? '').split(/\s+/));
  const vendor = info['Vendor ID'] ?? field('vendor_id') ?? 'unknown';
  const family = Number(info['CPU family'] ?? field('cpu family') ?? Number.NaN);
  const model = Number(info['Model'] ?? field('model') ?? Number.NaN);
  const threadsPerCore = Number(info['Thread(s) per core'] ?? 1);
  const logical = cpus().length;
  const cores = Math.max(1, Math.round(logical / threadsPerCore));
  // /proc/cpuinfo's "cpu MHz" is what the guest sees (here the TSC rate of a KVM guest); boost clocks are not
  // visible from inside a VM, so the peak below assumes the nominal clock.
  const mhz = Number(field('cpu MHz') ?? cpus()[0]?.speed ?? 0);
  const avx512 = flags.has('avx512f');
  // 512-bit FMA throughput per core per cycle. AMD Zen 4 (family 25 with AVX-512) runs a 512-bit FMA as two
  // 256-bit halves on its two FMA pipes: one 512-bit FMA per cycle. Intel server cores with AVX-512 are
  // taken to have two 512-bit FMA units (Skylake-SP Gold/Platinum and later); that is an assumption.
  const isZen4 = vendor === 'AuthenticAMD' && family === 25;
  const fmaUnits512 = avx512 ? (isZen4 || vendor === 'AuthenticAMD' ? 1 : 2) : 0;
  const lanes = avx512 ? 16 : flags.has('avx2') ? 8 : 4;
  const units = avx512 ? fmaUnits512 : flags.has('fma') ? 2 : 1;
  const peakGflops = (cores * units * lanes * 2 * mhz) / 1000;
  // VNNI (vpdpbusd) does 4 int8 multiply-adds per 32-bit lane where an fp32 FMA does one.
  const peakInt8Gops = flags.has('avx512_vnni') ? peakGflops * 4 : peakGflops * 2;
  const peakDerivation =
    `${cores} cores x ${units} ${avx512 ? '512-bit' : 'vector'} FMA unit(s)/core x ${lanes} fp32 lanes x 2 flops (FMA) x ${(mhz / 1000).toFixed(3)} GHz = ${peakGflops.toFixed(1)} GFLOP/s. ` +
    `Cores and flags from lscpu (${info['Model name'] ?? 'unknown'}, family ${family} model ${model}, ${flags.has('avx512f') ? 'avx512f' : 'no avx512f'}${flags.has('avx512_vnni') ? ', avx512_vnni' : ''}), ` +
    `clock from /proc/cpuinfo "cpu MHz" (nominal; boost is not visible in a ${info['Hypervisor vendor'] ?? 'bare-metal'} guest). ` +
    (isZen4 ? 'Family 25 with AVX-512 is AMD Zen 4, which issues one 512-bit FMA per cycle (two 256-bit pipes). ' : '') +
    `int8 peak taken as 4x fp32 (VNNI vpdpbusd: 4 int8 multiply-adds per 32-bit lane) = ${peakInt8Gops.toFixed(0)} GOP/s.`;
  return {
    modelName: info['Model name'] ?? field('model name') ?? 'unknown',
    vendor,
    family: Number.isFinite(family) ? family : null,
    model: Number.isFinite(model) ? model : null,
    cores,
    threadsPerCore,
    mhz,
    avx512,
    avx512vnni: flags.has('avx512_vnni'),
    avx512bf16: flags.has('avx512_bf16'),
    fmaUnits512,
    peakGflops,
    peakInt8Gops,
    peakDerivation,
    memoryGiB: totalmem() / 2 ** 30,
    hypervisor: info['Hypervisor vendor'] ?? null,
    isa: detectCpu().isa,
    isaFlags: detectCpu().flags,
  };
}

function cpuTimes(): { idle: number; nice: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  // guest and guest_nice (fields 9, 10) are already counted in user and nice.
  return { idle, nice: v[1] ?? 0, total: v.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/**
 * CPU used by the whole machine over `ms`, in cores (0..nproc), and the part of it run at a lower priority
 * (nice > 0). Called while no bench child runs, it is what others use.
 */
export async function cpuUse(ms = 1000): Promise<{ busy: number; niced: number }> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  if (total <= 0) return { busy: 0, niced: 0 };
  return { busy: ((total - (b.idle - a.idle)) / total) * cpus().length, niced: ((b.nice - a.nice) / total) * cpus().length };
}

export async function cpuBusyCores(ms = 1000): Promise<number> {
  return (await cpuUse(ms)).busy;
}

export interface QuietCheck {
  loadAvg1: number;
  /** Cores used by others at normal priority (what the decision is made on). */
  busyCores: number;
  /** Cores used by others at nice > 0: they yield to the benchmark (about a tenth of a core each at nice 10). */
  nicedCores: number;
  waitedSeconds: number;
  quiet: boolean;
}

/**
 * Wait until other processes use less than `maxBusyCores` at normal priority (sampled over a second), up to
 * `maxWaitSeconds`. Niced work is recorded but not waited for: the scheduler gives the benchmark precedence.
 * The 1-minute load average is recorded too, but it still counts the previous bench child for a minute
 * after it ends, so the decision is made on the sampled CPU use.
 */
export async function waitForQuiet(maxBusyCores: number, maxWaitSeconds: number, log: (s: string) => void): Promise<QuietCheck> {
  const start = Date.now();
  let warned = false;
  for (;;) {
    const use = await cpuUse(1000);
    const busy = use.busy - use.niced;
    const waited = (Date.now() - start) / 1000;
    const check = { loadAvg1: loadavg()[0] as number, busyCores: busy, nicedCores: use.niced, waitedSeconds: waited };
    if (busy < maxBusyCores) return { ...check, quiet: true };
    if (waited >= maxWaitSeconds) {
      log(`  machine still busy (${busy.toFixed(2)} cores used by others) after ${waited.toFixed(0)} s; measuring anyway, flagged in the results`);
      return { ...check, quiet: false };
    }
    if (!warned) log(`  waiting for a quiet machine: others use ${busy.toFixed(2)} cores (limit ${maxBusyCores}), load average ${(loadavg()[0] as number).toFixed(2)}`);
    warned = true;
    await new Promise((r) => setTimeout(r, 5000));
  }
}
