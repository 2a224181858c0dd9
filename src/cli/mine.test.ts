// `semsearch mine` as a user runs it: pairs in JSONL or TSV (or judged queries), rows out as JSONL equal to the rows of
// sentence-transformers' mine_hard_negatives on the same models (the library's parity fixture).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const fixture = JSON.parse(readFileSync(new URL('../mine/fixtures/mine.json', import.meta.url), 'utf8')) as {
  anchors: string[];
  positives: string[];
  cases: Record<string, { rows: Record<string, unknown>[] }>;
};

function close(got: unknown, want: unknown, where: string): void {
  if (typeof want === 'number' && !Number.isInteger(want)) assert.ok(Math.abs((got as number) - want) < 2e-6, `${where}: ${String(got)} vs ${want}`);
  else if (Array.isArray(want)) {
    assert.equal((got as unknown[]).length, want.length, where);
    want.forEach((w, i) => close((got as unknown[])[i], w, `${where}[${i}]`));
  } else assert.deepEqual(got, want, where);
}

function assertRows(file: string, want: Record<string, unknown>[], rename: Record<string, string> = {}): void {
  const got = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(got.length, want.length, 'rows');
  got.forEach((row, i) => {
    const w = Object.fromEntries(Object.entries(want[i] as Record<string, unknown>).map(([k, v]) => [rename[k] ?? k, v]));
    assert.deepEqual(Object.keys(row), Object.keys(w), `row ${i} columns`);
    for (const [k, v] of Object.entries(w)) close(row[k], v, `row ${i}.${k}`);
  });
}

describe('semsearch mine', () => {
  let dir: string;
  let ce: { dir: string; cleanup: () => void };
  let jsonl: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-mine-'));
    ce = materializeCrossEncoder('bert-1');
    jsonl = join(dir, 'pairs.jsonl');
    writeFileSync(jsonl, fixture.anchors.map((a, i) => JSON.stringify({ query: a, answer: fixture.positives[i] })).join('\n') + '\n');
  });
  after(() => {
    ce?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('JSONL pairs: the rows of mine_hard_negatives, with its column names (n-tuple with scores; labeled-list with a negative --min-score)', async () => {
    const out = join(dir, 'n-tuple.jsonl');
    const r = await runCaptured(['mine', '-m', BERT, '--pairs', jsonl, '--output-format', 'n-tuple', '--output-scores', '--range-min', '2', '--range-max', '12', '--num-negatives', '4', '--batch-size', '8', '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /26 rows \(query, answer, negative_1, negative_2, negative_3, negative_4, scores\) from 26 pairs, 24 distinct anchors/);
    assertRows(out, fixture.cases['n-tuple-scores-range']?.rows ?? []);
    const list = join(dir, 'list.jsonl');
    const l = await runCaptured(['mine', '-m', BERT, '--pairs', jsonl, '--output-format', 'labeled-list', '--output-scores', '--relative-margin', '0.05', '--max-score', '0.95', '--min-score', '-0.5', '-o', list]);
    assert.equal(l.code, 0, l.err);
    assertRows(list, fixture.cases['labeled-list-scores-relative']?.rows ?? []);
  });

  test('with a cross-encoder and a margin (the v3 recipe): the rows of mine_hard_negatives with cross_encoder', async () => {
    const out = join(dir, 'pairs-ce.jsonl');
    const r = await runCaptured(['mine', '-m', BERT, '--pairs', jsonl, '--cross-encoder', ce.dir, '--output-format', 'labeled-pair', '--absolute-margin', '0', '-o', out]);
    assert.equal(r.code, 0, r.err);
    assertRows(out, fixture.cases['labeled-pair-absolute-margin-cross']?.rows ?? []);
  });

  test('TSV pairs to standard output: columns anchor and positive, triplets by default', async () => {
    const tsv = join(dir, 'pairs.tsv');
    writeFileSync(tsv, fixture.anchors.map((a, i) => `${a}\t${fixture.positives[i] as string}`).join('\n') + '\n');
    assert.ok(fixture.anchors.every((a) => !/[\t\n\r]/.test(a)), 'the fixture texts fit in TSV');
    const r = await runCaptured(['mine', '-m', BERT, '--pairs', tsv]);
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.deepEqual(Object.keys(rows[0] ?? {}), ['anchor', 'positive', 'negative']);
    const file = join(dir, 'stdout.jsonl');
    writeFileSync(file, r.out);
    assertRows(file, fixture.cases['triplet-default']?.rows ?? [], { query: 'anchor', answer: 'positive' });
  });

  test('judged queries: every (query, passage) at the relevance level is a pair; the corpus gives the candidates', async () => {
    const corpus = join(dir, 'c.tsv');
    const texts = [...new Set([...fixture.positives])];
    writeFileSync(corpus, texts.map((t, i) => `d${i}\t${t}`).join('\n') + '\n');
    const queries = join(dir, 'q.tsv');
    writeFileSync(queries, ['what is the river', 'how long to sleep', 'when was the fire'].map((q, i) => `q${i}\t${q}`).join('\n') + '\n');
    const qrels = join(dir, 'qrels.txt');
    writeFileSync(qrels, 'q0 0 d0 1\nq0 0 d1 0\nq1 0 d4 2\nq2 0 d1 1\nq2 0 d99 1\n');
    const r = await runCaptured(['mine', '-m', BERT, '--queries', queries, '--qrels', qrels, '--corpus', corpus, '--output-format', 'n-tuple', '--num-negatives', '2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /1 judged pair\(s\) left out/);
    const rows = r.out.trim().split('\n').map((x) => JSON.parse(x) as Record<string, string>);
    assert.deepEqual(
      rows.map((x) => [x['anchor'], x['positive']]),
      [
        ['what is the river', texts[0]],
        ['how long to sleep', texts[4]],
        ['when was the fire', texts[1]],
      ],
    );
    for (const row of rows) assert.ok(row['negative_1'] !== row['positive'] && texts.includes(row['negative_1'] as string));
  });

  test('bad input: a malformed line names the file and line; missing inputs are usage errors', async () => {
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"query": "a", "answer": "b"}\n{"query": "c"}\n');
    const r = await runCaptured(['mine', '-m', BERT, '--pairs', broken]);
    assert.equal(r.code, 1);
    assert.match(r.err, /MALFORMED_LINE: .*broken\.jsonl:2: fields "query" and "answer" must be strings/);
    const none = await runCaptured(['mine', '-m', BERT]);
    assert.equal(none.code, 2);
    assert.match(none.err, /mine needs --pairs <file>, or --queries, --qrels and --corpus/);
    const range = await runCaptured(['mine', '-m', BERT, '--pairs', jsonl, '--range-min', '5', '--range-max', '6', '--num-negatives', '3']);
    assert.equal(range.code, 2);
    assert.match(range.err, /cannot mine 3 negatives per query/);
  });
});
