// The scale-out walk-through of README.md and docs/SCALE-OUT.md run as written (issue 30): cluster up, index, push,
// search, eval, serve, a node killed and the push run again, cluster stopped; and docs/API.md's semsearch/opensearch
// example. `npm run test:cluster` runs this file beside its own 2-node cluster; the substitutions, stated:
//   - `npm run cluster -- start|stop` → scripts/opensearch.mjs with `--dir` a temporary folder, `--http-port` the
//     runner's port + 200 (scripts/opensearch.mjs puts each node's transport at its HTTP port + 100, so + 100 would
//     collide with the runner's transport ports) and `--heap 512m` (a second cluster beside the runner's, which the other files use), and
//     the docs' ports 9250/9251 → that port and the next;
//   - the hub model → the small test model of src/model/fixtures; `npx semsearch` → the CLI from source;
//   - serve's `--port 8080` → a free port; docs/API.md's `http://127.0.0.1:9250` → the runner's cluster, its
//     `passages-index` → a float32 index of examples/more-passages.jsonl, its index name → `docs-api-passages`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { killNode, nodesOf, startNode, waitReady } from '../scripts/opensearch.mjs';
import { buildIndex } from './store/build-index.js';
import { docBlock, shellCommands, shellWords } from './test-support/doc-blocks.js';
import { skipWithoutShared } from './test-support/files.js';

const execFileP = promisify(execFile);
const URL_ = process.env['SEMSEARCH_OPENSEARCH_URL'];
const RUNNER_PORT = Number(process.env['SEMSEARCH_OPENSEARCH_PORT'] ?? 9250);
assert.ok(URL_ !== undefined, 'run these tests with npm run test:cluster, which starts the cluster they need');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const SCRIPT = join(ROOT, 'scripts/opensearch.mjs');
const BERT = join(ROOT, 'src/model/fixtures/models/bert');
const PORT = RUNNER_PORT + 200;
const SKIP = skipWithoutShared('msmarco-passage-dl19-relevant-subset', 'collection.tsv') || skipWithoutShared('msmarco-passage-topics-qrels');

let work: string;
let clusterDir: string;

/** A walk-through command line as the argv it runs, substituted as the header says. */
function argvOf(line: string): { program: 'cluster' | 'semsearch'; argv: string[] } {
  const w = shellWords(line.replace(/127\.0\.0\.1:9250/g, `127.0.0.1:${PORT}`).replace(/127\.0\.0\.1:9251/g, `127.0.0.1:${PORT + 1}`));
  if (w[0] === 'npm') {
    assert.deepEqual(w.slice(0, 4), ['npm', 'run', 'cluster', '--'], line);
    return { program: 'cluster', argv: [...w.slice(4), '--dir', clusterDir, '--http-port', String(PORT), ...(w[4] === 'start' ? ['--heap', '512m'] : [])] };
  }
  assert.deepEqual(w.slice(0, 2), ['npx', 'semsearch'], line);
  return { program: 'semsearch', argv: w.slice(2).map((x) => (x === 'msmarco-MiniLM-L6-cos-v5' ? BERT : x.startsWith('../shared/') ? join(ROOT, x) : x)) };
}

async function exec(program: 'cluster' | 'semsearch', argv: string[]): Promise<string> {
  const args = program === 'cluster' ? [SCRIPT, ...argv] : ['--conditions=source', '--import', import.meta.resolve('tsx'), CLI, ...argv];
  const { stdout } = await execFileP(process.execPath, args, { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 });
  return stdout;
}

/** `semsearch serve …`: started, asked for /info, stopped with SIGTERM; returns /info. */
async function serveOnce(argv: string[]): Promise<Record<string, unknown>> {
  const args = argv.map((x, i) => (argv[i - 1] === '--port' ? '0' : x));
  const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), CLI, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    for (let i = 0; i < 1200 && !/listening on (http:\/\/\S+:\d+)/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (http:\/\/\S+:\d+)/.exec(out)?.[1];
    assert.ok(url !== undefined, `${out}\n${err}`);
    return (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  }
}

