import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';
import { loadEvalTask } from './tasks.js';

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
