import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { detectCpu } from '../cpu/features.js';
import { runCli } from './main.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdin]), env: {} });
  return { code, out, err };
}

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
  const missing = await run(['encode', '-m', '/nonexistent/model', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /MODEL_NOT_FOUND/);
  assert.doesNotMatch(missing.err, /\n\s+at /);
});

test('semsearch index, search (arguments, --json, interactive lines) and info on a small real corpus', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-'));
  try {
    const lines = readFileSync(fileURLToPath(new URL('../../../shared/data/msmarco-passage-dl19-relevant-subset/collection.tsv', import.meta.url)), 'utf8')
      .split('\n')
      .slice(0, 120);
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, lines.join('\n') + '\n');
    const out = join(dir, 'idx');
    const built = await run(['index', corpus, '-m', BERT, '-o', out, '--shard-size', '50']);
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /complete: 120 passages in 3 shards \(float32, dim 32\)/);
    assert.match(built.err, /indexed 120\/120 passages/);

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
    const missing = await run(['search', join(dir, 'nope'), 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('semsearch doctor: CPU features, ONNX Runtime, threads, and the file each precision of a model would load', async () => {
  const cpu = detectCpu();
  const d = await run(['doctor', '-m', BERT]);
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, new RegExp(`^isa {10}${cpu.isa} \\(`, 'm'));
  assert.match(d.out, /^onnxruntime {2}\d+\.\d+\.\d+ \(onnxruntime-node\)$/m);
  assert.match(d.out, /^threads {6}\d+ intra-op by default/m);
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
