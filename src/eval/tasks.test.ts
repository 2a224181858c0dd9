import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, SHARED_DATA, skipWithoutShared } from './test-support/files.js';
import {
  datasetSpec,
  defaultDataDir,
  defaultRelevanceLevel,
  dl19PoolFiles,
  listDatasets,
  loadEvalTask,
  readJudgments,
  readPassages,
  readQueries,
} from './tasks.js';

test('readPassages: tsv, BEIR jsonl, SMART and candidate JSON; the first file listing an id keeps its text', async () => {
  const s = await scratch();
  try {
    const tsv = await s.write('collection.tsv', '1\tfirst text\n2\tsecond\n');
    const jsonl = await s.write('corpus.jsonl', '{"_id": "2", "title": "T", "text": "other"}\n{"_id": "b", "title": "Title", "text": "body"}\n');
    const smart = await s.write('docs.all', '.I 001\n.T\nwing flow\n.W\nwing flow\nover a plate .\n.I 2\n.T\nonly a title\n');
    const cands = await s.write(
      'c.json',
      JSON.stringify([{ query: 'q', hits: [{ qid: 7, docid: '1', rank: 1, score: 2, content: 'ignored' }, { qid: 7, docid: 'x', rank: 2, score: 1, content: 'x text' }] }]),
    );
    const p = await readPassages([tsv, jsonl, smart, cands]);
    // SMART ids are normalised ("001" → "1"), so its docs 1 and 2 are the tsv's and keep the tsv texts.
    assert.deepEqual([...p], [
      ['1', 'first text'],
      ['2', 'second'],
      ['b', 'Title body'],
      ['x', 'x text'],
    ]);
    const smartOnly = await readPassages([smart]);
    assert.deepEqual([...smartOnly], [['1', 'wing flow\nover a plate .'], ['2', 'only a title']]);
    const empty = await s.write('empty.tsv', '\n\n');
    await assert.rejects(readPassages([empty]), (e) => isSemsearchError(e, 'EMPTY_INPUT') && e.file === empty);
    await assert.rejects(readPassages([]), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(readPassages([`${s.dir}/missing.tsv`]), (e) => isSemsearchError(e, 'FILE_NOT_FOUND'));
  } finally {
    await s.remove();
  }
});

test('readQueries / readJudgments tell the layouts apart (Cranfield by position, CACM by .I and its "qid docid 0 0" qrels)', async () => {
  const s = await scratch();
  try {
    const smart = '.I 001\n.W\nfirst query\n.I 004\n.W\nsecond query\n';
    const cran = await s.write('cran.qry', smart);
    const other = await s.write('query.text', smart);
    assert.deepEqual([...(await readQueries(cran))], [['1', 'first query'], ['2', 'second query']]);
    assert.deepEqual([...(await readQueries(other))], [['1', 'first query'], ['4', 'second query']]);
    assert.deepEqual([...(await readQueries(other, 'cranfield'))].map(([q]) => q), ['1', '2']);
    const topics = await s.write('topics.txt', '11\tone\n12\ttwo\n');
    assert.deepEqual([...(await readQueries(topics))], [['11', 'one'], ['12', 'two']]);
    const beirQ = await s.write('queries.jsonl', '{"_id": "q1", "text": "beir query"}\n');
    assert.deepEqual([...(await readQueries(beirQ))], [['q1', 'beir query']]);

    const cacm = await s.write('qrels.text', '01 1410 0 0\n01 1572 0 0\n');
    assert.deepEqual([...((await readJudgments(cacm)).get('1') ?? [])], [['1410', 1], ['1572', 1]]);
    const cranqrel = await s.write('cranqrel', '1 184 2\n1 29 -1\n');
    assert.deepEqual([...((await readJudgments(cranqrel)).get('1') ?? [])], [['184', 3], ['29', 0]]);
    const beir = await s.write('test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
    assert.deepEqual([...((await readJudgments(beir)).get('q1') ?? [])], [['d1', 1]]);
    const trec = await s.write('qrels.dl19-passage.txt', '19335 0 1017759 0\n19335 0 1082489 3\n');
    assert.deepEqual([...((await readJudgments(trec)).get('19335') ?? [])], [['1017759', 0], ['1082489', 3]]);
    assert.equal(defaultRelevanceLevel(trec), 2);
    assert.equal(defaultRelevanceLevel(cacm), 1);
  } finally {
    await s.remove();
  }
});

test('loadEvalTask: a TREC run to re-rank needs query and passage texts; bad input is a coded error', async () => {
  const s = await scratch();
  try {
    const qrels = await s.write('qrels.txt', 'q1 0 a 1\n');
    const run = await s.write('run.txt', 'q1 Q0 a 1 2.5 bm25\nq1 Q0 b 2 1.5 bm25\n');
    await assert.rejects(loadEvalTask({ rerank: run, qrels }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'queries');
    const topics = await s.write('topics.tsv', 'q1\tquery one\n');
    await assert.rejects(loadEvalTask({ rerank: run, qrels, queries: topics }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'corpus');
    const coll = await s.write('collection.tsv', 'a\tpassage a\nb\tpassage b\n');
    const task = await loadEvalTask({ rerank: run, qrels, queries: topics, corpus: [coll] });
    assert.equal(task.mode, 'rerank');
    assert.equal(task.relevanceLevel, 1);
    if (task.mode === 'rerank') assert.deepEqual(task.candidates.get('q1')?.docids, ['a', 'b']);
    const bad = await s.write('bad.run', 'q1 Q0 a 1 notanumber bm25\n');
    await assert.rejects(loadEvalTask({ rerank: bad, qrels, queries: topics, corpus: [coll] }), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === bad);
    await assert.rejects(loadEvalTask({ qrels, queries: topics }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'corpus');
    await assert.rejects(loadEvalTask({ qrels, corpus: [coll] }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'queries');
    await assert.rejects(loadEvalTask({ qrels: `${s.dir}/nope`, corpus: [coll], queries: topics }), (e) => isSemsearchError(e, 'FILE_NOT_FOUND'));
  } finally {
    await s.remove();
  }
});

test('dataset names resolve to ../shared/data; an unknown one lists the known ones', () => {
  assert.equal(defaultDataDir({}), SHARED_DATA);
  assert.equal(defaultDataDir({ SEMSEARCH_DATA: '/elsewhere' }), '/elsewhere');
  const spec = datasetSpec('dl19-bm25-rerank', '/d');
  assert.equal(spec.rerank, '/d/msmarco-passage-trec-dl-candidates/BM25/retrieve_results_dl19.json');
  assert.equal(spec.relevanceLevel, 2);
  assert.equal(datasetSpec('dl20-splade-rerank', '/d').qrels, '/d/msmarco-passage-topics-qrels/qrels.dl20-passage.txt');
  assert.equal(datasetSpec('cranfield', '/d').queriesFormat, 'cranfield');
  assert.equal(dl19PoolFiles('/d').length, 13);
  assert.ok(listDatasets().some((d) => d.name === 'dl19-pool'));
  assert.throws(() => datasetSpec('dl19-bm26-rerank'), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && /known: .*dl19-bm25-rerank/.test(e.message));
});

test('the dl19-pool dataset is every passage with text in the data folder (31,362), the repaired texts first', { skip: skipWithoutShared('msmarco-passage-trec-dl-candidates') }, async () => {
  const task = await loadEvalTask(datasetSpec('dl19-pool'));
  assert.equal(task.mode, 'retrieve');
  if (task.mode !== 'retrieve') return;
  assert.equal(task.corpus.size, 31362);
  assert.equal(task.queries.size, 43);
  // Every DL19 passage judged relevant (grade >= 1) has text in the pool.
  for (const [, judged] of task.qrels) for (const [d, g] of judged) if (g >= 1) assert.ok(task.corpus.has(d), d);
  const subset = await readPassages([sharedFile('msmarco-passage-dl19-relevant-subset', 'collection.tsv')]);
  for (const [id, text] of subset) assert.equal(task.corpus.get(id), text);
});
