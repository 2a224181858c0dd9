import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beirDocumentText, iterateBeirCorpus, readBeirCorpus, readBeirQueries } from './beir.js';
import { isSemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';

const CORPUS = [
  { _id: 'd1', title: 'Title one', text: 'Body one.', metadata: {} },
  { _id: 2, text: 'Body two, no title.' },
  { _id: 'd3', title: '', text: 'Body three.' },
]
  .map((o) => JSON.stringify(o))
  .join('\n');

test('BEIR corpus.jsonl: ids as strings (numbers accepted), missing title read as empty', async () => {
  const s = await scratch();
  try {
    const p = await s.write('corpus.jsonl', CORPUS + '\n');
    const docs = await readBeirCorpus(p);
    assert.deepEqual([...docs.keys()], ['d1', '2', 'd3']);
    assert.equal(docs.get('2')?.title, '');
    assert.equal(beirDocumentText(docs.get('d1') as { title: string; text: string }), 'Title one Body one.');
    assert.equal(beirDocumentText(docs.get('2') as { title: string; text: string }), 'Body two, no title.');
    const lines: number[] = [];
    for await (const r of iterateBeirCorpus(p)) lines.push(r.line);
    assert.deepEqual(lines, [1, 2, 3]);
  } finally {
    await s.remove();
  }
});

test('BEIR jsonl errors name the file and line', async () => {
  const s = await scratch();
  try {
    const badJson = await s.write('a.jsonl', '{"_id":"1","text":"a"}\n{"_id": "2", "text": \n');
    await assert.rejects(readBeirCorpus(badJson), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === badJson && e.line === 2);
    const noId = await s.write('b.jsonl', '{"text":"a"}\n');
    await assert.rejects(readBeirQueries(noId), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === '_id' && e.line === 1);
    const badText = await s.write('c.jsonl', '{"_id":"q","text":5}\n');
    await assert.rejects(readBeirQueries(badText), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === 'text');
    const dup = await s.write('d.jsonl', '{"_id":"q","text":"a"}\n{"_id":"q","text":"b"}\n');
    await assert.rejects(readBeirQueries(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 2);
    const arr = await s.write('e.jsonl', '["q"]\n');
    await assert.rejects(readBeirQueries(arr), (e) => isSemsearchError(e, 'MALFORMED_LINE'));
  } finally {
    await s.remove();
  }
});