/** Runs one walk-through block in order; `between` runs before the final stop. */
async function walk(block: string, between: () => Promise<void>): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  const cmds = shellCommands(block);
  assert.ok(cmds[0]?.startsWith('npm run cluster -- start') && cmds.at(-1)?.startsWith('npm run cluster -- stop'), 'the walk-through starts and stops the cluster');
  let stopped = false;
  try {
    for (const line of cmds) {
      const { program, argv } = argvOf(line);
      if (program === 'cluster' && argv[0] === 'stop') {
        await between();
        stopped = true;
      }
      if (program === 'semsearch' && argv[0] === 'serve') {
        const info = await serveOnce(argv);
        assert.equal(info['backend'], 'opensearch', JSON.stringify(info));
        outputs.set(line, JSON.stringify(info));
        continue;
      }
      outputs.set(line, await exec(program, argv));
    }
  } finally {
    if (!stopped) await exec('cluster', ['stop', '--dir', clusterDir]).catch(() => undefined);
  }
  return outputs;
}

describe('the scale-out walk-through, as written', { skip: SKIP }, () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'semsearch-docs-scale-out-'));
    clusterDir = join(work, 'cluster');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('README: start, index float16, push, search (one node, two nodes, rescored), eval, serve; node2 killed, push again; stop', async () => {
    const url = `http://127.0.0.1:${PORT}`;
    const out = await walk(docBlock('README.md', 'Scale out: the same search on an OpenSearch cluster', 0), async () => {
      // A node lost and back: the push, run again as the README says, syncs with nothing lost or duplicated.
      killNode('node2', clusterDir);
      startNode(1, { nodes: 2, dir: clusterDir, httpPort: PORT, heap: '512m' });
      await waitReady(url, 2, { dir: clusterDir });
      await exec('semsearch', ['push', 'dl19-float16', '--url', url, '--index-name', 'passages']);
      const count = (await (await fetch(`${url}/passages/_count`)).json()) as { count: number };
      assert.equal(count.count, 4103);
    });
    const all = [...out.values()].join('\n');
    assert.match(all, new RegExp(`http://127\\.0\\.0\\.1:${PORT}`));
    const searches = [...out].filter(([l]) => l.includes('semsearch search')).map(([, o]) => o);
    assert.equal(searches.length, 2);
    for (const s of searches) assert.equal(s.split('\n').filter((l) => /^\s+\d+\. /.test(l)).length, 10, s);
    assert.match(all, /ndcg_cut_10/);
    assert.equal(nodesOf(clusterDir).filter((n) => n.alive).length, 0, 'stopped');
  });

  test('docs/SCALE-OUT.md: the same steps, shorter', async () => {
    const out = await walk(docBlock('docs/SCALE-OUT.md', 'Trying it locally', 0), async () => undefined);
    assert.match([...out.values()].join('\n'), /ndcg_cut_10/);
  });

  test('docs/API.md: pushIndex and OpenSearchIndex.open from code', async () => {
    const dir = join(work, 'passages-index');
    await buildIndex({ corpus: join(ROOT, 'examples/more-passages.jsonl'), out: dir, model: BERT, precision: 'float32' });
    let code = docBlock('docs/API.md', '`semsearch/opensearch`', 0);
    for (const [from, to] of [
      ["'passages-index'", JSON.stringify(dir)],
      ["'http://127.0.0.1:9250'", JSON.stringify(URL_)],
      ["indexName: 'passages'", "indexName: 'docs-api-passages'"],
    ] as const) {
      assert.ok(code.includes(from), from);
      code = code.split(from).join(to);
    }
    code = code.replace(/from '(semsearch(?:\/[a-z]+)?)'/g, (_, spec: string) => `from '${pathToFileURL(join(ROOT, 'src', spec === 'semsearch' ? 'index.ts' : `${spec.slice(10)}/index.ts`)).href}'`);
    const file = join(work, 'api-opensearch.mts');
    writeFileSync(file, `${code}console.log(JSON.stringify(hits.map((h) => h.metadata)));\n`);
    const { stdout } = await execFileP(process.execPath, ['--import', import.meta.resolve('tsx'), file], { cwd: work, encoding: 'utf8' });
    const years = (JSON.parse(stdout.trim().split('\n').at(-1) as string) as { year: number }[]).map((m) => m.year);
    assert.ok(years.length > 0 && years.every((y) => y >= 2020), stdout);
  });
});
