import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { BENCH_MODEL_NAMES, REAL_MODEL_NAME } from './models.js';

export const SECTIONS = ['peers', 'levers', 'defaults', 'scaling', 'batch', 'quality', 'cross'] as const;
export type Section = (typeof SECTIONS)[number];

/** Everything a run is told on the command line, after the profile's defaults. */
export interface BenchOptions {
  quick: boolean;
  models: string[];
  sections: Section[];
  threads: number;
  batchSize: number;
  reps: number;
  /** Peer comparison: measure every configuration once per round, `reps / rounds` passes each time. */
  rounds: number;
  /** Documents per pass for a MiniLM-L6-sized model; larger models get fewer (same seconds per pass), never under minDocs. */
  docsBase: number;
  minDocs: number;
  queriesBase: number;
  minQueries: number;
  python: string;
  benchModelsDir: string;
  realModelsDir: string;
  variantsDir: string;
  out: string | null;
  docsMd: string | null;
  /** Wait before each measurement until other processes use fewer cores than this. */
  maxBusyCores: number;
  maxWaitSeconds: number;
  /** Measure a configuration again when others took more than maxBusyCores while it ran (at most this often). */
  retries: number;
  /** Also time transformers.js on our length-sorted batches (engine against engine). */
  tjsSorted: boolean;
}

const HELP = `npm run bench -- [options]

  --quick               smoke run (~1-2 min): real all-MiniLM-L6-v2 only, small workloads, 1 repetition, peers only
  --models a,b          models: ${[REAL_MODEL_NAME, ...BENCH_MODEL_NAMES].join(', ')}; none for no bi-encoder
  --sections a,b        ${SECTIONS.join(', ')} (default: all; --quick: peers)
  --threads N           intra-op threads for every system (default: the core count)
  --batch N             batch size for every system (default 32)
  --reps N              timed passes per workload after the warm-up (default 3; --quick 1)
  --rounds N            peer comparison in N rounds over all systems, reps/N passes per process (default 1: a
                        fresh process's first pass pays one-time per-shape costs, torch most; the median of 3 hides it)
  --docs N              documents per pass for a MiniLM-L6-sized model (default 192; bigger models fewer, min 64)
  --queries N           queries per pass for a MiniLM-L6-sized model (default 243)
  --no-tjs-sorted       skip transformers.js on length-sorted batches
  --python PATH         Python of the peers (default $SEMSEARCH_BENCH_PYTHON or ~/venvs/ref/bin/python)
  --out FILE            results JSON (default bench/results/<date>.json; --quick: none unless given)
  --docs-md FILE        markdown report (default docs/BENCHMARK.md; --quick: none unless given)
  --max-busy C          wait until others use fewer than C cores before each measurement (default 0.35)
  --max-wait S          give up waiting after S seconds and measure anyway, flagged (default 30; --quick 10)
  --retries N           measure again when others used more than --max-busy cores during a measurement (default 1; --quick 0)

Environment: SEMSEARCH_DATA (shared data folder, default ../shared/data), SEMSEARCH_BENCH_CACHE
(default ~/.cache/semsearch): bench-models/, real/, bench-variants/.`;

export function parseOptions(argv: readonly string[], repoRoot: string, date: string): BenchOptions {
  const cache = process.env['SEMSEARCH_BENCH_CACHE'] ?? join(homedir(), '.cache', 'semsearch');
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    quick,
    models: quick ? [REAL_MODEL_NAME] : [REAL_MODEL_NAME, ...BENCH_MODEL_NAMES],
    sections: quick ? ['peers'] : [...SECTIONS],
    threads: cpus().length,
    batchSize: 32,
    reps: quick ? 1 : 3,
    rounds: 1,
    docsBase: quick ? 48 : 192,
    minDocs: quick ? 32 : 64,
    queriesBase: quick ? 64 : 243,
    minQueries: quick ? 32 : 128,
    python: process.env['SEMSEARCH_BENCH_PYTHON'] ?? join(homedir(), 'venvs', 'ref', 'bin', 'python'),
    benchModelsDir: `${cache}/bench-models`,
    realModelsDir: `${cache}/real`,
    variantsDir: `${cache}/bench-variants`,
    out: quick ? null : `${repoRoot}/bench/results/${date}.json`,
    docsMd: quick ? null : `${repoRoot}/docs/BENCHMARK.md`,
    maxBusyCores: 0.35,
    maxWaitSeconds: quick ? 10 : 30,
    retries: quick ? 0 : 1,
    tjsSorted: !quick,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(next());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    switch (a) {
      case '--quick':
        break;
      case '--help':
      case '-h':
        console.log(HELP);
        process.exit(0);
        break;
      case '--models':
        // 'none': no bi-encoder, for a run of sections that bring their own model (cross).
        o.models = next().split(',').filter((m) => m !== 'none');
        for (const m of o.models) if (m !== REAL_MODEL_NAME && !(BENCH_MODEL_NAMES as readonly string[]).includes(m)) throw new Error(`unknown model ${m}`);
        break;
      case '--sections':
        o.sections = next().split(',') as Section[];
        for (const s of o.sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}`);
        break;
      case '--threads':
        o.threads = int();
        break;
      case '--batch':
        o.batchSize = int();
        break;
      case '--reps':
        o.reps = int();
        break;
      case '--rounds':
        o.rounds = int();
        break;
      case '--docs':
        o.docsBase = int();
        o.minDocs = Math.min(o.minDocs, o.docsBase);
        break;
      case '--queries':
        o.queriesBase = int();
        o.minQueries = Math.min(o.minQueries, o.queriesBase);
        break;
      case '--no-tjs-sorted':
        o.tjsSorted = false;
        break;
      case '--python':
        o.python = next();
        break;
      case '--out':
        o.out = next();
        break;
      case '--docs-md':
        o.docsMd = next();
        break;
      case '--max-busy':
        o.maxBusyCores = Number(next());
        break;
      case '--max-wait':
        o.maxWaitSeconds = Number(next());
        break;
      case '--retries':
        o.retries = Number(next());
        break;
      default:
        throw new Error(`unknown option ${a}\n\n${HELP}`);
    }
  }
  return o;
}
