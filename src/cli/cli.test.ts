import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { detectCpu } from '../cpu/features.js';
import { sharedFile, skipWithoutShared } from '../test-support/files.js';
import { runCli } from './main.js';
import { runCaptured, type CliRun } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];

const run = (argv: string[], stdin = ''): Promise<CliRun> => runCaptured(argv, { stdin });

test('semsearch encode prints one embedding per text, from arguments or stdin lines', async () => {
  const a = await run(['encode', '-m', BERT, 'How big is London', 'London is known for its financial district']);
  assert.equal(a.code, 0, a.err);
  const j = JSON.parse(a.out) as { dim: number; embeddings: number[][] };
  assert.equal(j.embeddings.length, 2);
  assert.equal(j.dim, 32);
  const b = await run(['encode', '--model', BERT], 'How big is London\nLondon is known for its financial district\n');
  assert.deepEqual((JSON.parse(b.out) as { embeddings: number[][] }).embeddings, j.embeddings);
});

test('usage errors exit 2 with one line naming the problem, never a stack', async () => {
  const unknown = await run(['nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'nope'/);
  const badFlag = await run(['encode', '--modle', BERT, 'x']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.err, /INVALID_ARGUMENT: unknown option --modle/);
  // Numbers are plain decimals: "0x50" and "1e3" are not silently read as 80 and 1000.
  for (const v of ['0x50', '1e3', '']) {
    const n = await run(['encode', '-m', BERT, '--batch-size', v, 'x']);
    assert.equal(n.code, 2, v);
    assert.match(n.err, /INVALID_ARGUMENT: option --batch-size needs a number/);
  }
  const extra = await run(['doctor', 'extra']);
  assert.equal(extra.code, 2);
  assert.match(extra.err, /doctor takes no arguments, got "extra"/);
  const missing = await run(['encode', '-m', '/nonexistent/model', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /MODEL_NOT_FOUND/);
  assert.doesNotMatch(missing.err, /\n\s+at /);
});

test('semsearch index, search (arguments, --json, interactive lines) and info on a small real corpus', { skip: skipWithoutShared(...SUBSET) }, async () => {
  const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-'));
  try {
    const lines = readFileSync(sharedFile(...SUBSET), 'utf8')
      .split('\n')
      .slice(0, 120);
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, lines.join('\n') + '\n');
    const out = join(dir, 'idx');
    const built = await run(['index', corpus, '-m', BERT, '-o', out, '--shard-size', '50']);
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /complete: 120 passages in 3 shards \(float32, dim 32\)/);
    assert.match(built.err, /indexed: 120\/120 passages \(100%\)/);

    const listed = await run(['search', out, 'how big is london', '-k', '3']);
    assert.equal(listed.code, 0, listed.err);
    assert.equal(listed.out.split('\n').filter((l) => /^\s+\d\. /.test(l)).length, 3);
    const json = await run(['search', out, 'how big is london', '-k', '3', '--json']);
    const parsed = JSON.parse(json.out) as { hits: { id: string; score: number }[] };
    assert.equal(parsed.hits.length, 3);
    assert.ok(parsed.hits[0] !== undefined && parsed.hits[0].score >= (parsed.hits[2]?.score ?? 0));
    const interactive = await run(['search', out, '--json', '-k', '2'], 'how big is london\n\nsymptoms of flu\n');
    assert.deepEqual(
      interactive.out.trim().split('\n').map((l) => (JSON.parse(l) as { query: string }).query),
      ['how big is london', 'symptoms of flu'],
    );
    assert.equal((JSON.parse(interactive.out.split('\n')[0] as string) as { hits: { id: string }[] }).hits[0]?.id, parsed.hits[0]?.id);

    const info = await run(['info', out, '--json']);
    const i = JSON.parse(info.out) as { count: number; dim: number; precision: string; complete: boolean; onnxFile: string; cpu: { isa: string } };
    assert.deepEqual([i.count, i.dim, i.precision, i.complete, i.onnxFile, i.cpu.isa], [120, 32, 'float32', true, 'onnx/model.onnx', detectCpu().isa]);
    const text = await run(['info', out]);
    assert.match(text.out, /^onnx {7}onnx\/model\.onnx$/m);
    assert.match(text.out, new RegExp(`^cpu {8}.+ \\(${detectCpu().isa}\\)$`, 'm'));
    // info reads the manifest and file sizes only: it works with the model gone, and sizes are in a readable unit.
    const { cpSync } = await import('node:fs');
    const moved = join(dir, 'moved');
    cpSync(out, moved, { recursive: true });
    const mf = JSON.parse(readFileSync(join(moved, 'manifest.json'), 'utf8')) as { model: { ref: string } };
    mf.model.ref = join(dir, 'model-that-was-deleted');
    writeFileSync(join(moved, 'manifest.json'), JSON.stringify(mf));
    const movedInfo = await run(['info', moved]);
    assert.equal(movedInfo.code, 0, movedInfo.err);
    assert.match(movedInfo.out, /^vectors {4}dim 32, float32, 3 shards, 15\.0 KiB$/m);
    const empty = await run(['search', out, '  ']);
    assert.equal(empty.code, 2);
    assert.match(empty.err, /query 1 is empty/);
    // --ann is checked before any passage is encoded: no folder is left behind by a typo.
    const typo = await run(['index', corpus, '-m', BERT, '-o', join(dir, 'typo'), '--ann', 'F16']);
    assert.equal(typo.code, 2);
    assert.match(typo.err, /--ann must be one of f32, f16, i8, got "F16"/);
    const binaryAnn = await run(['index', corpus, '-m', BERT, '-o', join(dir, 'typo'), '--ann', 'i8', '--precision', 'binary']);
    assert.equal(binaryAnn.code, 2);
    assert.match(binaryAnn.err, /a binary index is searched exactly/);
    assert.ok(!existsSync(join(dir, 'typo')), 'nothing was written');
    // --ef sets the graph walk's expansion per search: as wide as the index, the graph's hits are the exact ones.
    const annOut = join(dir, 'ann');
    assert.equal((await run(['index', corpus, '-m', BERT, '-o', annOut, '--ann', 'f32'])).code, 0);
    const ids = (r: { out: string }): string[] => (JSON.parse(r.out) as { hits: { id: string }[] }).hits.map((h) => h.id);
    const wide = await run(['search', annOut, 'how big is london', '-k', '5', '--ef', '120', '--json']);
    assert.equal(wide.code, 0, wide.err);
    assert.deepEqual(ids(wide), ids(await run(['search', annOut, 'how big is london', '-k', '5', '--exact', '--json'])));
    // --ivf builds a binary index's IVF lists; --nprobe at nlist gives the exact path's hits, and --ivf wants binary.
    const ivfOut = join(dir, 'ivf');
    const ivfBuilt = await run(['index', corpus, '-m', BERT, '-o', ivfOut, '--precision', 'binary', '--ivf', '4']);
    assert.equal(ivfBuilt.code, 0, ivfBuilt.err);
    assert.match(ivfBuilt.out, /IVF lists \(4 lists, 4 probed by default\)/);
    assert.match((await run(['info', ivfOut])).out, /^ivf {8}4 lists, 4 probed by default, over the first \d+ rows, /m);
    const probed = await run(['search', ivfOut, 'how big is london', '-k', '5', '--nprobe', '4', '--json']);
    assert.equal(probed.code, 0, probed.err);
    assert.deepEqual(ids(probed), ids(await run(['search', ivfOut, 'how big is london', '-k', '5', '--exact', '--json'])));
    const badProbe = await run(['search', ivfOut, 'how big is london', '--nprobe', '5']);
    assert.equal(badProbe.code, 2);
    assert.match(badProbe.err, /nprobe must be an integer from 1 to 4/);
    const floatIvf = await run(['index', corpus, '-m', BERT, '-o', join(dir, 'typo'), '--ivf', '4']);
    assert.equal(floatIvf.code, 2);
    assert.match(floatIvf.err, /IVF lists partition binary indexes/);
    // Keyword (BM25) and hybrid modes from the CLI.
    const kw = await run(['search', out, 'how big is london', '-k', '3', '--mode', 'keyword', '--json']);
    assert.equal(kw.code, 0, kw.err);
    const kwHits = (JSON.parse(kw.out) as { hits: { score: number }[] }).hits;
    assert.ok(kwHits.length <= 3 && kwHits.every((h, i) => i === 0 || (kwHits[i - 1] as { score: number }).score >= h.score));
    assert.equal((await run(['search', out, 'how big is london', '--mode', 'hybrid', '--fusion', 'weighted', '--vector-weight', '0.7'])).code, 0);
    const badMode = await run(['search', out, 'london', '--mode', 'sparse']);
    assert.equal(badMode.code, 2);
    assert.match(badMode.err, /--mode must be one of vector, keyword, hybrid/);
    const badEf = await run(['search', annOut, 'how big is london', '--ef', '0']);
    assert.equal(badEf.code, 2);
    assert.match(badEf.err, /--ef/);
    const missing = await run(['search', join(dir, 'nope'), 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('semsearch doctor states the thread defaults loadModel, openIndex and serve really use', async () => {
  const j = JSON.parse((await run(['doctor', '--json'])).out) as {
    threads: { cores: number; loadModel: { sessions: number; threadsPerSession: number }; openIndex: { sessions: number }; serve: { workers: number; threadsPerWorker: number } };
  };
  // loadModel with no options: the sessions it opens (a pool's concurrency, or one session on the calling thread).
  const { loadModel } = await import('../encoder/load-model.js');
  const model = await loadModel(BERT);
  const runner = (model as unknown as { session: { concurrency?: number } }).session;
  await model.dispose();
  assert.equal(j.threads.loadModel.sessions, runner.concurrency ?? 1);
  if (j.threads.loadModel.sessions > 1) assert.equal(j.threads.loadModel.threadsPerSession, Math.max(1, Math.floor(cpus().length / j.threads.loadModel.sessions)));
  // An opened index's model: one session.
  const { openIndex } = await import('../store/search-index.js');
  const { buildIndex } = await import('../store/build-index.js');
  const { scratch } = await import('../test-support/files.js');
  const s = await scratch();
  try {
    const corpus = await s.write('c.tsv', '1\tLondon is the capital of England\n');
    await buildIndex({ corpus, out: `${s.dir}/idx`, model: BERT, precision: 'float32' });
    const idx = await openIndex(`${s.dir}/idx`);
    assert.equal(j.threads.openIndex.sessions, (idx.model as unknown as { session: { concurrency?: number } }).session.concurrency ?? 1);
    await idx.close();
    // serve: the options the server resolves when given none.
    const { resolveOptions } = await import('../server/options.js');
    const cfg = resolveOptions({ index: `${s.dir}/idx` });
    assert.deepEqual(j.threads.serve, { workers: cfg.workers, threadsPerWorker: cfg.threads });
  } finally {
    await s.remove();
  }
  const text = (await run(['doctor'])).out;
  const line = text.split('\n').find((l) => l.startsWith('threads'));
  const { sessions, threadsPerSession } = j.threads.loadModel;
  assert.ok(line?.includes(`${sessions} ONNX Runtime session${sessions === 1 ? '' : 's'}`), line);
  assert.ok(line?.includes(`${threadsPerSession} intra-op thread${threadsPerSession === 1 ? '' : 's'}`), line);
  assert.ok(line?.includes(`serve: ${j.threads.serve.workers} inference worker`), line);
});

test('semsearch doctor: CPU features, ONNX Runtime, threads, and the file each precision of a model would load', async () => {
  const cpu = detectCpu();
  const d = await run(['doctor', '-m', BERT]);
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, new RegExp(`^isa {10}${cpu.isa} \\(`, 'm'));
  assert.match(d.out, /^onnxruntime {2}\d+\.\d+\.\d+ \(onnxruntime-node\)$/m);
  assert.match(d.out, /^threads {6}by default, loadModel \(index, add, encode, eval, mine\): \d+ ONNX Runtime session/m);
  assert.match(d.out, /^ {2}float32 {4}onnx\/model\.onnx$/m);
  const j = JSON.parse((await run(['doctor', '-m', BERT, '--json'])).out) as {
    cpu: { isa: string };
    int8: { preference: string[] };
    model: { precisions: { precision: string; file?: string }[]; quantized: { file: string; accurate: boolean }[] };
  };
  assert.equal(j.cpu.isa, cpu.isa);
  const int8 = j.model.precisions.find((p) => p.precision === 'int8');
  assert.equal(int8?.file, `onnx/model_${j.int8.preference[0]}.onnx`);
  assert.equal(j.model.quantized.length, 4);
  // A hub name that is not cached: doctor looks in the cache only, and says how to get it there.
  const notCached = await run(['doctor', '-m', 'semsearch-tests/not-a-cached-model']);
  assert.equal(notCached.code, 1);
  assert.match(notCached.err, /HUB_OFFLINE_MISSING: semsearch-tests\/not-a-cached-model is not in the local model cache, and doctor never downloads/);
  // The same model under an emulated AVX2 CPU: only the unsigned file is accurate, and int8 takes it.
  const { execFileSync } = await import('node:child_process');
  const avx2 = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url)), 'doctor', '-m', BERT, '--json'], {
    env: { ...process.env, SEMSEARCH_CPU_ISA: 'avx2' },
    encoding: 'utf8',
  });
  const a = JSON.parse(avx2) as typeof j;
  assert.equal(a.model.precisions.find((p) => p.precision === 'int8')?.file, 'onnx/model_quint8_avx2.onnx');
  assert.deepEqual(a.model.quantized.filter((q) => q.accurate).map((q) => q.file), ['onnx/model_quint8_avx2.onnx']);
});

test('encode reads stdin as one UTF-8 stream: a character split across chunks is not garbled (20,000 lines of é)', async () => {
  const { readAllText } = await import('./commands/encode.js');
  const bytes = Buffer.from('éééééee\n'.repeat(20_000), 'utf8');
  // 64 KiB chunks, as a pipe delivers them; a line is 15 bytes, so chunk ends fall inside characters.
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
  assert.ok(chunks.some((c) => (c[c.length - 1] as number) === 0xc3), 'some chunk ends inside a character');
  const text = await readAllText(Readable.from(chunks));
  const lines = text.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 20_000);
  assert.ok(lines.every((l) => l === 'éééééee'), 'every line decodes to the same text');
  // Through the command: the lines the issue saw garbled (4369 and 13107, 1-based) embed like the first.
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += String(d)));
  const code = await runCli(['encode', '-m', BERT], { stdout, stderr: new PassThrough(), stdin: Readable.from(chunks), env: {} });
  assert.equal(code, 0);
  const emb = (JSON.parse(out) as { embeddings: number[][] }).embeddings;
  assert.equal(emb.length, 20_000);
  assert.deepEqual(emb[4368], emb[0]);
  assert.deepEqual(emb[13106], emb[0]);
});

test('output piped into a reader that closes early (| head) ends quietly: exit 0, no EPIPE stack', async () => {
  const { spawn } = await import('node:child_process');
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const texts = Array.from({ length: 400 }, (_, i) => `text number ${i}`);
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'encode', '-m', BERT, ...texts], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  child.stdout.destroy(); // the reader is gone before the first byte
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|\n\s+at /);
});

test('encode --precision int8 of a single text is a coded error, not a vector of −128', async () => {
  const r = await run(['encode', '-m', BERT, '--precision', 'int8', 'How big is London']);
  assert.equal(r.code, 1);
  assert.match(r.err, /QUANTIZATION_INVALID: int8\/uint8 ranges taken from 1 embedding are degenerate/);
  const two = await run(['encode', '-m', BERT, '--precision', 'int8', 'How big is London', 'London is known for its financial district']);
  assert.equal(two.code, 0, two.err);
});
