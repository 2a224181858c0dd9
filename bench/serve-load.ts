// Load test of `semsearch serve` on loopback, beside a dedicated embedding server (infinity-emb) measured in the same
// run with the same load generator (autocannon), model folder and thread budget. Writes docs/SERVING.md.
//
//   npm run bench:serve -- --model DIR [--index DIR] [--targets search,embeddings,encode,infinity-torch,infinity-optimum]
//        [--connections 1,8,32,128] [--texts 1,32] [--duration 8] [--threads 2] [--workers 1]
//        [--infinity /path/to/venv/bin/infinity_emb] [--infinity-model DIR] [--grid [--rounds N] [--grid-duration 5]]
//        [--soak SECONDS] [--out docs/SERVING.md] [--json FILE]
//
// --grid measures /search (one query per request) at 1, 32 and 128 connections for each workers x threads split; with
// --rounds N it does so N times, each round starting at the next configuration (so none always runs first or after
// the same neighbour), and reports each cell's median, its min-max over the rounds (the noise floor), and the winner
// of each column. `--targets none` measures the grid alone.
//
// Every server runs in its own process; only 127.0.0.1 is addressed. The library's own encode rate at the same
// thread count is measured first in this process: the bar a server is held to (texts/s at the batch the load allows).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadModel } from '../src/encoder/load-model.js';
import { buildIndex } from '../src/store/build-index.js';
import { readIndexInfo } from '../src/store/search-index.js';
import { median } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data/msmarco-passage-dl19-relevant-subset');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'src/model/fixtures/models/bert') },
    index: { type: 'string' },
    passages: { type: 'string', default: '4103' },
    targets: { type: 'string', default: 'search,embeddings' },
    connections: { type: 'string', default: '1,8,32,128' },
    texts: { type: 'string', default: '1,32' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '1' },
    k: { type: 'string', default: '10' },
    threads: { type: 'string', default: String(cpus().length) },
    workers: { type: 'string', default: '1' },
    infinity: { type: 'string' },
    'infinity-model': { type: 'string' },
    // semsearch's port (0: one the system picks) and infinity-emb's (torch on it, optimum on it + 1).
    port: { type: 'string', default: '0' },
    'infinity-port': { type: 'string', default: '17997' },
    grid: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    'grid-duration': { type: 'string' },
    soak: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
  },
});
const duration = Math.min(120, Math.max(1, Number(args.duration)));
const warmup = Math.min(30, Math.max(0, Number(args.warmup)));
const list = (s: string): number[] => s.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const threads = Number(args.threads);

