import { SemsearchError } from '../errors.js';
import type { CpuFacts, Isa } from './features.js';

/** The `variant` that asks for the dynamic-quantized ONNX file that is accurate on this CPU. */
export const INT8 = 'int8';

/**
 * The hub's dynamic-quantized exports (sentence-transformers' export_dynamic_quantized_onnx_model): activations
 * are always uint8; the weights are signed (qint8) or unsigned (quint8), full range in both.
 */
export const QUANTIZED_VARIANTS = ['qint8_avx512_vnni', 'qint8_avx512', 'qint8_arm64', 'quint8_avx2'] as const;
export type QuantizedVariant = (typeof QUANTIZED_VARIANTS)[number];

/**
 * Files in order of preference for each ISA, only those accurate there. Why each is or is not:
 * - uint8 × int8 on x86 without VNNI runs through VPMADDUBSW, whose 16-bit pair sums saturate, so the qint8 files
 *   drift there (optimum's own avx512 config says so of AVX-512 without VNNI, and the AVX2 machine showed it:
 *   cosine 0.948 to fp32). VNNI's VPDPBUSD sums into 32 bits and does not.
 * - uint8 × uint8 widens to 16 bits before multiplying on every x86 and ARM path, so quint8_avx2 is accurate
 *   everywhere and is the fallback of last resort.
 * - ARM's kernels widen before accumulating, so the signed files built for arm64 are accurate there.
 */
export const INT8_PREFERENCE: Readonly<Record<Isa, readonly QuantizedVariant[]>> = {
  avx512_vnni: ['qint8_avx512_vnni', 'qint8_avx512', 'qint8_arm64', 'quint8_avx2'],
  avx512: ['quint8_avx2'],
  avx2: ['quint8_avx2'],
  arm64: ['qint8_arm64', 'quint8_avx2'],
  baseline: ['quint8_avx2'],
};

/** The file built for each ISA, named as the hub names it. */
export const INT8_BUILT_FOR: Readonly<Record<Isa, QuantizedVariant>> = {
  avx512_vnni: 'qint8_avx512_vnni',
  avx512: 'qint8_avx512',
  avx2: 'quint8_avx2',
  arm64: 'qint8_arm64',
  baseline: 'quint8_avx2',
};

export function isQuantizedVariant(variant: string): variant is QuantizedVariant {
  return (QUANTIZED_VARIANTS as readonly string[]).includes(variant);
}

/** Whether a quantized file gives accurate vectors on a CPU with this ISA. */
export function isAccurateOn(variant: QuantizedVariant, isa: Isa): boolean {
  return INT8_PREFERENCE[isa].includes(variant);
}

export interface Int8Choice {
  variant: QuantizedVariant;
  isa: Isa;
  /** Set when the file built for this ISA is missing or not accurate here, and another was taken: says which and why. */
  fallback?: string;
}

/**
 * The int8 file to use on this CPU among those a model offers (`available`: variant names, as in
 * onnx/model_<variant>.onnx). Throws ONNX_MISSING, naming what is there, when none is accurate here.
 */
export function chooseInt8Variant(available: readonly string[], cpu: Pick<CpuFacts, 'isa'>, where: string): Int8Choice {
  const isa = cpu.isa;
  const have = new Set(available);
  const builtFor = INT8_BUILT_FOR[isa];
  for (const v of INT8_PREFERENCE[isa]) {
    if (!have.has(v)) continue;
    if (v === builtFor) return { variant: v, isa };
    const why = !isAccurateOn(builtFor, isa)
      ? `${builtFor}, the file named for ${isa}, saturates on it (uint8 × int8 without VNNI)`
      : `${where} has no onnx/model_${builtFor}.onnx`;
    return { variant: v, isa, fallback: `${why}; using ${v}, which is accurate on ${isa}` };
  }
  const quantized = available.filter(isQuantizedVariant);
  // Name the file to export that is accurate here: on AVX-512 without VNNI that is not the one named for it.
  const wanted = INT8_PREFERENCE[isa][0] as QuantizedVariant;
  throw new SemsearchError(
    'ONNX_MISSING',
    `${where} has no int8 ONNX file that is accurate on this CPU (${isa}): ` +
      (quantized.length > 0
        ? `it has ${quantized.join(', ')}, which drift here; `
        : `it has no quantized file; `) +
      `export onnx/model_${wanted}.onnx with sentence-transformers' export_dynamic_quantized_onnx_model(model, "${wanted.replace(/^q(u)?int8_/, '')}", …), ` +
      `use the fp32 model (no variant), or name a variant explicitly`,
    { file: `onnx/model_${wanted}.onnx`, field: 'variant' },
  );
}

/** The warning for a quantized file asked for by name on a CPU where it drifts; undefined where it is accurate. */
export function inaccuracyWarning(variant: string, isa: Isa): string | undefined {
  if (!isQuantizedVariant(variant) || isAccurateOn(variant, isa)) return undefined;
  return (
    `onnx/model_${variant}.onnx is not accurate on this CPU (${isa}): its uint8 × int8 products saturate here and the ` +
    `vectors drift; load the model with variant 'int8' (CLI --variant int8; for an index, rebuild it with it) to get ${INT8_PREFERENCE[isa].join(' or ')}`
  );
}

/** What int8 measured against fp32 on one CPU kind (all-MiniLM-L6-v2, real weights, the library's defaults). */
export interface Int8Speed {
  /** × fp32 docs/s and queries/s (batches of 32). */
  docs: number;
  queries: number;
  /** The int8 file measured, the CPU, the date, and where the figures are written down. */
  file: string;
  measuredOn: string;
}

/**
 * int8's measured speed per ISA, so `semsearch doctor` says what it gives here instead of promising a speed-up.
 * Absent: not measured on that kind of CPU.
 */
export const INT8_MEASURED_SPEED: Readonly<Partial<Record<Isa, Int8Speed>>> = {
  // docs/BENCHMARK.md, the generated section: semsearch int8 200.4 docs/s, 1485.0 queries/s against fp32 93.7 and 773.0.
  avx512_vnni: { docs: 2.14, queries: 1.92, file: 'qint8_avx512_vnni', measuredOn: 'AMD EPYC Zen 4 (AVX-512 VNNI), 2 cores, 2026-11-25; docs/BENCHMARK.md' },
  // The lowest of three runs each (docs/BENCHMARK.md, "int8 per CPU kind"): documents 1.33x (issue 33, quiet), 1.29x
  // (3 interleaved rounds, 2026-12-07) and 1.28x (5 quiet rounds, 2026-12-07), queries 0.95x, 1.36x and 1.24x. No
  // VNNI: vpmaddubsw bounds int8 near 2x fp32 here.
  avx2: { docs: 1.28, queries: 0.95, file: 'quint8_avx2', measuredOn: 'AMD EPYC Zen 3 (AVX2, no VNNI), 2 cores, three runs of 2026-12, the lowest of each; docs/BENCHMARK.md' },

};

/** int8's speed on this ISA in one line: the measured ratios, and where int8 does not pay. */
export function int8SpeedLine(isa: Isa): string {
  const s = INT8_MEASURED_SPEED[isa];
  if (s === undefined) return `not measured on ${isa}: time it before counting on a speed-up (npm run bench)`;
  const pays = (x: number): string => (x >= 1.2 ? 'pays' : x > 1.05 ? 'pays little' : 'does not pay');
  return `${s.file} measured ${s.docs.toFixed(2)}× fp32 on documents (${pays(s.docs)}), ${s.queries.toFixed(2)}× on queries (${pays(s.queries)}); ${s.measuredOn}`;
}
