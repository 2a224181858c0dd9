import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectCpu } from '../../cpu/features.js';
import { loadModel } from '../../encoder/load-model.js';
import { evaluateRun, evaluateTrecFiles } from '../../eval/report.js';
import { buildIndex } from '../../store/build-index.js';
import { readTrecRun } from '../../eval/run.js';
import { readCranfieldQrels } from '../../eval/smart-qrels.js';
import { scratch, SHARED_DATA, sharedFile, skipWithoutShared } from '../../test-support/files.js';
import { runCaptured, type CliRun } from '../test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../../model/fixtures/models/bert', import.meta.url));
const DL19_QRELS = sharedFile('msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt');
const BM25_DL19 = sharedFile('msmarco-passage-trec-dl-candidates', 'BM25', 'retrieve_results_dl19.json');
const skip = skipWithoutShared('msmarco-passage-trec-dl-candidates') || skipWithoutShared('cranfield');

const run = (argv: string[]): Promise<CliRun> => runCaptured(['eval', ...argv]);

interface EvalJson {
  task: { mode: string; queries: number; relevanceLevel: number; relevanceLevelFrom: string };
  summary: { 'MRR@10': number; 'NDCG@10': number };
  report: {
    sentenceTransformers: { summary: Record<string, number> };
    trecEval: { summary: Record<string, number> };
    warnings: { code: string; count: number }[];
  };
}

function assertSameSummaries(a: Record<string, number>, b: Record<string, number>, what: string): void {
  assert.deepEqual(Object.keys(a), Object.keys(b), what);
  for (const [m, v] of Object.entries(a)) assert.ok(Math.abs(v - (b[m] as number)) < 1e-12, `${what} ${m}: ${v} vs ${b[m]}`);
}