const queries = readFileSync(join(DATA, 'queries.tsv'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('\t'))
  .map((l) => l.slice(l.indexOf('\t') + 1));

async function prepareIndex(): Promise<{ index: string; cleanup: () => void }> {
  if (args.index !== undefined) return { index: args.index, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-serve-load-'));
  const corpus = join(dir, 'c.tsv');
  writeFileSync(corpus, readFileSync(join(DATA, 'collection.tsv'), 'utf8').split('\n').slice(0, Number(args.passages)).join('\n') + '\n');
  const index = join(dir, 'idx');
  process.stderr.write(`building a ${args.passages}-passage index with ${args.model} ...\n`);
  await buildIndex({ corpus, out: index, model: args.model, shardSize: 8192 });
  return { index, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Server {
  child: ChildProcess;
  url: string;
  /** What to POST for a request of n texts. */
  request: (n: number, at: number) => { path: string; body: string };
}

function waitForUrl(child: ChildProcess, re: RegExp, fixed?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += String(d);
      const m = re.exec(out);
      if (m !== null) resolve(fixed ?? (m[1] as string));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${out.slice(-2000)}`)));
  });
}

const slice = (n: number, at: number): string[] => Array.from({ length: n }, (_, i) => queries[(at + i) % queries.length] as string);

async function startSemsearch(index: string, target: string, t = threads, workers = Number(args.workers)): Promise<Server> {
  const argv = ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'serve', index, '--port', args.port, '--max-queue', '4096', '--threads', String(t), '--workers', String(workers)];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await waitForUrl(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await ready(`${url}/ready`);
  const request = (n: number, at: number): { path: string; body: string } => {
    const texts = slice(n, at);
    if (target === 'search') return { path: '/search', body: JSON.stringify(n === 1 ? { query: texts[0], k: Number(args.k) } : { queries: texts, k: Number(args.k) }) };
    if (target === 'encode') return { path: '/encode', body: JSON.stringify({ texts }) };
    return { path: '/v1/embeddings', body: JSON.stringify({ input: texts, encoding_format: 'float' }) };
  };
  return { child, url, request };
}

async function startInfinity(engine: 'torch' | 'optimum'): Promise<Server> {
  const bin = args.infinity as string;
  const model = args['infinity-model'] ?? args.model;
  const port = Number(args['infinity-port']) + (engine === 'torch' ? 0 : 1);
  const argv = ['v2', '--model-id', model, '--engine', engine, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning', '--pooling-method', 'mean'];
  if (engine === 'optimum') argv.push('--onnx-do-not-prefer-quantized');
  const env = { ...process.env, HF_HUB_OFFLINE: '1', OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), INFINITY_ANONYMOUS_USAGE_STATS: '0', DO_NOT_TRACK: '1' };
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  // A binary that cannot start (missing, not executable) is reported as this server's failure, not a crash.
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`${bin} did not start: ${e.message}`))));
  child.stdout?.resume();
  // Its last words, for the failure line when it exits before it is ready.
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => (tail = (tail + b.toString()).slice(-300)));
  const url = `http://127.0.0.1:${port}`;
try {
    await Promise.race([spawnError, ready(`${url}/health`, child).catch((e: Error) => Promise.reject(new Error(`${e.message}${tail !== '' ? `: ${tail.trim().split('\n').pop() ?? ''}` : ''}`)))]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const name = model.split('/').filter((x) => x !== '').pop() as string;
  return { child, url, request: (n, at) => ({ path: '/embeddings', body: JSON.stringify({ input: slice(n, at), model: name }) }) };
}

async function ready(url: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`${url}: the server exited`);
    const r = await fetch(url).catch(() => undefined);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${url} never became ready`);
}

async function stop(s: Server): Promise<number> {
  if (s.child.exitCode !== null || s.child.pid === undefined) return 0;
  const peak = peakRssMiB(s.child.pid);
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  return peak;
}

/** A memory figure of a process from /proc (VmHWM: the peak resident set; VmRSS: the current one), in MiB. */
function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}
const peakRssMiB = (pid: number): number => statusMiB(pid, 'VmHWM');
const rssMiB = (pid: number): number => statusMiB(pid, 'VmRSS');

function drive(s: Server, seconds: number, conns: number, n: number): Promise<autocannon.Result> {
  let at = 0;
  return autocannon({
    url: s.url,
    connections: conns,
    duration: seconds,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => {
          const r = s.request(n, at);
          at += n;
          return { ...req, path: r.path, body: r.body };
        },
      },
    ],
  });
}

/** CPU seconds so far: the server's HTTP (main) thread, its other threads (workers, ONNX Runtime, V8), this process
 * (autocannon, the load generator), and the whole machine's busy time, from /proc. A cell's difference tells where the
 * cores went while it ran, which the library's in-process encode rate never pays for. */
interface CpuSnapshot {
  serverMain: number;
  serverOther: number;
  loadGenerator: number;
  machineBusy: number;
  at: number;
}
function cpuSnapshot(pid: number | undefined): CpuSnapshot {
  const tick = 100; // USER_HZ on Linux
  let serverMain = 0;
  let serverOther = 0;
  if (pid !== undefined) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      // the server is gone: its share reads 0
    }
    for (const tid of tasks) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const sec = (Number(f[11]) + Number(f[12])) / tick; // utime, stime
        if (tid === String(pid)) serverMain += sec;
        else serverOther += sec;
      } catch {
        // a thread that ended between the listing and the read
      }
    }
  }
  const u = process.cpuUsage();
  const cpuLine = (/^cpu (.+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait
  const busy = cpuLine.slice(0, 8).reduce((a, b, i) => (i === 3 || i === 4 ? a : a + b), 0) / tick;
  return { serverMain, serverOther, loadGenerator: (u.user + u.system) / 1e6, machineBusy: busy, at: performance.now() / 1000 };
}
function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const r = (x: number): number => Number(x.toFixed(2));
  return {
    seconds: r(b.at - a.at),
    serverMain: r(b.serverMain - a.serverMain),
    serverOther: r(b.serverOther - a.serverOther),
    loadGenerator: r(b.loadGenerator - a.loadGenerator),
    otherProcesses: r(b.machineBusy - a.machineBusy - (b.serverMain - a.serverMain) - (b.serverOther - a.serverOther) - (b.loadGenerator - a.loadGenerator)),
    machineBusy: r(b.machineBusy - a.machineBusy),
  };
}

const STAGES = ['queue', 'tokenize', 'inference', 'search', 'fetch', 'serialize'] as const;

async function stageTotals(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const one = (series: string): number => Number(new RegExp(`^${series} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    ...Object.fromEntries(STAGES.map((st) => [st, Number(new RegExp(`^semsearch_stage_duration_seconds_sum\\{stage="${st}"\\} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0)])),
    batchTexts: one('semsearch_batch_texts_sum'),
    batches: one('semsearch_batch_texts_count'),
  };
}

/** The library's rate at a batch size, interpolated between the sizes measured. */
function libraryAt(rates: Record<number, number>, batch: number): number {
  const sizes = Object.keys(rates).map(Number).sort((a, b) => a - b);
  let lo = sizes[0] as number;
  for (const b of sizes) {
    if (b === batch) return rates[b] as number;
    if (b > batch) {
      const f = (batch - lo) / (b - lo);
      return (rates[lo] as number) + f * ((rates[b] as number) - (rates[lo] as number));
    }
    lo = b;
  }
  return rates[lo] as number;
}

interface Cell {
  target: string;
  connections: number;
  texts: number;
  requestsPerSecond: number;
  textsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  /** Seconds per stage over the cell (semsearch only): where the server's time went. */
  stages?: Record<string, number>;
  /** semsearch: texts per batch the server actually ran, on average over the cell. */
  meanBatch?: number;
  /** CPU seconds over the cell: the server's HTTP thread, its other threads, the load generator, everything else. */
  cpu?: Record<string, number>;
  /** --rounds: which round measured it (0-based). */
  round?: number;
}

interface GridConfig {
  workers: number;
  threads: number;
}
/** The splits of 2 cores the grid compares, and 2 workers that may each use both cores (spinning off). */
const GRID_CONFIGS: readonly GridConfig[] = [
  { workers: 1, threads: 1 },
  { workers: 1, threads: 2 },
  { workers: 2, threads: 1 },
  { workers: 2, threads: 2 },
];
// The server turns spinning off by itself where the threads outnumber the cores (spinningFor); the name says so.
const gridName = (g: GridConfig): string =>
  `${g.workers} worker${g.workers === 1 ? '' : 's'} x ${g.threads} thread${g.threads === 1 ? '' : 's'}${g.workers * g.threads > cpus().length ? ', spinning off' : ''}`;

/** The library's own encode rate, texts/s, at each batch size, with `t` ONNX threads: the bar for the servers. */
async function libraryRates(t: number, sizes: readonly number[]): Promise<Record<number, number>> {
  const model = await loadModel(args.model, { threads: t, workers: 1 });
  const out: Record<number, number> = {};
  try {
    for (const b of sizes) {
      await model.encode(slice(b, 0), { batchSize: 32 });
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 3000) {
        await model.encode(slice(b, n), { batchSize: 32 });
        n += b;
      }
      out[b] = n / ((performance.now() - t0) / 1000);
    }
  } finally {
    await model.dispose();
  }
  return out;
}

/** Measures each cell into `cells` as it goes, so a server that dies mid-way leaves the cells it finished. */
async function measure(s: Server, target: string, conns: readonly number[], sizes: readonly number[], cells: Cell[] = [], seconds = duration): Promise<Cell[]> {
  for (const n of sizes) {
    for (const c of conns) {
      if (warmup > 0) await drive(s, warmup, c, n);
      const semsearch = !target.startsWith('infinity');
      const st0 = semsearch ? await stageTotals(s.url) : undefined;
      const cpu0 = cpuSnapshot(s.child.pid);
      const r = await drive(s, seconds, c, n);
      const cpu1 = cpuSnapshot(s.child.pid);
      const st1 = semsearch ? await stageTotals(s.url) : undefined;
      const cell: Cell = {
        target,
        connections: c,
        texts: n,
        requestsPerSecond: r.requests.average,
        textsPerSecond: r.requests.average * n,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors,
        non2xx: r.non2xx,
        timeouts: r.timeouts,
        cpu: cpuDelta(cpu0, cpu1),
      };
      if (st0 !== undefined && st1 !== undefined) {
        cell.stages = Object.fromEntries(STAGES.map((k) => [k, (st1[k] ?? 0) - (st0[k] ?? 0)]));
        cell.meanBatch = ((st1.batchTexts ?? 0) - (st0.batchTexts ?? 0)) / Math.max(1, (st1.batches ?? 0) - (st0.batches ?? 0));
      }
      process.stderr.write(`${target} c=${c} n=${n}: ${cell.requestsPerSecond.toFixed(0)} req/s, p50 ${cell.p50Ms} ms, p99 ${cell.p99Ms} ms, errors ${cell.errors + cell.non2xx + cell.timeouts}\n`);
      cells.push(cell);
    }
  }
  return cells;
}

function cpuName(): string {
  const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  return `${m?.[1] ?? 'unknown CPU'}, ${cpus().length} cores, ${/avx512_vnni/.test(flags) ? 'AVX-512 VNNI' : /avx2/.test(flags) ? 'AVX2 (no AVX-512)' : 'no AVX2'}`;
}

const { index, cleanup } = await prepareIndex();
const started = new Date();
try {
  const conns = list(args.connections);
  const sizes = list(args.texts);
  const targets = args.targets.split(',').map((t) => t.trim()).filter((t) => t !== '' && t !== 'none');
  process.stderr.write(`library encode rates at ${threads} threads ...\n`);
  const before = await libraryRates(threads, [1, 2, 4, 8, 16, 32]);
  const cells: Cell[] = [];
  const peaks: Record<string, number> = {};
  // A server that fails to start or dies is reported with its reason; what was measured stays in the report.
  const failures: { target: string; error: string }[] = [];
  const failed = (target: string, e: unknown): void => {
    const error = String((e as Error).message ?? e).split('\n')[0] as string;
    failures.push({ target, error });
    process.stderr.write(`${target} FAILED: ${error}; the report keeps the other cells\n`);
  };
  for (const target of targets) {
    let s: Server;
    try {
      s = target.startsWith('infinity-') ? await startInfinity(target.slice('infinity-'.length) as 'torch' | 'optimum') : await startSemsearch(index, target);
    } catch (e) {
      failed(target, e);
      continue;
    }
    try {
      await measure(s, target, conns, sizes, cells);
    } catch (e) {
      failed(target, e);
    } finally {
      peaks[target] = await stop(s).catch(() => 0);
    }
  }
  // Defaults by measurement: semsearch /search at each workers x threads split of the cores, in rounds whose order
  // rotates, so a slow spell of the machine falls on different configurations in different rounds.
  const grid: Cell[] = [];
  const rounds = Math.max(1, Math.min(20, Number(args.rounds)));
  const gridSeconds = Math.min(120, Math.max(1, Number(args['grid-duration'] ?? duration)));
  if (args.grid) {
    for (let round = 0; round < rounds; round++) {
      const order = GRID_CONFIGS.map((_, i) => GRID_CONFIGS[(i + round) % GRID_CONFIGS.length] as GridConfig);
      process.stderr.write(`grid round ${round + 1}/${rounds}: ${order.map(gridName).join(' -> ')}\n`);
      for (const g of order) {
        const name = gridName(g);
        let s: Server;
        try {
          s = await startSemsearch(index, 'search', g.threads, g.workers);
        } catch (e) {
          failed(name, e);
          continue;
        }
        try {
          const mine: Cell[] = [];
          await measure(s, name, [1, 32, 128], [1], mine, gridSeconds);
          for (const c of mine) grid.push({ ...c, round });
        } catch (e) {
          failed(name, e);
        } finally {
          await stop(s).catch(() => 0);
        }
      }
    }
  }
  // Saturation held for a long while: errors, and memory at the start and the end.
  let soak: Record<string, unknown> | undefined;
  if (args.soak !== undefined) {
    const seconds = Math.min(900, Number(args.soak));
    const s = await startSemsearch(index, 'search');
    try {
      await drive(s, 5, 32, 1);
      const rss0 = rssMiB(s.child.pid as number);
      const samples: number[] = [];
      const timer = setInterval(() => samples.push(rssMiB(s.child.pid as number)), 10_000);
      const r = await drive(s, seconds, 64, 1);
      clearInterval(timer);
      soak = {
        seconds,
        connections: 64,
        requests: r.requests.total,
        requestsPerSecond: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors,
        non2xx: r.non2xx,
        timeouts: r.timeouts,
        rssStartMiB: rss0,
        rssEndMiB: rssMiB(s.child.pid as number),
        rssSamplesMiB: samples,
      };
      process.stderr.write(`soak: ${JSON.stringify(soak)}\n`);
    } finally {
      await stop(s);
    }
  }
  // Measured again after the servers: the bar is the better of the two, so a disturbance cannot lower it.
  const after = await libraryRates(threads, [1, 2, 4, 8, 16, 32]);
  const library = Object.fromEntries(Object.keys(before).map((b) => [b, Math.max(before[Number(b)] ?? 0, after[Number(b)] ?? 0)])) as Record<number, number>;
  process.stderr.write(`library before ${JSON.stringify(before)}, after ${JSON.stringify(after)}\n`);
  const info = readIndexInfo(index);
  const workload = `${args.index !== undefined ? `the index ${args.index}` : 'an index of the first DL19-subset passages'}: ${info.live.toLocaleString('en')} passages (${info.precision}, exact)`;
  const result = { date: started.toISOString(), finished: new Date().toISOString(), rounds, gridSeconds, libraryBefore: before, libraryAfter: after, cpu: cpuName(), model: args.model, index, workload, passages: info.live, failures, threads, workers: Number(args.workers), duration, library, cells, grid, soak, peaks };
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(result, null, 2));
  const md = render(result);
  if (args.out !== undefined) writeFileSync(args.out, md);
  process.stdout.write(md);
  if ([...cells, ...grid].some((c) => c.errors + c.non2xx + c.timeouts > 0)) process.stderr.write('some requests errored\n');
  if (failures.length > 0) {
    process.stderr.write(`${failures.length} server(s) failed: ${failures.map((f) => f.target).join(', ')}\n`);
    process.exitCode = 1;
  }
} finally {
  cleanup();
}

function render(r: { date: string; rounds: number; gridSeconds: number; cpu: string; model: string; workload: string; failures: { target: string; error: string }[]; threads: number; library: Record<number, number>; cells: Cell[]; grid: Cell[]; soak?: Record<string, unknown>; peaks: Record<string, number> }): string {
  // The library at the batch size the server ran (its /metrics), so the two do the same work per model call.
  const lib = (c: Cell): number => libraryAt(r.library, Math.min(32, c.meanBatch ?? 1));
  const best = (n: number, c: number): number => Math.max(0, ...r.cells.filter((x) => x.target.startsWith('infinity') && x.texts === n && x.connections === c).map((x) => x.textsPerSecond));
  const rows = r.cells.map((c) => {
    const peer = best(c.texts, c.connections);
    const vsPeer = c.target.startsWith('infinity') || peer === 0 ? '' : `${(c.textsPerSecond / peer).toFixed(2)}×`;
    const vsLib = c.target.startsWith('infinity') ? '' : `${((100 * c.textsPerSecond) / lib(c)).toFixed(0)}%`;
    const err = c.errors + c.non2xx + c.timeouts;
    return `| ${c.target} | ${c.texts} | ${c.connections} | ${c.requestsPerSecond.toFixed(0)} | ${c.textsPerSecond.toFixed(0)} | ${c.p50Ms} | ${c.p99Ms} | ${err} | ${c.meanBatch?.toFixed(1) ?? ''} | ${vsLib} | ${vsPeer} |`;
  });
  const stageRows = r.cells
    .filter((c) => c.stages !== undefined && c.connections === 32)
    .map((c) => {
      const total = STAGES.filter((k) => k !== 'queue').reduce((s, k) => s + (c.stages?.[k] ?? 0), 0);
      return `| ${c.target} | ${c.texts} | ${STAGES.map((k) => `${(c.stages?.[k] ?? 0).toFixed(2)}`).join(' | ')} | ${((100 * (c.stages?.inference ?? 0)) / Math.max(total, 1e-9)).toFixed(0)}% |`;
    });
  const gridLines = gridSection(r.grid, r.rounds, r.gridSeconds, lib);
  return [
    '# Serving: semsearch serve beside infinity-emb',
    '',
    `Measured ${r.date.slice(0, 10)} by \`npm run bench:serve\` on ${r.cpu}. Model: ${r.model.split('/').pop()} ${r.model.includes('fixtures/models') ? '(a tiny random test model)' : '(real weights)'}; ${r.workload}.`,
    ...(r.failures.length > 0 ? ['', `**Failed to run** (their cells are missing; every other cell below was measured): ${r.failures.map((f) => `${f.target}: ${f.error}`).join('; ')}.`, ''] : []),
    `Every server got ${r.threads} threads (semsearch: \`--threads ${r.threads}\`, one worker; infinity-emb (tools/reference/requirements-serve.txt): OMP/MKL threads ${r.threads}, ONNX Runtime's default for optimum),`,
    'autocannon on the same machine drove each with DL19 queries (one text, or 32 texts per request), one cell after another.',
    'Texts/s counts texts embedded (or queries searched). "of library" compares with the library encoding the same texts in-process, with the same threads, at the',
    'batch size the server ran (texts/batch, from its /metrics; the library\'s rate interpolated between the sizes measured)',
    `(${Object.entries(r.library).map(([b, v]) => `batch ${b}: ${v.toFixed(0)} texts/s`).join(', ')}); "vs infinity" with infinity-emb's better engine in the same cell.`,
    '',
    '| target | texts/request | connections | req/s | texts/s | p50 ms | p99 ms | errors | texts/batch | of library | vs infinity |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Where semsearch\'s time goes (32 connections; seconds over the cell, from /metrics)',
    '',
    `| target | texts/request | ${STAGES.join(' | ')} | inference share of worker time |`,
    `|---|---|${STAGES.map(() => '---').join('|')}|---|`,
    ...stageRows,
    '',
    'queue is summed over requests (time waiting for a worker); the others over batches, in the worker; serialize on the HTTP thread.',
    ...gridLines,
    ...(r.soak !== undefined ? ['', '## Held at saturation', '', '```json', JSON.stringify(r.soak, null, 1), '```'] : []),
    '',
    `Peak RSS (MiB): ${Object.entries(r.peaks).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}.`,
    '',
  ].join('\n');
}

/** The grid as markdown: per configuration and connections, the median over rounds, min-max, and each column's winner. */
function gridSection(grid: readonly Cell[], rounds: number, seconds: number, lib: (c: Cell) => number): string[] {
  if (grid.length === 0) return [];
  const names = [...new Set(grid.map((c) => c.target))];
  const conns = [...new Set(grid.map((c) => c.connections))].sort((a, b) => a - b);
  const cellsOf = (name: string, c: number): Cell[] => grid.filter((x) => x.target === name && x.connections === c);
  const med = (name: string, c: number, f: (x: Cell) => number): number => median(cellsOf(name, c).map(f));
  const winner = (c: number): string => names.reduce((a, b) => (med(b, c, (x) => x.requestsPerSecond) > med(a, c, (x) => x.requestsPerSecond) ? b : a));
  const rows = names.map((name) => {
    const parts = conns.map((c) => {
      const rps = cellsOf(name, c).map((x) => x.requestsPerSecond);
      return `${med(name, c, (x) => x.requestsPerSecond).toFixed(0)} (${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)})`;
    });
    return `| ${name} | ${parts.join(' | ')} |`;
  });
  const spreads = names.flatMap((name) => conns.map((c) => { const rps = cellsOf(name, c).map((x) => x.requestsPerSecond); return (Math.max(...rps) - Math.min(...rps)) / median(rps); }));
  const stageRows = names.flatMap((name) =>
    conns.filter((c) => c >= 32).map((c) => {
      const cs = cellsOf(name, c);
      const st = (k: string): number => median(cs.map((x) => x.stages?.[k] ?? 0));
      const work = STAGES.filter((k) => k !== 'queue').reduce((s, k) => s + st(k), 0);
      return `| ${name} | ${c} | ${med(name, c, (x) => x.requestsPerSecond).toFixed(0)} | ${med(name, c, (x) => x.meanBatch ?? 1).toFixed(1)} | ${median(cs.map((x) => (100 * x.textsPerSecond) / lib(x))).toFixed(0)}% | ${STAGES.map((k) => st(k).toFixed(2)).join(' | ')} | ${work.toFixed(2)} |`;
    }),
  );
  const cpuKeys = ['loadGenerator', 'serverMain', 'serverOther', 'otherProcesses'] as const;
  const cores = cpus().length;
  const cpuRows = names.flatMap((name) =>
    conns.filter((c) => c >= 32).map((c) => {
      const cs = cellsOf(name, c).filter((x) => x.cpu !== undefined);
      const share = (k: string): number => median(cs.map((x) => (100 * (x.cpu?.[k] ?? 0)) / (cores * (x.cpu?.['seconds'] ?? 1))));
      const inf = median(cs.map((x) => (100 * (x.stages?.['inference'] ?? 0)) / (cores * (x.cpu?.['seconds'] ?? 1))));
      const idle = 100 - median(cs.map((x) => (100 * (x.cpu?.['machineBusy'] ?? 0)) / (cores * (x.cpu?.['seconds'] ?? 1))));
      return `| ${name} | ${c} | ${cpuKeys.map((k) => `${share(k).toFixed(0)}%`).join(' | ')} | ${idle.toFixed(0)}% | ${inf.toFixed(0)}% |`;
    }),
  );
  return [
    '',
    `## Thread and worker defaults (/search, one query per request; ${rounds} interleaved round${rounds === 1 ? '' : 's'} of ${seconds}-second cells)`,
    '',
    'req/s: median over the rounds (min–max). Each round starts one configuration later than the one before.',
    '',
    `| config | ${conns.map((c) => `c=${c}`).join(' | ')} |`,
    `|---|${conns.map(() => '---').join('|')}|`,
    ...rows,
    `| **wins** | ${conns.map((c) => winner(c)).join(' | ')} |`,
    '',
    `Noise floor: a cell's min–max across rounds spans ${(100 * Math.min(...spreads)).toFixed(0)}–${(100 * Math.max(...spreads)).toFixed(0)}% of its median (median ${(100 * median(spreads)).toFixed(0)}%).`,
    '',
    '### Where /search time goes (medians over the rounds; seconds over the cell, from /metrics)',
    '',
    `| config | connections | req/s | texts/batch | of library | ${STAGES.join(' | ')} | worker total |`,
    `|---|---|---|---|---|${STAGES.map(() => '---').join('|')}|---|`,
    ...stageRows,
    '',
    `### Where the ${cores} cores went (medians over the rounds; share of ${cores} cores × the cell, from /proc)`,
    '',
    'load generator: this process (autocannon); HTTP thread: the server\'s main thread (parse, batch, serialize);',
    'other server threads: the workers (tokenize, inference, search, fetch) and ONNX Runtime\'s and V8\'s threads;',
    'inference: the workers\' inference seconds from /metrics on the same scale (wall time inside the session).',
    '',
    '| config | connections | load generator | HTTP thread | other server threads | other processes | idle | inference |',
    '|---|---|---|---|---|---|---|---|',
    ...cpuRows,
  ];
}
