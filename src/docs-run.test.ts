// The docs' blocks that no other test runs, run here as written (issue 30: docs are tested), with only these
// substitutions, each stated where it is made:
//   - a model named on the hub (no hub here) → the small test models of src/model/fixtures (random weights: the
//     commands and the code work, the scores mean nothing);
//   - `dl19-index` → a small index of the shared MS MARCO subset (300 passages and examples/more-passages.jsonl,
//     int8 with an i8 graph, as the README's), in a temporary folder;
//   - port 8080 → a free port (other processes on this machine may hold 8080), localhost → 127.0.0.1;
//   - files a block writes beside you (dl19.run, hard-negatives.jsonl) → the temporary folder;
//   - `npx semsearch` / `semsearch` / `npm run semsearch --` → the CLI from source; `from 'semsearch…'` → the source
//     entries.
// Blocks are read with docBlock(file, heading, n) (src/test-support/doc-blocks.ts); src/docs-blocks.test.ts checks
// that each block read here is marked `<!-- runs-in: src/docs-run.test.ts -->`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { runCaptured } from './cli/test-support/run-cli.js';
import { materializeCrossEncoder } from './encoder/test-support/fixtures.js';
import { createServer, type SemsearchServer } from './server/server.js';
import { buildAnnIndex } from './store/ann.js';
import { buildIndex } from './store/build-index.js';
import { docBlock, shellCommands, shellWords } from './test-support/doc-blocks.js';
import { sharedFile, skipWithoutShared } from './test-support/files.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BERT = join(ROOT, 'src/model/fixtures/models/bert');
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];
const SKIP = skipWithoutShared(...SUBSET) || skipWithoutShared('msmarco-passage-trec-dl-candidates', 'BM25');

/** The source entry behind a package specifier: 'semsearch' → src/index.ts, 'semsearch/eval' → src/eval/index.ts. */
const entry = (spec: string): string => join(ROOT, 'src', spec === 'semsearch' ? 'index.ts' : `${spec.slice('semsearch/'.length)}/index.ts`);

/** A TypeScript block made runnable from any folder: package imports point at the source, 'openai' at the dev dependency. */
function runnable(code: string): string {
  return code
    .replace(/from '(semsearch(?:\/[a-z]+)?)'/g, (_, spec: string) => `from '${pathToFileURL(entry(spec)).href}'`)
    .replace(/from 'openai'/g, `from '${import.meta.resolve('openai')}'`);
}

/** Replaces `from` by `to` in `text`, failing when the block no longer says `from` (so a stated substitution never silently stops applying). */
function swap(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the block says ${from}`);
  return text.split(from).join(to);
}

let dir: string;
let index: string;
let crossEncoder: { dir: string; cleanup: () => void };
let server: SemsearchServer;

/** Runs a TypeScript block (already substituted) with tsx from `cwd`, without blocking this process (whose server it may call). */
async function runTs(code: string, cwd = dir): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `block-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, runnable(code));
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import', import.meta.resolve('tsx'), file], { cwd, encoding: 'utf8', timeout: 120_000 });
    return { status: 0, stdout, stderr };
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof f.code === 'number' ? f.code : null, stdout: f.stdout ?? '', stderr: `${f.stderr ?? ''}\n${String(e)}` };
  }
}

/** A CLI command line of a block as argv: the program words dropped, paths and models substituted. */
function argvOf(line: string, subs: Record<string, string>): string[] {
  const w = shellWords(line);
  const start = w[0] === 'npm' ? 4 : w[0] === 'npx' ? 2 : 1; // npm run semsearch -- …, npx semsearch …, semsearch …
  return w.slice(start).map((x) => subs[x] ?? (x.startsWith('../shared/') ? join(ROOT, x) : x));
}

