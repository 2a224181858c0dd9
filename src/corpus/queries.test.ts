import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scratch } from '../test-support/files.js';
import { readQueries } from './queries.js';

test('readQueries tells the layouts apart (Cranfield by position, CACM by .I, TREC topics, BEIR)', async () => {
  const s = await scratch();
  try {
    const smart = '.I 001\n.W\nfirst query\n.I 004\n.W\nsecond query\n';
    const cran = await s.write('cran.qry', smart);
    const other = await s.write('query.text', smart);
    assert.deepEqual([...(await readQueries(cran))], [['1', 'first query'], ['2', 'second query']]);
    assert.deepEqual([...(await readQueries(other))], [['1', 'first query'], ['4', 'second query']]);
    assert.deepEqual([...(await readQueries(other, { format: 'cranfield' }))].map(([q]) => q), ['1', '2']);
    const topics = await s.write('topics.txt', '11\tone\n12\ttwo\n');
    assert.deepEqual([...(await readQueries(topics))], [['11', 'one'], ['12', 'two']]);
    const beirQ = await s.write('queries.jsonl', '{"_id": "q1", "text": "beir query"}\n');
    assert.deepEqual([...(await readQueries(beirQ))], [['q1', 'beir query']]);
  } finally {
    await s.remove();
  }
});
