// Load test of `semsearch serve` on loopback: many concurrent clients for a bounded time, with dynamic batching
// on and off. Reports throughput, p50/p99 latency, errors and the server's peak memory.
//
//   node --conditions=source --import tsx bench/serve-load.ts [--model DIR] [--passages 2000]
//        [--connections 32] [--duration 10] [--modes on,off] [--max-wait-ms 5] [--quiet-ms 1] [--json FILE]
//
// The server runs in its own process (the CLI, as a user starts it) so its memory and event loop are its own;
// autocannon drives it from this process. Only 127.0.0.1 is ever addressed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildIndex } from '../src/store/build-index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data/msmarco-passage-dl19-relevant-subset');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'src/model/fixtures/models/bert') },
    index: { type: 'string' },
    passages: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    k: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'on,off' },
    'max-wait-ms': { type: 'string', default: '5' },
    'quiet-ms': { type: 'string', default: '1' },
    'max-batch': { type: 'string', default: '32' },
    threads: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'string' },
  },
});
const connections = Math.min(256, Math.max(1, Number(args.connections)));
// Bounded by construction: no run longer than two minutes whatever is asked.
const duration = Math.min(120, Math.max(1, Number(args.duration)));
const warmup = Math.min(30, Math.max(0, Number(args.warmup)));

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
  await buildIndex({ corpus, out: index, model: args.model, shardSize: 1024 });
  return { index, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function startServer(index: string, batching: boolean): Promise<{ child: ChildProcess; url: string }> {
  const argv = ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'serve', index, '--port', '0', '--host', '127.0.0.1', '--max-queue', '4096'];
  argv.push('--max-wait-ms', String(args['max-wait-ms']), '--quiet-ms', String(args['quiet-ms']), '--max-batch', String(args['max-batch']));
  if (!batching) argv.push('--no-batching');
  if (args.threads !== undefined) argv.push('--threads', args.threads);
  if (args.workers !== undefined) argv.push('--workers', args.workers);
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) resolve({ child, url: m[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`semsearch serve exited with ${code} before listening`)));
  });
}

/** Peak resident memory of a process, workers included, from the kernel's high-water mark. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

async function metricValue(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${series} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
}

const STAGES = ['queue', 'tokenize', 'inference', 'search', 'fetch', 'serialize'] as const;

/** Each stage's total seconds and observations so far, from /metrics. */
async function stageTotals(url: string): Promise<Record<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const st of STAGES) {
    const sum = Number(new RegExp(`^semsearch_stage_duration_seconds_sum\\{stage="${st}"\\} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0);
    const count = Number(new RegExp(`^semsearch_stage_duration_seconds_count\\{stage="${st}"\\} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0);
    out[st] = { sum, count };
  }
  return out;
}

function drive(url: string, seconds: number, conns: number): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url,
    connections: conns,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/search',
        headers: { 'content-type': 'application/json' },
        // A different query per request, cycling through the DL19 queries.
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ query: queries[n++ % queries.length], k: Number(args.k) }) }),
      },
    ],
  });
}

interface Row {
  mode: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  peakRssMiB: number;
  requestsPerBatch: number;
}

async function runMode(index: string, batching: boolean): Promise<Row> {
  const { child, url } = await startServer(index, batching);
  try {
    if (warmup > 0) await drive(url, warmup, Math.min(8, connections));
    const batches0 = await metricValue(url, 'semsearch_batch_requests_count');
    const sent0 = await metricValue(url, 'semsearch_batch_requests_sum');
    const st0 = await stageTotals(url);
    const r = await drive(url, duration, connections);
    const batches = (await metricValue(url, 'semsearch_batch_requests_count')) - batches0;
    const sent = (await metricValue(url, 'semsearch_batch_requests_sum')) - sent0;
    const st1 = await stageTotals(url);
    const stages = Object.fromEntries(
      STAGES.map((k) => {
        const d = { sum: (st1[k]?.sum ?? 0) - (st0[k]?.sum ?? 0), count: (st1[k]?.count ?? 0) - (st0[k]?.count ?? 0) };
        return [k, { meanMs: d.count > 0 ? (1000 * d.sum) / d.count : 0, totalS: d.sum, count: d.count }];
      }),
    );
    process.stderr.write(`stages (mean ms per observation; total s): ${STAGES.map((k) => `${k} ${stages[k]?.meanMs.toFixed(2)} (${stages[k]?.totalS.toFixed(1)} s)`).join(', ')}\n`);
    return {
      mode: batching ? `batching on (≤${args['max-batch']} texts, wait ≤${args['max-wait-ms']} ms, quiet ${args['quiet-ms']} ms)` : 'batching off',
      requestsPerSecond: r.requests.average,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      requests: r.requests.total,
      errors: r.errors,
      non2xx: r.non2xx,
      timeouts: r.timeouts,
      peakRssMiB: peakRssMiB(child.pid as number),
      requestsPerBatch: sent / batches,
    };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const { index, cleanup } = await prepareIndex();
try {
  const rows: Row[] = [];
  for (const mode of String(args.modes).split(',')) rows.push(await runMode(index, mode.trim() !== 'off'));
  process.stdout.write(`\nsemsearch serve, POST /search (k=${args.k}), ${connections} connections, ${duration} s, model ${args.model}, ${args.index ?? `${args.passages} passages`}\n\n`);
  process.stdout.write('| mode | req/s | p50 ms | p99 ms | requests | errors | non-2xx | timeouts | peak RSS MiB | requests/batch |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(
      `| ${r.mode} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms} | ${r.p99Ms} | ${r.requests} | ${r.errors} | ${r.non2xx} | ${r.timeouts} | ${r.peakRssMiB.toFixed(0)} | ${r.requestsPerBatch.toFixed(1)} |\n`,
    );
  }
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ connections, duration, model: args.model, rows }, null, 2));
  const failed = rows.some((r) => r.errors + r.non2xx + r.timeouts > 0);
  if (failed) process.stderr.write('FAILED: some requests errored\n');
  process.exitCode = failed ? 1 : 0;
} finally {
  cleanup();
}