/** curl lines of a block against the test server: status code last. */
async function curlAll(body: string, port: number): Promise<{ cmd: string; status: string; body: string }[]> {
  const out: { cmd: string; status: string; body: string }[] = [];
  for (const cmd of shellCommands(body).filter((c) => c.startsWith('curl '))) {
    const line = `${swap(cmd, 'localhost:8080', `127.0.0.1:${port}`)} --max-time 60 -w '\\n%{http_code}'`;
    const { stdout } = await execFileP('sh', ['-c', line], { cwd: dir });
    const cut = stdout.lastIndexOf('\n');
    out.push({ cmd, status: stdout.slice(cut + 1), body: stdout.slice(0, cut) });
  }
  return out;
}

describe('the docs blocks no other test runs', { skip: SKIP }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-docs-run-'));
    index = join(dir, 'dl19-index');
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, readFileSync(sharedFile(...SUBSET), 'utf8').split('\n').slice(0, 300).join('\n') + '\n');
    await buildIndex({ corpus, out: index, model: BERT, precision: 'int8' });
    await buildAnnIndex(index, { threads: 1 });
    const add = await runCaptured(['add', index, join(ROOT, 'examples/more-passages.jsonl')]);
    assert.equal(add.code, 0, add.err);
    crossEncoder = materializeCrossEncoder('bert-1');
    server = await createServer({ index, rerank: crossEncoder.dir, log: () => undefined });
  });
  after(async () => {
    await server?.close();
    crossEncoder?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('README Quickstart: the encode / semanticSearch / int8 lines, given the names they use', async () => {
    const prelude = [
      "import { loadModel, semanticSearch, dotScore } from 'semsearch';",
      `const model = await loadModel(${JSON.stringify(BERT)});`,
      "const passages = ['London has 9,787,426 inhabitants at the 2011 census', 'London is known for its financial district'];",
      "const queryEmbeddings = await model.encode(['How big is London']);",
      'const corpusEmbeddings = await model.encode(passages);',
    ].join('\n');
    const code = swap(docBlock('README.md', 'Quickstart', 1), "'msmarco-MiniLM-L6-cos-v5'", JSON.stringify(BERT));
    const run = await runTs(`${prelude}\n${code}console.log(JSON.stringify({ rows: emb.rows, hits, variant: fast.onnxChoice }));\nawait fast.dispose();\nawait model.dispose();\n`);
    assert.equal(run.status, 0, run.stderr);
    const printed = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { rows: number; hits: { corpusId: number }[][]; variant: unknown };
    assert.equal(printed.rows, 2);
    assert.deepEqual(printed.hits[0]?.map((h) => h.corpusId).sort(), [0, 1]);
    assert.ok(printed.variant !== undefined);
  });

  test('README int8: doctor -m <model>', async () => {
    const [line] = shellCommands(docBlock('README.md', 'int8 that follows the CPU', 0));
    const r = await runCaptured(argvOf(line as string, { 'msmarco-MiniLM-L6-cos-v5': BERT }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /onnx/i);
  });

  test('README Index and search: the buildIndex / openIndex code', async () => {
    const cwd = join(dir, 'ts-index');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'collection.tsv'), readFileSync(sharedFile(...SUBSET), 'utf8').split('\n').slice(0, 200).join('\n') + '\n');
    const code = swap(docBlock('README.md', 'Index and search a corpus', 1), "'msmarco-MiniLM-L6-cos-v5'", JSON.stringify(BERT));
    const run = await runTs(code, cwd);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').filter((l) => /^-?\d+\.\d{3} \S+ /.test(l)).length, 10, run.stdout);
  });

  test('README living index: the writes over HTTP', async () => {
    const res = await curlAll(docBlock('README.md', 'Add, delete, filter: a living index', 2), server.port);
    assert.equal(res.length, 3);
    for (const r of res) assert.equal(r.status, '200', `${r.cmd}\n${r.body}`);
    assert.match(res[0]?.body ?? '', /"added":1,"replaced":0,"deleted":0/);
  });

  test('README Serve: the OpenAI and TEI calls, the rerank calls, and the OpenAI client', async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    const served = models.data[0]?.id as string;
    // The README names the hub model it serves; the server here serves the test model, under its own name.
    const compat = swap(docBlock('README.md', 'Serve an index over HTTP', 1), '"model": "msmarco-MiniLM-L6-cos-v5"', `"model": ${JSON.stringify(served)}`);
    for (const r of await curlAll(compat, server.port)) assert.equal(r.status, '200', `${r.cmd}\n${r.body}`);
    const rerank = await curlAll(docBlock('README.md', 'Serve an index over HTTP', 3), server.port);
    assert.equal(rerank.length, 2);
    for (const r of rerank) assert.equal(r.status, '200', `${r.cmd}\n${r.body}`);
    assert.match(rerank[0]?.body ?? '', /"retrieval_score"/);
    let client = swap(docBlock('README.md', 'Serve an index over HTTP', 2), "'http://127.0.0.1:8080/v1'", JSON.stringify(`${server.url}/v1`));
    client = swap(client, "model: 'msmarco-MiniLM-L6-cos-v5'", `model: ${JSON.stringify(served)}`);
    const run = await runTs(`${client}console.log(data.length, data[0].embedding.length);\n`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^1 \d+$/m);
  });

  test('README Serve: createServer from code, and docs/API.md\'s with its SIGINT handler', async () => {
    const code = swap(swap(docBlock('README.md', 'Serve an index over HTTP', 4), "'dl19-index'", JSON.stringify(index)), 'port: 8080', 'port: 0');
    const run = await runTs(code);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^http:\/\/127\.0\.0\.1:\d+$/m);

    const api = swap(swap(docBlock('docs/API.md', '`semsearch/server`', 0), "'dl19-index'", JSON.stringify(index)), 'port: 8080', 'port: 0');
    const file = join(dir, 'api-server.mts');
    writeFileSync(file, runnable(api));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 600 && !/http:\/\/\S+:\d+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /http:\/\/\S+:\d+/.exec(out)?.[0];
    assert.ok(url !== undefined, err);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
  });

  test('README Serve: a token for writes, on every address', async () => {
    const cmds = shellCommands(docBlock('README.md', 'Serve an index over HTTP', 5));
    assert.equal(cmds.length, 3);
    spawnSync('sh', ['-c', cmds[0] as string], { cwd: dir });
    assert.match(readFileSync(join(dir, 'token'), 'utf8'), /^[0-9a-f]{64}\n$/);
    // The README's serve listens on the default 8080; here a free port.
    const argv = [...argvOf(cmds[1] as string, { 'dl19-index': index }), '--port', '0'];
    const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...argv], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !/listening on http:\/\/\S+:(\d+)/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const port = Number(/listening on http:\/\/\S+:(\d+)/.exec(out)?.[1]);
      assert.ok(port > 0, `${out}\n${err}`);
      const [write] = await curlAll(cmds[2] as string, port);
      assert.equal(write?.status, '200', write?.body);
      const [refused] = await curlAll((cmds[2] as string).replace(/-H "Authorization: [^"]*" /, ''), port);
      assert.equal(refused?.status, '401', refused?.body);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
  });

  test('README mine: hard negatives with a cross-encoder', async () => {
    // Its inputs, from the shared subset: DL19 queries with a passage judged 2 or 3, and that corpus.
    const sub = sharedFile('msmarco-passage-dl19-relevant-subset');
    const collection = readFileSync(join(sub, 'collection.tsv'), 'utf8').split('\n').slice(0, 400);
    writeFileSync(join(dir, 'collection.tsv'), collection.join('\n') + '\n');
    const texts = new Map(collection.map((l) => l.split('\t') as [string, string]));
    const queries = new Map(readFileSync(join(sub, 'queries.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t') as [string, string]));
    const pairs = new Map<string, string>();
    for (const l of readFileSync(sharedFile('msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'), 'utf8').split('\n')) {
      const [qid, , pid, grade] = l.split(/\s+/);
      const q = queries.get(qid ?? '');
      const p = texts.get(pid ?? '');
      if (q !== undefined && p !== undefined && Number(grade) >= 2 && !pairs.has(q)) pairs.set(q, p);
    }
    assert.ok(pairs.size >= 3, `${pairs.size} pairs`);
    writeFileSync(join(dir, 'pairs.jsonl'), [...pairs].map(([query, answer]) => JSON.stringify({ query, answer })).join('\n') + '\n');
    const [line] = shellCommands(docBlock('README.md', 'Re-rank with a cross-encoder', 1));
    const subs = { 'msmarco-MiniLM-L6-cos-v5': BERT, 'cross-encoder/ms-marco-MiniLM-L6-v2': crossEncoder.dir, 'pairs.jsonl': join(dir, 'pairs.jsonl'), 'collection.tsv': join(dir, 'collection.tsv'), 'hard-negatives.jsonl': join(dir, 'hard-negatives.jsonl') };
    const r = await runCaptured(argvOf(line as string, subs));
    assert.equal(r.code, 0, r.err);
    const rows = readFileSync(join(dir, 'hard-negatives.jsonl'), 'utf8').trim().split('\n').filter((l) => l !== '');
    for (const row of rows) assert.ok(Array.isArray((JSON.parse(row) as { scores?: unknown }).scores), row);
  });

  test('README export: a safetensors-only folder gets its onnx/model.onnx', async () => {
    const [line] = shellCommands(docBlock('README.md', 'Models you trained: no ONNX export needed', 0));
    const model = join(dir, 'my-model');
    cpSync(BERT, model, { recursive: true, filter: (src) => !src.includes('/onnx') });
    assert.ok(!existsSync(join(model, 'onnx')));
    const r = await runCaptured(argvOf(line as string, { 'my-model': model }));
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(model, 'onnx', 'model.onnx')));
  });

  test('README Evaluation: eval of a model on a named dataset, and of a run file with no model', async () => {
    const [withModel] = shellCommands(docBlock('README.md', 'Evaluation', 2));
    const r = await runCaptured(argvOf(withModel as string, { 'sentence-transformers/all-MiniLM-L6-v2': BERT, 'dl19.run': join(dir, 'dl19.run') }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ndcg_cut_10/);
    assert.equal(new Set(readFileSync(join(dir, 'dl19.run'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0])).size, 43);

    const [runOnly] = shellCommands(docBlock('README.md', 'Evaluation', 3));
    const s = await runCaptured(argvOf(runOnly as string, {}));
    assert.equal(s.code, 0, s.err);
    // The figures the README states for this command: level 1, and the hint to pass 2.
    assert.match(s.out, /MRR@10\s+0\.8233/);
    assert.match(s.out, /\bmap\s+0\.2993/);
    assert.match(s.out + s.err, /--relevance-level 2/);
  });

  test('docs/API.md examples: the root package, semsearch/corpus, semsearch/eval', async () => {
    const root = await runTs(swap(docBlock('docs/API.md', 'Example', 0), "'msmarco-distilbert-dot-v5'", JSON.stringify(BERT)));
    assert.equal(root.status, 0, root.stderr);
    assert.match(root.stdout, /^Similarity: \[ \S+, \S+ \]$/m);
    // These two read ../shared relative to the repository, so they run from there.
    const corpus = await runTs(docBlock('docs/API.md', 'Example', 1), ROOT);
    assert.equal(corpus.status, 0, corpus.stderr);
    assert.match(corpus.stdout, /^msmarco\n\d+ 225 \[/);
    const evalRun = await runTs(docBlock('docs/API.md', 'Example', 2), ROOT);
    assert.equal(evalRun.status, 0, evalRun.stderr);
    assert.match(evalRun.stdout, /ndcg_cut_10/);
  });
});
