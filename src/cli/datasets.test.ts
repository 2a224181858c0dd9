import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { loadEvalTask } from '../eval/tasks.js';
import { readPassages } from '../corpus/passages.js';
import { sharedFile, SHARED_DATA, skipWithoutShared } from '../test-support/files.js';
import { datasetSpec, dl19PoolFiles, listDatasets, resolveDataDir } from './datasets.js';

test('dataset names resolve under an explicit data folder (--data-dir, else SEMSEARCH_DATA, never a guess); an unknown one lists the known ones', () => {
  assert.equal(resolveDataDir('/flag', { SEMSEARCH_DATA: '/elsewhere' }), '/flag');
  assert.equal(resolveDataDir(undefined, { SEMSEARCH_DATA: '/elsewhere' }), '/elsewhere');
  assert.throws(() => resolveDataDir(undefined, {}), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && /--data-dir/.test(e.message) && /SEMSEARCH_DATA/.test(e.message));
  const spec = datasetSpec('dl19-bm25-rerank', '/d');
  assert.equal(spec.rerank, '/d/msmarco-passage-trec-dl-candidates/BM25/retrieve_results_dl19.json');
  assert.equal(spec.relevanceLevel, 2);
  assert.equal(datasetSpec('dl20-splade-rerank', '/d').qrels, '/d/msmarco-passage-topics-qrels/qrels.dl20-passage.txt');
  assert.equal(datasetSpec('cranfield', '/d').queriesFormat, 'cranfield');
  assert.equal(dl19PoolFiles('/d').length, 13);
  assert.ok(listDatasets().some((d) => d.name === 'dl19-pool'));
  assert.throws(() => datasetSpec('dl19-bm26-rerank', '/d'), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && /known: .*dl19-bm25-rerank/.test(e.message));
});

test('the dl19-pool dataset is every passage with text in the data folder (31,362), the repaired texts first', { skip: skipWithoutShared('msmarco-passage-trec-dl-candidates') }, async () => {
  const task = await loadEvalTask(datasetSpec('dl19-pool', SHARED_DATA));
  assert.equal(task.mode, 'retrieve');
  if (task.mode !== 'retrieve') return;
  assert.equal(task.corpus.size, 31362);
  assert.equal(task.queries.size, 43);
  // Every DL19 passage judged relevant (grade >= 1) has text in the pool.
  for (const [, judged] of task.qrels) for (const [d, g] of judged) if (g >= 1) assert.ok(task.corpus.has(d), d);
  const subset = await readPassages([sharedFile('msmarco-passage-dl19-relevant-subset', 'collection.tsv')]);
  for (const [id, text] of subset) assert.equal(task.corpus.get(id), text);
});
