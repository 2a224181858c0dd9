import type { CrossSection } from './cross.js';
// The shape of a results file (bench/results/*.json, schema 'semsearch-bench/1'): written by encode.ts, read by
// report.ts and render.ts. Types only, so that the run and its report both depend on it and not on each other.
import type { SemsearchLevers, SystemName } from './jobs.js';
import type { MachineInfo, QuietCheck } from './machine.js';
import type { BenchModel } from './models.js';
import type { BenchOptions } from './options.js';
import type { QualityResult } from './quality.js';
import type { Contention } from './run-child.js';
import type { Throughput } from './stats.js';

export type Precision = 'fp32' | 'int8';

/** One system in one configuration, as a table row names it. */
export interface Config {
  id: string;
  label: string;
  system: SystemName;
  precision: Precision;
  file: string;
  order?: 'sorted' | 'input';
  levers?: SemsearchLevers;
  threads?: number;
  batchSize?: number;
}

export interface WorkloadMeasure {
  items: number;
  throughput: Throughput;
  /** Useful work (real tokens only) per second, and the share of the CPU's theoretical peak. */
  gflops: number;
  peakShare: number;
  cosineVsSemsearch?: { min: number; mean: number; maxAbsDiff: number; against: string };
  tokenizeShare?: number;
  ortShare?: number;
}

export interface ConfigResult {
  config: Config;
  loadSeconds: number;
  peakRssMB: number;
  versions: Record<string, string>;
  quiet: QuietCheck;
  contention: Contention;
  attempts: number;
  workloads: Record<string, WorkloadMeasure>;
}

export interface WorkloadInfo {
  items: number;
  tokens: number;
  meanTokens: number;
  paddedTokensSorted: number;
  paddedTokensInput: number;
  usefulGflop: number;
}

export interface ModelResult {
  model: BenchModel;
  workloads: Record<string, WorkloadInfo>;
  results: ConfigResult[];
  ratios: Ratio[];
}

export interface Ratio {
  workload: string;
  ours: string;
  peer: string;
  ratio: number;
  ourMedian: number;
  peerMedian: number;
}

export interface LeverResult {
  lever: string;
  model: string;
  detail: string;
  workloads: Record<string, { median: number; spread: number; vsBaseline: number }>;
  peakRssMB: number;
  othersCores: number;
  maxAbsDiffVsBaseline?: number;
}

export interface Target {
  target: string;
  model: string;
  value: number;
  threshold: number;
  met: boolean;
  note: string;
  /** A row it rests on was measured while others used more than the allowed CPU: the verdict is not reliable. */
  disturbed?: boolean;
}

export interface DefaultsRow {
  id: string;
  label: string;
  levers?: SemsearchLevers;
  /** Per workload: the median over rounds of each round's median pass, and every round's median. */
  workloads: Record<string, { median: number; rounds: number[] }>;
  othersCores: number;
  peakRssMB: number;
}

export interface DefaultsResult {
  model: string;
  label: string;
  rounds: number;
  rows: DefaultsRow[];
}

export interface BenchResults {
  schema: 'semsearch-bench/1';
  date: string;
  started: string;
  finished: string;
  quick: boolean;
  git: { commit: string; dirty: boolean };
  command: string;
  machine: MachineInfo;
  loadAverageAtStart: number[];
  settings: Omit<BenchOptions, 'out' | 'docsMd'>;
  data: { dir: string; files: string[] };
  gemm: { gflops: number; size: number; peakShare: number } | null;
  models: ModelResult[];
  levers: LeverResult[];
  /** The library's defaults against the ones before them and against sentence-transformers, in rounds (section 'defaults'). */
  defaults?: DefaultsResult[];
  scaling: { model: string; precision: Precision; workload: string; t1: number; tN: number; threads: number; speedup: number; efficiency: number }[];
  batch: { model: string; workload: string; batchSize: number; order: string; median: number; spread: number; paddedTokens: number; tokens: number }[];
  quality: QualityResult | null;
  /** Cross-encoder pairs/s against sentence-transformers' CrossEncoder on torch and onnx (section 'cross'). */
  cross?: CrossSection;
  targets: Target[];
  notes: string[];
}
