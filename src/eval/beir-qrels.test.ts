import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBeirQrels } from './beir-qrels.js';
import { isSemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';

test('BEIR qrels: the header is skipped, a headerless file keeps its first judgment', async () => {
  const s = await scratch();
  try {
    const withHeader = await s.write('test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td1\t2\n');
    const q = await readBeirQrels(withHeader);
    assert.deepEqual([...q.keys()], ['q1', 'q2']);
    assert.equal(q.get('q1')?.get('d2'), 0);
    const headerless = await s.write('dev.tsv', 'q1\td1\t1\n');
    assert.equal((await readBeirQrels(headerless)).get('q1')?.get('d1'), 1);
    const short = await s.write('short.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\n');
    await assert.rejects(readBeirQrels(short), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 2 && e.file === short);
    const onlyHeader = await s.write('h.tsv', 'query-id\tcorpus-id\tscore\n');
    await assert.rejects(readBeirQrels(onlyHeader), (e) => isSemsearchError(e, 'EMPTY_INPUT'));
  } finally {
    await s.remove();
  }
});
