// Long commands report progress per batch on stderr: off a terminal, plain lines with counts while the work goes on
// (SEMSEARCH_PROGRESS_MS sets their pace; 0 here, a line per batch), then the report on stdout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from './main.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const WORDS = 'london paris river bridge tower museum garden train station coffee bread winter summer'.split(' ');
const text = (i: number): string => Array.from({ length: 3 + (i % 7) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ') + ` ${i}`;

/** Run the CLI with stdout and stderr written, in the order they came, to one log (stderr is not a terminal). */
async function runLogged(argv: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number; log: { stream: 'out' | 'err'; text: string }[] }> {
  const log: { stream: 'out' | 'err'; text: string }[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => log.push({ stream: 'out', text: String(d) }));
  stderr.on('data', (d) => log.push({ stream: 'err', text: String(d) }));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdin]), env });
  return { code, log };
}

/** The progress lines of a phase, as [done, total] (total undefined when unknown). */
function counts(lines: string[], label: string): [number, number | undefined][] {
  return lines.flatMap((l) => {
    const m = new RegExp(`^${label}: (\\d+)(?:/(\\d+))? texts`).exec(l);
    return m === null ? [] : [[Number(m[1]), m[2] !== undefined ? Number(m[2]) : undefined] as [number, number | undefined]];
  });
}