test('eval --rerank candidates JSON: the model reorders BM25, and the run file written re-scores to the printed numbers', { skip }, async () => {
  const s = await scratch();
  try {
    // Three DL19 queries' BM25 top-100, with their passage texts.
    const lists = (JSON.parse(readFileSync(BM25_DL19, 'utf8')) as { hits: { docid: string }[] }[]).slice(0, 3);
    const cands = await s.write('bm25-3q.json', JSON.stringify(lists));
    const runFile = `${s.dir}/reranked.run`;
    const r = await run(['-m', BERT, '--candidates', cands, '--qrels', DL19_QRELS, '-o', runFile, '--tag', 'tiny', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as EvalJson;
    assert.equal(j.task.mode, 'rerank');
    // A judgments file with no dataset: trec_eval's level 1, whatever the file is called (TREC DL's 2 is asked for).
    assert.equal(j.task.relevanceLevel, 1);
    assert.equal(j.task.relevanceLevelFrom, 'default');
    assert.equal(j.summary['NDCG@10'], j.report.trecEval.summary['ndcg_cut_10']);

    const reranked = await readTrecRun(runFile);
    const qids = new Set(reranked.keys());
    const again = await evaluateTrecFiles(DL19_QRELS, runFile, { relevanceLevel: 1, queries: qids });
    assertSameSummaries(again.st.summary, j.report.sentenceTransformers.summary, 'sentence-transformers');
    assertSameSummaries(again.trec.summary, j.report.trecEval.summary, 'trec_eval');

    let reordered = 0;
    lists.forEach((l) => {
      const qid = String((l.hits[0] as unknown as { qid: number }).qid);
      const got = reranked.get(qid);
      assert.ok(got !== undefined);
      assert.deepEqual(new Set(got.docids), new Set(l.hits.map((h) => h.docid)), 'the same candidates, re-ordered');
      if (got.docids.join() !== l.hits.map((h) => h.docid).join()) reordered++;
      for (let i = 1; i < got.scores.length; i++) assert.ok((got.scores[i - 1] as number) >= (got.scores[i] as number));
    });
    assert.equal(reordered, 3);
    assert.match(readFileSync(runFile, 'utf8').split('\n')[0] as string, /^\d+ Q0 \d+ 1 -?[\d.e-]+ tiny$/);

    // --depth re-scores only each list's first candidates.
    const top10 = await run(['-m', BERT, '--candidates', cands, '--qrels', DL19_QRELS, '--depth', '10', '-o', runFile]);
    assert.equal(top10.code, 0, top10.err);
    assert.ok([...(await readTrecRun(runFile)).values()].every((l) => l.docids.length === 10));
    assert.match(top10.out, /\| Model +\| NDCG@10 graded \(bm25-3q\.json\) \| MRR@10 \|/);
    // Off a terminal, eval says what it did instead of nothing: the last progress line of each phase.
    assert.match(top10.err, /^encoding documents: (\d+)\/\1 texts \(100%\)/m);
  } finally {
    await s.remove();
  }
});

test('eval --corpus (full retrieval, Cranfield subset): table output, and the run re-scores to the same values', { skip }, async () => {
  const s = await scratch();
  try {
    // The first 150 Cranfield documents and the first 6 queries (named cran.qry: numbered by position).
    const docs = readFileSync(sharedFile('cranfield', 'cran.all.1400'), 'utf8');
    const cut = docs.split(/(?=^\.I )/m).slice(0, 150).join('');
    const corpus = await s.write('cran150.all', cut);
    const qry = readFileSync(sharedFile('cranfield', 'cran.qry'), 'utf8').split(/(?=^\.I )/m).slice(0, 6).join('');
    const queries = await s.write('cran.qry', qry);
    const qrels = sharedFile('cranfield', 'cranqrel');
    const runFile = `${s.dir}/cran.run`;
    const argv = ['-m', BERT, '--corpus', corpus, '--queries', queries, '--qrels', qrels, '--depth', '40', '-o', runFile];
    const j = JSON.parse((await run([...argv, '--json'])).out) as EvalJson;
    assert.equal(j.task.mode, 'retrieve');
    assert.equal(j.task.queries, 6);
    const runs = await readTrecRun(runFile);
    assert.deepEqual([...runs.keys()], ['1', '2', '3', '4', '5', '6']);
    for (const l of runs.values()) {
      assert.equal(l.docids.length, 40);
      // Written best first: the rank column reads as the ranking, as Python's util.semantic_search run does.
      for (let i = 1; i < l.scores.length; i++) assert.ok((l.scores[i - 1] as number) >= (l.scores[i] as number), `rank ${i + 1}`);
    }
    const judged = await readCranfieldQrels(qrels);
    const again = evaluateRun(judged, runs, { relevanceLevel: 1, queries: new Set(runs.keys()) });
    assertSameSummaries(again.st.summary, j.report.sentenceTransformers.summary, 'sentence-transformers');
    assertSameSummaries(again.trec.summary, j.report.trecEval.summary, 'trec_eval');

    const table = await run(argv);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /full retrieval: 6 queries over 150 passages/);
    assert.match(table.out, /MRR@10 +\d\.\d{4}/);
    assert.match(table.out, /ndcg_cut_10 +\d\.\d{4}/);
    assert.match(table.out, /Run written to /);
  } finally {
    await s.remove();
  }
});

test('eval --index: full retrieval through a built index gives the ranking the in-memory search gives', { skip }, async () => {
  const s = await scratch();
  try {
    // 300 MS MARCO passages (three DL19 queries' BM25 lists) as a collection.tsv, indexed in float32.
    const lists = (JSON.parse(readFileSync(BM25_DL19, 'utf8')) as { query: string; hits: { qid: number; docid: string; content: string }[] }[]).slice(0, 3);
    const coll = await s.write('collection.tsv', lists.flatMap((l) => l.hits.map((h) => `${h.docid}\t${h.content.replace(/[\t\n]/g, ' ')}\n`)).join(''));
    const topics = await s.write('topics.tsv', lists.map((l) => `${l.hits[0]?.qid}\t${l.query}\n`).join(''));
    await buildIndex({ corpus: coll, out: `${s.dir}/idx`, model: BERT, precision: 'float32', shardSize: 128 });
    const common = ['-m', BERT, '--queries', topics, '--qrels', DL19_QRELS, '--depth', '50', '--json'];
    const viaIndex = await run([...common, '--index', `${s.dir}/idx`, '-o', `${s.dir}/index.run`]);
    assert.equal(viaIndex.code, 0, viaIndex.err);
    const inMemory = await run([...common, '--corpus', coll, '-o', `${s.dir}/memory.run`]);
    assert.equal(inMemory.code, 0, inMemory.err);
    const a = await readTrecRun(`${s.dir}/index.run`);
    const b = await readTrecRun(`${s.dir}/memory.run`);
    for (const [qid, la] of a) {
      const lb = b.get(qid);
      assert.ok(lb !== undefined);
      const sb = new Map(lb.docids.map((d, i) => [d, lb.scores[i] as number]));
      assert.equal(la.docids.length, 50);
      for (let i = 0; i < la.docids.length; i++) assert.ok(Math.abs((sb.get(la.docids[i] as string) ?? NaN) - (la.scores[i] as number)) < 1e-5, `${qid} ${la.docids[i]}`);
    }
    const ja = JSON.parse(viaIndex.out) as EvalJson;
    const jb = JSON.parse(inMemory.out) as EvalJson;
    for (const [m, v] of Object.entries(jb.report.trecEval.summary)) assert.ok(Math.abs((ja.report.trecEval.summary[m] as number) - v) < 1e-9, m);
    // --mode keyword: the run is the index's BM25 ranking, as the library gives it.
    const kw = await run([...common, '--index', `${s.dir}/idx`, '--mode', 'keyword', '--run-out', `${s.dir}/kw.run`]);
    assert.equal(kw.code, 0, kw.err);
    const { openIndex } = await import('../../store/search-index.js');
    const idx = await openIndex(`${s.dir}/idx`);
    const kwRun = await readTrecRun(`${s.dir}/kw.run`);
    for (const l of lists) {
      const [lib] = await idx.search(l.query, 50, { mode: 'keyword' });
      assert.deepEqual(kwRun.get(String(l.hits[0]?.qid))?.docids, lib?.map((h) => h.id));
    }
    await idx.close();
    assert.equal((await run([...common, '--index', `${s.dir}/idx`, '--mode', 'hybrid'])).code, 0);
    const noIndex = await run([...common, '--corpus', coll, '--mode', 'keyword']);
    assert.equal(noIndex.code, 2);
    assert.match(noIndex.err, /mode keyword searches a built index/);
    const both = await run(['-m', BERT, '--queries', topics, '--qrels', DL19_QRELS, '--index', `${s.dir}/idx`, '--corpus', coll]);
    assert.equal(both.code, 2);
    assert.match(both.err, /either an index or a corpus/);
  } finally {
    await s.remove();
  }
});

test('eval --index --json: task.documents is the index\'s live documents; the report names the ONNX file (--variant int8: the one picked for this CPU)', async () => {
  const s = await scratch();
  try {
    const coll = await s.write('collection.tsv', 'a\tLondon is the capital of England\nb\tParis is the capital of France\nc\tThe Thames flows through London\nd\tGoldfish grow to fit their tank\n');
    const topics = await s.write('topics.tsv', 'q1\twhat is the capital of England\nq2\tdo goldfish grow\n');
    const qrels = await s.write('qrels.txt', 'q1 0 a 1\nq2 0 d 1\n');
    const idx = `${s.dir}/idx`;
    await buildIndex({ corpus: coll, out: idx, model: BERT, precision: 'float32' });
    const del = await runCaptured(['delete', idx, 'c']);
    assert.equal(del.code, 0, del.err);
    const common = ['-m', BERT, '--queries', topics, '--qrels', qrels, '--index', idx, '--depth', '10'];
    const r = await run([...common, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as EvalJson & { task: { documents: number }; onnx: { file: string; requested: string; int8?: { variant: string; isa: string } } };
    assert.equal(j.task.documents, 3, 'four passages indexed, one deleted');
    assert.deepEqual(j.onnx, { file: 'onnx/model.onnx', requested: 'default' });
    const table = await run(common);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^semsearch eval: bert \(onnx\/model\.onnx\) on idx \(full retrieval: 2 queries over the index .*idx \(3 passages\);/m);

    // int8 encodes other vectors than the index's model: the same queries over the corpus itself.
    const int8 = ['-m', BERT, '--queries', topics, '--qrels', qrels, '--corpus', coll, '--variant', 'int8'];
    const q = await run([...int8, '--json']);
    assert.equal(q.code, 0, q.err);
    const jq = JSON.parse(q.out) as typeof j;
    const want = await loadModel(BERT, { variant: 'int8', workers: 1 });
    await want.dispose();
    assert.equal(jq.onnx.requested, 'int8');
    assert.equal(jq.onnx.file, `onnx/${basename(want.onnxFile)}`);
    assert.equal(jq.onnx.int8?.variant, want.onnxChoice.int8?.variant);
    assert.equal(jq.onnx.int8?.isa, detectCpu().isa);
    const qt = await run(int8);
    assert.equal(qt.code, 0, qt.err);
    assert.ok(qt.out.startsWith(`semsearch eval: bert (onnx/${basename(want.onnxFile)}, int8 for ${detectCpu().isa}) on collection.tsv`), qt.out.split('\n')[0]);
  } finally {
    await s.remove();
  }
});

test('eval: usage errors exit 2, bad or missing data exit 1, with codes; --missing-text drop counts what it dropped', async () => {
  const s = await scratch();
  try {
    const qrels = await s.write('qrels.txt', 'q1 0 a 1\nq1 0 b 0\n');
    const topics = await s.write('topics.tsv', 'q1\twhat is a\n');
    const coll = await s.write('collection.tsv', 'a\tpassage about a\nb\tpassage about b\n');
    const runFile = await s.write('bm25.run', 'q1 Q0 a 1 2 bm25\nq1 Q0 b 2 1 bm25\nq1 Q0 zz 3 0.5 bm25\n');
    const cases: [string[], number, RegExp][] = [
      [['--dataset', 'cranfield'], 2, /INVALID_ARGUMENT: eval needs --model/],
      [['-m', BERT, '--dataset', 'nope', '--data-dir', '/d'], 2, /INVALID_ARGUMENT: unknown dataset "nope"/],
      [['-m', BERT, '--dataset', 'cranfield'], 2, /INVALID_ARGUMENT: a named dataset needs its data folder: pass --data-dir/],
      [['-m', BERT, '--qrels', qrels], 2, /INVALID_ARGUMENT: eval needs --dataset, --candidates/],
      [['-m', BERT, '--candidates', runFile], 2, /INVALID_ARGUMENT: eval needs --qrels/],
      [['-m', BERT, '--candidates', runFile, '--qrels', qrels], 2, /INVALID_ARGUMENT: .*needs the query texts/],
      [['-m', BERT, '--corpus', coll, '--queries', topics, '--qrels', qrels, '--depth', '0'], 2, /INVALID_ARGUMENT: --depth must be a positive integer/],
      [['-m', BERT, '--corpus', coll, '--queries', topics, '--qrels', qrels, '--qrels-format', 'xml'], 2, /--qrels-format must be one of/],
      [['-m', BERT, '--corpus', `${s.dir}/none.tsv`, '--queries', topics, '--qrels', qrels], 1, /FILE_NOT_FOUND: .*none\.tsv/],
      [['-m', BERT, '--candidates', runFile, '--queries', topics, '--corpus', coll, '--qrels', qrels], 1, /MISSING_TEXT: document zz of query q1/],
      [['-m', BERT, '--rerank', topics, '--queries', topics, '--corpus', coll, '--qrels', qrels], 1, /MALFORMED_LINE: .*topics\.tsv:1/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await run(argv);
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
    const dropped = await run(['-m', BERT, '--candidates', runFile, '--queries', topics, '--corpus', coll, '--qrels', qrels, '--missing-text', 'drop', '--json']);
    assert.equal(dropped.code, 0, dropped.err);
    const j = JSON.parse(dropped.out) as EvalJson;
    assert.deepEqual(j.report.warnings.find((w) => w.code === 'DOCUMENT_WITHOUT_TEXT')?.count, 1);
    const list = await run(['--list-datasets']);
    assert.equal(list.code, 0);
    assert.match(list.out, /^dl19-bm25-rerank +TREC DL 2019/m);
    assert.match(list.out, /^cacm /m);
  } finally {
    await s.remove();
  }
});

test('eval --run --qrels scores an existing run with no model, as trec_eval does; --json and table agree with the library', { skip }, async () => {
  const runFile = sharedFile('msmarco-passage-trec-dl-candidates', 'BM25', 'trec_results_dl19.txt');
  const want = await evaluateTrecFiles(DL19_QRELS, runFile, { relevanceLevel: 2 });
  const j = await run(['--run', runFile, '--qrels', DL19_QRELS, '--relevance-level', '2', '--json']);
  assert.equal(j.code, 0, j.err);
  const out = JSON.parse(j.out) as { relevanceLevel: number; summary: Record<string, number>; report: EvalJson['report'] };
  assert.equal(out.relevanceLevel, 2);
  assertSameSummaries(out.report.trecEval.summary, want.trec.summary as Record<string, number>, 'trec_eval');
  assertSameSummaries(out.report.sentenceTransformers.summary, want.st.summary as Record<string, number>, 'st');
  assert.equal(out.summary['NDCG@10'], want.trec.summary['ndcg_cut_10']);
  const t = await run(['--run', runFile, '--qrels', DL19_QRELS, '--relevance-level', '2']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, new RegExp(`^\\s+ndcg_cut_10\\s+${(want.trec.summary['ndcg_cut_10'] as number).toFixed(4)}$`, 'm'));
  // A model, or anything that needs one, is refused with --run rather than ignored.
  for (const extra of [['-m', BERT], ['--candidates', runFile], ['-o', '/tmp/x.run']]) {
    const r = await run(['--run', runFile, '--qrels', DL19_QRELS, ...extra]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.err, /INVALID_ARGUMENT: --run scores the run file as it is, with no model/);
  }
  const noQrels = await run(['--run', runFile]);
  assert.equal(noQrels.code, 2);
  assert.match(noQrels.err, /eval --run needs --qrels/);
});

test('eval --run: no figure depends on the judgments file\'s name; the level used and how to ask for TREC DL\'s are stated (issue 28)', { skip }, async () => {
  const runFile = sharedFile('msmarco-passage-trec-dl-candidates', 'BM25', 'trec_results_dl19.txt');
  const s = await scratch();
  try {
    const copy = await s.write('judgments.txt', readFileSync(DL19_QRELS, 'utf8'));
    type RunJson = { relevanceLevel: number; relevanceLevelFrom: string; report: EvalJson['report'] & { relevanceLevel: number; maxGrade: number; relevanceNote?: string } };
    const score = async (argv: string[]): Promise<RunJson> => {
      const r = await run(['--run', runFile, ...argv, '--json']);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as RunJson;
    };
    // The same judgments under two names: the same figures, at trec_eval's default level 1 (before: 2 for the
    // qrels.dl19-passage.txt name, MRR@10 0.7024, and 1 for judgments.txt, 0.8233).
    const named = await score(['--qrels', DL19_QRELS]);
    const renamed = await score(['--qrels', copy]);
    assert.deepEqual(renamed.report, named.report);
    assert.equal(named.relevanceLevel, 1);
    assert.equal(named.relevanceLevelFrom, 'default');
    assert.equal(named.report.maxGrade, 3);
    assert.match(named.report.relevanceNote ?? '', /graded judgments \(grades up to 3\) scored at level 1 \(trec_eval's default\); the TREC DL convention counts grade >= 2 relevant: pass --relevance-level 2/);
    assert.equal(named.report.sentenceTransformers.summary['mrr@10']?.toFixed(4), '0.8233');
    assert.equal(named.report.trecEval.summary['map']?.toFixed(4), '0.2993');
    // TREC DL's convention, asked for by the flag or carried by a named dataset, whatever the file is called.
    const flag = await score(['--qrels', copy, '--relevance-level', '2']);
    assert.equal(flag.relevanceLevel, 2);
    assert.equal(flag.relevanceLevelFrom, '--relevance-level');
    assert.equal(flag.report.relevanceNote, undefined);
    assert.equal(flag.report.sentenceTransformers.summary['mrr@10']?.toFixed(4), '0.7024');
    assert.equal(flag.report.trecEval.summary['map']?.toFixed(4), '0.2476');
    const dataset = await score(['--dataset', 'dl19-bm25-rerank', '--data-dir', SHARED_DATA]);
    assert.equal(dataset.relevanceLevelFrom, 'dataset');
    assert.deepEqual(dataset.report, flag.report);
    // The table states the same.
    const t = await run(['--run', runFile, '--qrels', copy]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /\(relevant = grade >= 1, from trec_eval's default\)/);
    assert.match(t.out, /^Relevant: grade >= 1 /m);
    assert.match(t.out, /^Note: graded judgments \(grades up to 3\) .*pass --relevance-level 2$/m);
    const t2 = await run(['--run', runFile, '--qrels', DL19_QRELS, '--relevance-level', '2']);
    assert.match(t2.out, /\(relevant = grade >= 2, from --relevance-level\)/);
    assert.doesNotMatch(t2.out, /^Note:/m);
  } finally {
    await s.remove();
  }
});

test('eval --run with SMART-style qrels whose fourth column is a float: recognised, every listed pair relevant', async () => {
  const s = await scratch();
  try {
    const qrels = await s.write('CISI.REL', '     1     28 0 0.000000\n     1     35 0 0.000000\n     2     7 0 0.000000\n');
    const runFile = await s.write('my.run', '1 Q0 35 1 9 x\n1 Q0 99 2 8 x\n1 Q0 28 3 7 x\n2 Q0 7 1 3 x\n');
    const r = await run(['--run', runFile, '--qrels', qrels, '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { relevanceLevel: number; report: EvalJson['report'] };
    assert.equal(out.relevanceLevel, 1);
    // Query 1: relevant at ranks 1 and 3 → MRR 1, AP (1 + 2/3) / 2; query 2: relevant at rank 1.
    assert.equal(out.report.trecEval.summary['recip_rank'], 1);
    assert.ok(Math.abs((out.report.trecEval.summary['map'] as number) - ((1 + 2 / 3) / 2 + 1) / 2) < 1e-12);
  } finally {
    await s.remove();
  }
});
