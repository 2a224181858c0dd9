// runEvaluation is what `semsearch eval` does between parsing its flags and printing: called directly on the same
// inputs, its `json` is what `eval --json` prints (timings aside, which no two runs share).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { runCaptured } from '../cli/test-support/run-cli.js';
import { runEvaluation } from './run-evaluation.js';
import { formatTrecRun } from './run.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const PARITY = fileURLToPath(new URL('./fixtures/parity/', import.meta.url));
const LEVEL_FLAG = { levelSetting: (n: number) => `pass --relevance-level ${n}` };

/** The JSON without its timings (seconds differ from run to run). */
function untimed(j: unknown): unknown {
  const o = JSON.parse(JSON.stringify(j)) as Record<string, unknown>;
  delete o['timings'];
  return o;
}

async function cliJson(argv: string[]): Promise<Record<string, unknown>> {
  const r = await runCaptured([...argv, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Record<string, unknown>;
}

test('a run scored as it is: runEvaluation({ run }) gives what eval --run --json prints', async () => {
  const run = join(PARITY, 'synthetic.run.txt');
  const qrels = join(PARITY, 'synthetic.qrels.txt');
  for (const perQuery of [false, true]) {
    const cli = await cliJson(['eval', '--run', run, '--qrels', qrels, ...(perQuery ? ['--per-query'] : [])]);
    const lib = await runEvaluation({ task: { qrels }, run, perQuery, relevanceNote: LEVEL_FLAG });
    assert.equal(lib.kind, 'run');
    assert.deepEqual(JSON.parse(JSON.stringify(lib.json)), cli);
  }
});

describe('a model and a cross-encoder: runEvaluation gives what eval -m / --rerank-with --json prints', () => {
  let dir: string;
  let ce: { dir: string; cleanup: () => void };
  const files = { corpus: '', queries: '', qrels: '', run: '' };
  const passages = [
    'Hurricanes are large rotating storms that form over warm ocean water.',
    'The flu is contagious from a day before symptoms until about a week after.',
    'Jamaica in December is warm and mostly dry, around 28 degrees by day.',
    'London is the capital of England and its largest city.',
    'A tropical cyclone with winds above 119 km/h is called a hurricane.',
    'Influenza spreads through droplets when people cough or sneeze.',
    'Kingston, Jamaica, sees little rain in the winter months.',
    'Paris is known for the Eiffel Tower and its museums.',
  ];
  const queries: [string, string][] = [
    ['q1', 'what is a hurricane'],
    ['q2', 'how long is the flu contagious'],
    ['q3', 'jamaica weather in december'],
  ];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-run-evaluation-'));
    ce = materializeCrossEncoder('bert-1');
    files.corpus = join(dir, 'c.tsv');
    writeFileSync(files.corpus, passages.map((t, i) => `d${i}\t${t}\n`).join(''));
    files.queries = join(dir, 'q.tsv');
    writeFileSync(files.queries, queries.map(([q, t]) => `${q}\t${t}\n`).join(''));
    files.qrels = join(dir, 'qrels.txt');
    writeFileSync(files.qrels, 'q1 0 d0 2\nq1 0 d4 3\nq2 0 d1 3\nq2 0 d5 1\nq3 0 d2 2\nq3 0 d6 3\n');
    files.run = join(dir, 'run.txt');
    const run = new Map(queries.map(([q], qi) => [q, { docids: passages.map((_, i) => `d${(i + qi * 3) % passages.length}`), scores: passages.map((_, i) => passages.length - i) }]));
    writeFileSync(files.run, formatTrecRun(run, { tag: 'made-up' }));
  });
  after(() => {
    ce?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('full retrieval over a corpus, and re-ranking a run, with the bi-encoder', async () => {
    const common = { queries: files.queries, qrels: files.qrels };
    const cli = await cliJson(['eval', '-m', BERT, '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--depth', '5']);
    const lib = await runEvaluation({ task: { ...common, corpus: [files.corpus] }, model: BERT, depth: 5, relevanceNote: LEVEL_FLAG });
    assert.equal(lib.kind, 'model');
    assert.deepEqual(untimed(lib.json), untimed(cli));
    assert.ok(lib.json['timings'] !== undefined && cli['timings'] !== undefined);

    const cliRerank = await cliJson(['eval', '-m', BERT, '--rerank', files.run, '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--relevance-level', '2']);
    const libRerank = await runEvaluation({ task: { ...common, rerank: files.run, corpus: [files.corpus], relevanceLevel: 2 }, model: BERT, relevanceNote: LEVEL_FLAG, relevanceLevelFrom: '--relevance-level' });
    assert.deepEqual(untimed(libRerank.json), untimed(cliRerank));
  });

  test("the cross-encoder alone on the task's run, and after the bi-encoder", async () => {
    const common = { queries: files.queries, qrels: files.qrels, corpus: [files.corpus] };
    const cli = await cliJson(['eval', '--rerank', files.run, '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--rerank-with', ce.dir, '--rerank-depth', '4']);
    const lib = await runEvaluation({ task: { ...common, rerank: files.run }, crossEncoder: ce.dir, crossDepth: 4, relevanceNote: LEVEL_FLAG });
    assert.equal(lib.kind, 'cross-encoder');
    assert.deepEqual(untimed(lib.json), untimed(cli));
    assert.equal((lib.json['timings'] as { pairs: number }).pairs, 12);

    const cli2 = await cliJson(['eval', '-m', BERT, '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--rerank-with', ce.dir, '--rerank-depth', '3']);
    const lib2 = await runEvaluation({ task: common, model: BERT, crossEncoder: ce.dir, crossDepth: 3, relevanceNote: LEVEL_FLAG });
    assert.deepEqual(untimed(lib2.json), untimed(cli2));
    assert.deepEqual(lib2.firstStage?.report.trec.summary, lib2.modelEvaluation?.report.trec.summary);
  });
});