describe('progress of long commands off a terminal', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-progress-'));
    writeFileSync(join(dir, 'corpus.tsv'), Array.from({ length: 40 }, (_, i) => `d${i}\t${text(i)}\n`).join(''));
    writeFileSync(join(dir, 'queries.tsv'), Array.from({ length: 6 }, (_, i) => `q${i}\t${text(i * 5 + 1)}\n`).join(''));
    writeFileSync(join(dir, 'qrels.txt'), Array.from({ length: 6 }, (_, i) => `q${i} 0 d${i * 5} 1\n`).join(''));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('eval over a small corpus with a small batch: a line per batch with counts, before the report', async () => {
    const argv = ['eval', '-m', BERT, '--corpus', join(dir, 'corpus.tsv'), '--queries', join(dir, 'queries.tsv'), '--qrels', join(dir, 'qrels.txt'), '--batch-size', '4'];
    const r = await runLogged(argv, { SEMSEARCH_PROGRESS_MS: '0' });
    assert.equal(r.code, 0, r.log.map((x) => x.text).join(''));
    const reportAt = r.log.findIndex((x) => x.stream === 'out');
    const before = r.log.slice(0, reportAt).filter((x) => x.stream === 'err').flatMap((x) => x.text.split('\n')).filter((l) => l !== '');
    const docs = counts(before, 'encoding documents');
    // 40 passages in batches of 4: a line after each batch, counting up to 40 of 40, with the rate.
    assert.ok(docs.length >= 10, before.join('\n'));
    assert.deepEqual(docs.slice(0, 10).map(([d]) => d), [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    assert.ok(docs.every(([, total]) => total === 40));
    const queries = counts(before, 'encoding queries');
    assert.ok(queries.length >= 2 && queries.every(([, t]) => t === 6), before.join('\n'));
    assert.deepEqual(queries.at(-1), [6, 6]);
    // Each state once: a batch that also ends an encode call is not drawn twice, nor again at the end.
    assert.equal(before.filter((l) => l.startsWith('encoding documents: 40/40')).length, 1, before.join('\n'));
    assert.ok(before.every((l) => !l.includes('\r') && !l.includes('\x1b')), 'no terminal codes off a terminal');
    assert.match(before.find((l) => l.startsWith('encoding documents: 40/40')) ?? '', /\(100%\)/);

    // At the default pace (a line every 10 s) a run of a second prints only each phase's final line.
    const quiet = await runLogged(argv, {});
    const lines = quiet.log.filter((x) => x.stream === 'err').flatMap((x) => x.text.split('\n')).filter((l) => l !== '');
    assert.deepEqual(lines.map((l) => l.replace(/ texts.*/, '')), ['encoding documents: 40/40'], lines.join('\n'));
  });

  test('encode over standard input: the texts encoded so far, per batch, with no total; nothing when it is quick', async () => {
    const input = Array.from({ length: 24 }, (_, i) => text(i)).join('\n') + '\n';
    const r = await runLogged(['encode', '-m', BERT, '--batch-size', '4'], { SEMSEARCH_PROGRESS_MS: '0' }, input);
    assert.equal(r.code, 0);
    const err = r.log.filter((x) => x.stream === 'err').flatMap((x) => x.text.split('\n')).filter((l) => l !== '');
    const done = counts(err, 'encoded');
    assert.ok(done.length >= 6, err.join('\n'));
    assert.deepEqual(done.slice(0, 6).map(([d]) => d), [4, 8, 12, 16, 20, 24]);
    assert.ok(done.every(([, total]) => total === undefined));
    const quick = await runLogged(['encode', '-m', BERT, '--batch-size', '4'], {}, input);
    assert.equal(quick.code, 0);
    assert.deepEqual(quick.log.filter((x) => x.stream === 'err'), [], 'a quick encode prints no progress at all');
  });

  test('compact: the rows copied per shard, then the graph per shard, with totals, before the report', async () => {
    const ix = join(dir, 'compact-ix');
    const built = await runLogged(['index', join(dir, 'corpus.tsv'), '-m', BERT, '-o', ix, '--shard-size', '8', '--ann', 'f32'], {});
    assert.equal(built.code, 0, built.log.map((x) => x.text).join(''));
    assert.equal((await runLogged(['delete', ix, 'd1', 'd2', 'd3', 'd4'], {})).code, 0);
    const r = await runLogged(['compact', ix], { SEMSEARCH_PROGRESS_MS: '0' });
    assert.equal(r.code, 0, r.log.map((x) => x.text).join(''));
    const reportAt = r.log.findIndex((x) => x.stream === 'out');
    const lines = r.log.slice(0, reportAt).filter((x) => x.stream === 'err').flatMap((x) => x.text.split('\n')).filter((l) => l !== '');
    const of = (label: string): number[][] =>
      lines.flatMap((l) => {
        const m = new RegExp(`^${label}: (\\d+)/(\\d+) rows`).exec(l);
        return m === null ? [] : [[Number(m[1]), Number(m[2])]];
      });
    // 36 live rows in shards of 8: 8, 16, 24, 32, 36 copied; the graph then reads the 5 new shards.
    assert.deepEqual(of('copied'), [[8, 36], [16, 36], [24, 36], [32, 36], [36, 36]], lines.join('\n'));
    assert.deepEqual(of('graph').map(([d]) => d), [8, 16, 24, 32, 36], lines.join('\n'));
  });

  test('export: a line per step (weights read, each layer, serialised) for each file it builds', async () => {
    const model = join(dir, 'export-model');
    mkdirSync(model);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(BERT, f), join(model, f));
    const r = await runLogged(['export', model, '--int8'], { SEMSEARCH_PROGRESS_MS: '0' });
    assert.equal(r.code, 0, r.log.map((x) => x.text).join(''));
    const lines = r.log.filter((x) => x.stream === 'err').flatMap((x) => x.text.split('\n')).filter((l) => l !== '');
    const layers = (JSON.parse(readFileSync(join(BERT, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
    for (const file of ['model.onnx', `model_${existsSync(join(model, 'onnx', 'model_quint8_avx2.onnx')) ? 'quint8_avx2' : 'qint8_avx512_vnni'}.onnx`]) {
      const steps = lines.flatMap((l) => {
        const m = new RegExp(`^building ${file.replace('.', '\\.')}: (\\d+)/(\\d+) steps`).exec(l);
        return m === null ? [] : [[Number(m[1]), Number(m[2])]];
      });
      assert.deepEqual(steps, Array.from({ length: layers + 1 }, (_, i) => [i + 2, layers + 2]), lines.join('\n'));
    }
  });
});
