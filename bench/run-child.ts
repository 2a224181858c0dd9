import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CrossJob, EncodeJob, EncodeResult } from './jobs.js';

export interface ChildCommand {
  command: string;
  args: string[];
}

/** How each system's process is started: semsearch and transformers.js as node processes, the Python peers with the venv's python. */
export function childCommand(job: { system?: string; kind: string }, repoRoot: string, python: string): ChildCommand {
  if (job.kind === 'gemm' || job.system === 'st-torch' || job.system === 'st-onnx') {
    return { command: python, args: [join(repoRoot, 'bench', 'peers', 'st_peer.py')] };
  }
  const file = job.kind === 'cross' ? 'semsearch-cross-child.ts' : job.system === 'semsearch' ? 'semsearch-child.ts' : 'transformersjs-child.ts';
  return { command: process.execPath, args: ['--import', 'tsx', join(repoRoot, 'bench', 'children', file)] };
}

/** Machine-wide busy ticks and this process's own ticks plus those of its reaped children (/proc, clock ticks). */
function ticks(): { busy: number; nice: number; self: number; children: number } {
  const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = v.reduce((a, b) => a + b, 0) - (v[3] ?? 0) - (v[4] ?? 0);
  const nice = v[1] ?? 0;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the ")" that closes the command name: utime is the 14th field overall, then stime, cutime, cstime.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { busy, nice, self: (f[11] ?? 0) + (f[12] ?? 0), children: (f[13] ?? 0) + (f[14] ?? 0) };
}

/**
 * CPU used by other processes while a child ran, in cores on average: machine busy time less ours and the
 * child's. Work at nice > 0 is counted apart: it yields to the benchmark and mostly fills idle gaps.
 */
export interface Contention {
  /** Others at normal priority: what decides whether a measurement is repeated. */
  othersCores: number;
  nicedCores: number;
  childCores: number;
  seconds: number;
}

/**
 * Run one job in its own process, so each system gets a fresh heap, its own thread pools and its own peak
 * RSS. The thread budget is also put in the OpenMP/MKL variables, which torch reads at start.
 */
export async function runChild<T = EncodeResult>(
  job: (EncodeJob | CrossJob | { kind: 'gemm'; threads: number; size: number; reps: number; resultFile: string }) & { resultFile: string },
  workDir: string,
  repoRoot: string,
  python: string,
  tag: string,
): Promise<T & { contention: Contention }> {
  const jobFile = join(workDir, `${tag}.job.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const { command, args } = childCommand(job, repoRoot, python);
  const threads = String(job.threads);
  const env = { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'true' };
  const stderr: string[] = [];
  const before = ticks();
  const t0 = performance.now();
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(command, [...args, jobFile], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d: Buffer) => stderr.push(d.toString()));
    p.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
    p.on('error', reject);
    p.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    const tail = stderr.join('').split('\n').slice(-15).join('\n');
    throw new Error(`${tag}: ${command} exited with ${code}\n${tail}`);
  }
  const after = ticks();
  const seconds = (performance.now() - t0) / 1000;
  // Clock ticks are 1/100 s on Linux (USER_HZ), for /proc/stat and /proc/self/stat alike.
  const child = (after.children - before.children) / 100;
  const mine = (after.self - before.self) / 100;
  const niced = (after.nice - before.nice) / 100;
  const others = (after.busy - before.busy) / 100 - child - mine - niced;
  const contention = { othersCores: Math.max(0, others / seconds), nicedCores: niced / seconds, childCores: child / seconds, seconds };
  return { ...(JSON.parse(readFileSync(job.resultFile, 'utf8')) as T), contention };
}
