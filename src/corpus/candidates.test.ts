import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePassages, jsonErrorOffset, readCandidateLists } from './candidates.js';
import { candidatesToRun, readTrecRun } from '../eval/run.js';
import { readMsMarcoQueries } from './msmarco.js';
import { WarningTally } from './warnings.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const DIR = 'msmarco-passage-trec-dl-candidates';

for (const retriever of ['BM25', 'REP_LLAMA']) {
  test(`candidate lists of ${retriever} agree with its TREC run file and the DL19 topics`, { skip: skipWithoutShared(DIR, retriever) }, async () => {
    const lists = await readCandidateLists(sharedFile(DIR, retriever, 'retrieve_results_dl19.json'));
    const run = await readTrecRun(sharedFile(DIR, retriever, 'trec_results_dl19.txt'));
    const topics = await readMsMarcoQueries(sharedFile('msmarco-passage-topics-qrels', 'topics.dl19-passage.txt'));
    const fromJson = candidatesToRun(lists);
    assert.equal(fromJson.size, run.size);
    for (const l of lists) {
      assert.equal(l.query, topics.get(l.qid));
      const fromFile = run.get(l.qid);
      assert.ok(fromFile !== undefined);
      const n = l.hits.length;
      // The JSON holds the top of the same ranking (RepLLaMA: 200 of the run file's 1000).
      assert.deepEqual(fromJson.get(l.qid)?.docids, fromFile.docids.slice(0, n));
      assert.deepEqual(l.hits.map((h) => h.rank), Array.from({ length: n }, (_, i) => i + 1));
    }
    const passages = candidatePassages(lists);
    assert.ok(passages.size > 0 && [...passages.values()].every((t) => t.length > 0));
  });
}

test('readCandidateLists: bad input is an error naming the file and the line or JSON path', async () => {
  const s = await scratch();
  try {
    const hit = (qid: unknown, docid: unknown, score: unknown = 1) => ({ qid, docid, rank: 1, score, content: 'text' });
    const syntax = await s.write('a.json', '[\n  {"query": "q",\n   "hits": [}\n]');
    await assert.rejects(readCandidateLists(syntax), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === syntax && e.line === 3);
    const mixed = await s.write('b.json', JSON.stringify([{ query: 'q', hits: [hit(1, 'a'), hit(2, 'b')] }]));
    await assert.rejects(readCandidateLists(mixed), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === '[0].hits[1].qid');
    const dup = await s.write('c.json', JSON.stringify([{ query: 'q', hits: [hit(1, 'a'), hit(1, 'a')] }]));
    await assert.rejects(readCandidateLists(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.field === '[0].hits[1].docid');
    const score = await s.write('d.json', JSON.stringify([{ query: 'q', hits: [hit(1, 'a', '0.5')] }]));
    await assert.rejects(readCandidateLists(score), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === '[0].hits[0].score');
    const twice = await s.write('e.json', JSON.stringify([{ query: 'q', hits: [hit(1, 'a')] }, { query: 'q', hits: [hit('1', 'b')] }]));
    await assert.rejects(readCandidateLists(twice), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY'));
    const unknown = await s.write('f.json', JSON.stringify([{ query: 'q', hits: [hit(9, 'a')] }]));
    await assert.rejects(readCandidateLists(unknown, { queries: new Set(['1']) }), (e) => isSemsearchError(e, 'UNKNOWN_QUERY'));
    const tally = new WarningTally();
    const partlyEmpty = await s.write('g.json', JSON.stringify([{ query: 'q', hits: [] }, { query: 'r', hits: [hit('7', 'a')] }]));
    const lists = await readCandidateLists(partlyEmpty, { onWarning: tally.add });
    assert.deepEqual(lists.map((l) => l.qid), ['7']);
    assert.equal(tally.count('CANDIDATES_WITHOUT_HITS'), 1);
  } finally {
    await s.remove();
  }
});

test('jsonErrorOffset finds where a JSON text stops being valid, and -1 for valid JSON', () => {
  for (const ok of ['[]', ' {"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null]} ', JSON.stringify({ q: [{ a: 'é"' }] })]) {
    assert.doesNotThrow(() => JSON.parse(ok));
    assert.equal(jsonErrorOffset(ok), -1);
  }
  const cases: [string, number][] = [
    ['[1,]', 3],
    ['{"a":1 "b":2}', 7],
    ['"abc', 4],
    ['[1] x', 4],
    ['{"a": tru}', 9],
    ['["\\x"]', 3],
    ['[01]', 2],
  ];
  for (const [bad, at] of cases) {
    assert.throws(() => JSON.parse(bad));
    assert.equal(jsonErrorOffset(bad), at, bad);
  }
});
