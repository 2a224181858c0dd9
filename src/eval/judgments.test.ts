import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scratch } from '../test-support/files.js';
import { DEFAULT_RELEVANCE_LEVEL, maxGrade, readJudgments } from './judgments.js';

test('readJudgments tells the layouts apart (cranqrel, CACM\'s "qid docid 0 0", BEIR, TREC)', async () => {
  const s = await scratch();
  try {
    const cacm = await s.write('qrels.text', '01 1410 0 0\n01 1572 0 0\n');
    assert.deepEqual([...((await readJudgments(cacm)).get('1') ?? [])], [['1410', 1], ['1572', 1]]);
    const cranqrel = await s.write('cranqrel', '1 184 2\n1 29 -1\n');
    assert.deepEqual([...((await readJudgments(cranqrel)).get('1') ?? [])], [['184', 3], ['29', 0]]);
    const beir = await s.write('test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
    assert.deepEqual([...((await readJudgments(beir)).get('q1') ?? [])], [['d1', 1]]);
    const trec = await s.write('qrels.dl19-passage.txt', '19335 0 1017759 0\n19335 0 1082489 3\n');
    assert.deepEqual([...((await readJudgments(trec)).get('19335') ?? [])], [['1017759', 0], ['1082489', 3]]);
    // The level is trec_eval's default whatever the file is called; the grades say whether the judgments are graded.
    assert.equal(DEFAULT_RELEVANCE_LEVEL, 1);
    assert.equal(maxGrade(await readJudgments(trec)), 3);
    assert.equal(maxGrade(await readJudgments(cacm)), 1);
  } finally {
    await s.remove();
  }
});
