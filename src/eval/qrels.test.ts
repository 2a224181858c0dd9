import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readTrecQrels, relevantDocs, toQrels } from './qrels.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const DL19 = ['msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'];

test('readTrecQrels reads the DL19 graded qrels line for line', { skip: skipWithoutShared(...DL19) }, async () => {
  const path = sharedFile(...DL19);
  const qrels = await readTrecQrels(path);
  // Compare with an independent split of the raw file rather than with remembered counts.
  const raw = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
  let n = 0;
  for (const docs of qrels.values()) n += docs.size;
  assert.equal(n, raw.length);
  for (const [qid, , docid, rel] of raw) assert.equal(qrels.get(qid as string)?.get(docid as string), Number(rel));
  assert.equal(qrels.size, new Set(raw.map((f) => f[0])).size);
  const grades = new Set([...qrels.values()].flatMap((m) => [...m.values()]));
  assert.deepEqual([...grades].sort(), [0, 1, 2, 3]);
});

test('readTrecQrels rejects bad lines with the file and line', async () => {
  const s = await scratch();
  try {
    const few = await s.write('few.txt', '1 0 d1 1\n1 0 d2\n');
    await assert.rejects(readTrecQrels(few), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === few && e.line === 2);
    const many = await s.write('many.txt', '1 0 d1 1 extra\n');
    await assert.rejects(readTrecQrels(many), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 1);
    const notInt = await s.write('float.txt', '# header comment\n1 0 d1 1.5\n');
    await assert.rejects(readTrecQrels(notInt), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 2 && e.field === 'relevance');
    const dup = await s.write('dup.txt', '1 0 d1 1\n1 0 d2 0\n1 0 d1 2\n');
    await assert.rejects(readTrecQrels(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 3 && /line 1/.test(e.message));
    const empty = await s.write('empty.txt', '');
    await assert.rejects(readTrecQrels(empty), (e) => isSemsearchError(e, 'EMPTY_INPUT') && e.file === empty);
    const onlyComments = await s.write('comments.txt', '# nothing\n\n');
    await assert.rejects(readTrecQrels(onlyComments), (e) => isSemsearchError(e, 'EMPTY_INPUT'));
    const unknown = await s.write('unknown.txt', '1 0 d1 1\n7 0 d1 1\n');
    await assert.rejects(
      readTrecQrels(unknown, { queries: new Set(['1']) }),
      (e) => isSemsearchError(e, 'UNKNOWN_QUERY') && e.line === 2,
    );
  } finally {
    await s.remove();
  }
});

test('readTrecQrels accepts tabs, CRLF, negative grades and blank lines', async () => {
  const s = await scratch();
  try {
    const p = await s.write('ok.txt', '1\t0\td1\t-1\r\n\r\n1 Q0 d2 3\r\n');
    const q = await readTrecQrels(p);
    assert.deepEqual([...(q.get('1') ?? [])], [['d1', -1], ['d2', 3]]);
  } finally {
    await s.remove();
  }
});

test('relevantDocs applies the relevance level; toQrels takes pytrec_eval-style objects', () => {
  const q = toQrels({ a: { d1: 0, d2: 1, d3: 2, d4: 3 } });
  assert.deepEqual([...relevantDocs(q.get('a'), 2)].sort(), ['d3', 'd4']);
  assert.deepEqual([...relevantDocs(q.get('a'), 1)].sort(), ['d2', 'd3', 'd4']);
  assert.equal(relevantDocs(undefined, 1).size, 0);
  assert.throws(() => toQrels({ a: { d: 0.5 } }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});
