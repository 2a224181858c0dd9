/* global fetch, AbortSignal, performance */
// A local OpenSearch 2.19.1 cluster with the k-NN plugin, built from Maven Central, on loopback: for the cluster
// tests (npm run test:cluster) and the cluster benchmark (npm run bench:cluster). Development and tests only: no
// security plugin, never bound beyond 127.0.0.1.
//
//   node scripts/opensearch.mjs setup                      fetch the jars (Maven) and compile the node launcher
//   node scripts/opensearch.mjs start [--nodes 2] [--dir D] [--heap 1g] [--http-port 9250] [--java-home J]
//   node scripts/opensearch.mjs stop [--dir D]             stop the nodes this folder's PID files name, and no other
//   node scripts/opensearch.mjs test                       setup, start 2 nodes, run src/**/*.cluster.test.ts, stop
//   node scripts/opensearch.mjs --help                     the commands and options (USAGE below)
//
// The build lives in the user's cache (SEMSEARCH_CACHE or ~/.cache/semsearch), keyed by the hash of the files that
// define it, and Maven keeps its downloads in ~/.m2: a second run fetches and compiles nothing.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const source = join(root, 'cluster', 'opensearch');
const BUILD_INPUTS = ['pom.xml', 'log4j2.xml', 'src/TestNode.java'];
const KNN_PLUGIN = 'org.opensearch.knn.plugin.KNNPlugin';
export const DEFAULT_DIR = join(root, '.cluster');
export const DEFAULT_HTTP_PORT = 9250;
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;

function log(message) {
  process.stderr.write(`[opensearch] ${message}\n`);
}

/** Where the jars and classes of this exact cluster definition live. */
export function buildDir() {
  const h = createHash('sha256');
  for (const f of BUILD_INPUTS) h.update(f).update(readFileSync(join(source, f)));
  const cache = process.env.SEMSEARCH_CACHE ?? join(homedir(), '.cache', 'semsearch');
  return join(cache, 'opensearch', h.digest('hex').slice(0, 16));
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** Whether this machine can build and run a cluster: a JDK (java, javac) and Maven on the PATH. */
export function toolsPresent() {
  return ['java', 'javac', 'mvn'].every((t) => spawnSync(t, ['-version'], { stdio: 'ignore' }).status === 0);
}

/** Fetches the jars and compiles the launcher, once per definition; returns the build folder. */
export function setup() {
  const out = buildDir();
  if (existsSync(join(out, 'done'))) return out;
  const t0 = performance.now();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  log(`building ${out} from Maven Central (cached in ~/.m2 after the first time)`);
  run('mvn', ['-q', '-B', '-f', join(source, 'pom.xml'), 'package', `-Dout=${out}`]);
  if (!readdirSync(join(out, 'knn')).some((f) => f.startsWith('opensearch-knn'))) throw new Error(`the k-NN plugin jar is missing from ${join(out, 'knn')}`);
  run('javac', ['-d', join(out, 'classes'), '-cp', `${join(out, 'lib')}/*`, join(source, 'src', 'TestNode.java')]);
  writeFileSync(join(out, 'done'), `${new Date().toISOString()}\n`);
  log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The nodes a cluster folder started, from its PID files: name, pid, ports, whether it still runs. */
export function nodesOf(dir = DEFAULT_DIR) {
  const records = join(dir, 'run');
  if (!existsSync(records)) return [];
  return readdirSync(records)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(records, f), 'utf8')))
    .map((n) => ({ ...n, alive: pidAlive(n.pid) && ownProcess(n) }));
}

/** A PID is ours only while its command line still names our launcher and node (PIDs are reused). */
function ownProcess(n) {
  try {
    const cmd = readFileSync(`/proc/${n.pid}/cmdline`, 'utf8');
    return cmd.includes('TestNode') && cmd.includes(`\0${n.name}\0`);
  } catch {
    return process.platform !== 'linux';
  }
}

function nodeSpec(i, nodes, httpPort) {
  const names = Array.from({ length: nodes }, (_, j) => `node${j + 1}`);
  const transport = (j) => httpPort + 100 + j;
  return {
    name: names[i],
    http: httpPort + i,
    transport: transport(i),
    seeds: names.map((_, j) => `127.0.0.1:${transport(j)}`).join(','),
    managers: names.join(','),
  };
}

/** Starts one node (by index) of a cluster of `nodes`; returns its record. Its data survives a restart. */
export function startNode(i, { nodes = 2, dir = DEFAULT_DIR, heap = '1g', httpPort = DEFAULT_HTTP_PORT, javaHome } = {}) {
  const build = setup();
  const spec = nodeSpec(i, nodes, httpPort);
  const home = join(dir, spec.name);
  mkdirSync(join(dir, 'run'), { recursive: true });
  mkdirSync(home, { recursive: true });
  rmSync(join(home, 'ready'), { force: true });
  const java = javaHome !== undefined ? join(javaHome, 'bin', 'java') : 'java';
  const args = [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    // Lucene's vector code uses the incubating Vector API when the module is present.
    '--add-modules',
    'jdk.incubator.vector',
    `-Dlog4j.configurationFile=${join(source, 'log4j2.xml')}`,
    '-Dlog4j2.disable.jmx=true',
    '-cp',
    [join(build, 'classes'), `${join(build, 'lib')}/*`, `${join(build, 'knn')}/*`].join(':'),
    'TestNode',
    spec.name,
    home,
    String(spec.http),
    String(spec.transport),
    spec.seeds,
    spec.managers,
    KNN_PLUGIN,
  ];
  const logFile = join(dir, 'run', `${spec.name}.log`);
  const fd = openLog(logFile);
  const child = spawn(java, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  const record = { name: spec.name, pid: child.pid, http: spec.http, transport: spec.transport, home, log: logFile, java };
  writeFileSync(join(dir, 'run', `${spec.name}.json`), `${JSON.stringify(record)}\n`);
  return record;
}

// Appended, so a restarted node's log follows its earlier life.
function openLog(file) {
  return openSync(file, 'a');
}

async function health(url, query) {
  const r = await fetch(`${url}/_cluster/health?${query}`, { signal: AbortSignal.timeout(30_000) });
  return r.json();
}

/** Waits until `nodes` nodes have joined and the cluster is at least yellow; throws with the logs' tails past the deadline. */
export async function waitReady(url, nodes, { dir = DEFAULT_DIR, timeoutMs = START_TIMEOUT_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const dead = nodesOf(dir).filter((n) => !n.alive);
    if (dead.length > 0) throw new Error(`node ${dead.map((n) => n.name).join(', ')} exited during start:\n${tails(dir)}`);
    try {
      const h = await health(url, `wait_for_nodes=${nodes}&wait_for_status=yellow&timeout=5s`);
      last = JSON.stringify(h);
      if (h.number_of_nodes === nodes && h.status !== 'red' && h.timed_out !== true) return h;
    } catch (e) {
      last = e.message;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`the cluster at ${url} was not ready with ${nodes} nodes within ${timeoutMs / 1000} s (last: ${last}):\n${tails(dir)}`);
}

function tails(dir) {
  return nodesOf(dir)
    .map((n) => {
      let text = '';
      try {
        text = readFileSync(n.log, 'utf8').split('\n').slice(-15).join('\n');
      } catch {
        text = '(no log)';
      }
      return `--- ${n.name} (${n.log})\n${text}`;
    })
    .join('\n');
}

/** Starts a fresh cluster of `nodes` nodes (data from an earlier run is removed) and waits for it; returns its URL and nodes. */
export async function startCluster({ nodes = 2, dir = DEFAULT_DIR, heap = '1g', httpPort = DEFAULT_HTTP_PORT, javaHome, timeoutMs = START_TIMEOUT_MS } = {}) {
  if (nodesOf(dir).some((n) => n.alive)) throw new Error(`a cluster from ${dir} is still running: node scripts/opensearch.mjs stop --dir ${dir}`);
  const url = `http://127.0.0.1:${httpPort}`;
  const busy = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => true,
    () => false,
  );
  if (busy) throw new Error(`port ${httpPort} already answers HTTP: another server runs there; choose --http-port`);
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  const started = [];
  try {
    for (let i = 0; i < nodes; i++) started.push(startNode(i, { nodes, dir, heap, httpPort, javaHome }));
    await waitReady(url, nodes, { dir, timeoutMs });
  } catch (e) {
    await stopCluster({ dir });
    throw e;
  }
  log(`${nodes} node(s) ready at ${url} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { url, nodes: started, dir };
}

/** Kills one node at once (SIGKILL, as a crash), leaving its data for a restart. */
export function killNode(name, dir = DEFAULT_DIR) {
  const n = nodesOf(dir).find((x) => x.name === name);
  if (n === undefined || !n.alive) throw new Error(`no running node ${name} in ${dir}`);
  process.kill(n.pid, 'SIGKILL');
  return n;
}

async function waitGone(pids, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(pidAlive)) await new Promise((r) => setTimeout(r, 200));
  return pids.filter(pidAlive);
}

/** Stops the nodes this folder started: SIGTERM, then SIGKILL past the deadline. Other Java processes are never touched. */
export async function stopCluster({ dir = DEFAULT_DIR, timeoutMs = STOP_TIMEOUT_MS } = {}) {
  const own = nodesOf(dir).filter((n) => n.alive);
  for (const n of own) process.kill(n.pid, 'SIGTERM');
  const left = await waitGone(
    own.map((n) => n.pid),
    timeoutMs,
  );
  for (const pid of left) process.kill(pid, 'SIGKILL');
  await waitGone(left, 5000);
  for (const n of nodesOf(dir)) rmSync(join(dir, 'run', `${n.name}.json`), { force: true });
  if (own.length > 0) log(`stopped ${own.map((n) => `${n.name} (pid ${n.pid})`).join(', ')}`);
  return own.length;
}

/** Resident memory of a node's JVM in bytes (Linux), for the benchmark. */
export function nodeRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function collectTests(dirPath, out) {
  for (const name of readdirSync(dirPath)) {
    const p = join(dirPath, name);
    if (statSync(p).isDirectory()) collectTests(p, out);
    else if (name.endsWith('.cluster.test.ts')) out.push(p);
  }
  return out;
}

/** What `npm run cluster -- --help` prints. */
export const USAGE = `usage: npm run cluster -- <command> [options]   (or: node scripts/opensearch.mjs <command> [options])

A local OpenSearch 2.19.1 cluster with the k-NN plugin, built from Maven Central (needs a JDK and Maven), on
127.0.0.1 only, with no security plugin: for development and the cluster tests, never a deployment.

commands:
  setup    fetch the jars (Maven, cached in ~/.m2) and compile the node launcher, once per definition
  start    start a fresh cluster (data of an earlier run in --dir is removed) and print its URL when ready
  stop     stop the nodes this folder's PID files name, and no other process
  test     setup, start 2 nodes, run src/**/*.cluster.test.ts against them, stop (npm run test:cluster)
  help     this text (also --help, -h)

options:
  --nodes N          start: nodes to start (default 2)
  --http-port P      first node's HTTP port (default ${DEFAULT_HTTP_PORT}; node i listens on P + i): the URL to give
                     semsearch's --url is http://127.0.0.1:P, or several nodes comma-separated
                     (http://127.0.0.1:${DEFAULT_HTTP_PORT},http://127.0.0.1:${DEFAULT_HTTP_PORT + 1})
  --dir D            the cluster's data, logs and PID files (default .cluster in the repository)
  --heap SIZE        each node's JVM heap (default 1g)
  --java-home J      the JDK to run the nodes with (default: java on the PATH)

The build lives in SEMSEARCH_CACHE or ~/.cache/semsearch, keyed by the hash of the files that define it.
`;

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        nodes: { type: 'string', default: '2' },
        dir: { type: 'string', default: DEFAULT_DIR },
        heap: { type: 'string', default: '1g' },
        'http-port': { type: 'string', default: String(DEFAULT_HTTP_PORT) },
        'java-home': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`[opensearch] ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help === true || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const common = { dir: resolve(values.dir), heap: values.heap, httpPort: Number(values['http-port']), ...(values['java-home'] !== undefined ? { javaHome: values['java-home'] } : {}) };
  if (command === 'setup') console.log(setup());
  else if (command === 'start') {
    const c = await startCluster({ ...common, nodes: Number(values.nodes) });
    console.log(c.url);
  } else if (command === 'stop') await stopCluster(common);
  else if (command === 'test') {
    const files = collectTests(join(root, 'src'), []).sort();
    if (files.length === 0) throw new Error('no *.cluster.test.ts files under src/');
    const c = await startCluster({ ...common, nodes: 2 });
    let status = 1;
    const stop = () => stopCluster(common);
    process.once('SIGINT', () => void stop().then(() => process.exit(130)));
    process.once('SIGTERM', () => void stop().then(() => process.exit(143)));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
        stdio: 'inherit',
        cwd: root,
        env: { ...process.env, SEMSEARCH_OPENSEARCH_URL: c.url, SEMSEARCH_OPENSEARCH_DIR: c.dir, SEMSEARCH_OPENSEARCH_PORT: String(common.httpPort) },
      });
      status = r.status ?? 1;
    } finally {
      await stop();
    }
    process.exit(status);
  } else {
    console.error(`${command === undefined ? '[opensearch] no command given' : `[opensearch] unknown command ${JSON.stringify(command)}`}\n\n${USAGE}`);
    process.exit(2);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`[opensearch] ${e.message}`);
    process.exit(1);
  });
}
