import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { iterateMsMarcoCollection, readMsMarcoCollection, readMsMarcoQueries } from './msmarco.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const TOPICS = 'msmarco-passage-topics-qrels';
const SUBSET = 'msmarco-passage-dl19-relevant-subset';

test('readMsMarcoQueries reads the CRLF DL20 topics without carriage returns', { skip: skipWithoutShared(TOPICS, 'topics.dl20.txt') }, async () => {
  const path = sharedFile(TOPICS, 'topics.dl20.txt');
  const q = await readMsMarcoQueries(path);
  const raw = (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  assert.equal(q.size, raw.length);
  for (const l of raw) {
    const [id, text] = l.split('\t') as [string, string];
    assert.equal(q.get(id), text);
  }
  assert.ok([...q.values()].every((t) => !t.includes('\r')));
});

test('readMsMarcoQueries keeps query text exactly as written after the tab', { skip: skipWithoutShared(TOPICS, 'topics.msmarco-passage.dev-subset.txt') }, async () => {
  const q = await readMsMarcoQueries(sharedFile(TOPICS, 'topics.msmarco-passage.dev-subset.txt'));
  // dev-small has a query whose text starts with a space; a reader that trims would change its tokens' offsets.
  assert.ok([...q.values()].some((t) => t.startsWith(' ')));
  assert.equal(q.get('2'), ' Androgen receptor define');
});

test('iterateMsMarcoCollection streams collection.tsv and agrees with the whole-file reader', { skip: skipWithoutShared(SUBSET, 'collection.tsv') }, async () => {
  const path = sharedFile(SUBSET, 'collection.tsv');
  const all = await readMsMarcoCollection(path);
  let n = 0;
  for await (const r of iterateMsMarcoCollection(path)) {
    n++;
    assert.equal(all.get(r.id), r.text);
    assert.equal(r.line, n);
  }
  assert.equal(n, all.size);
  assert.ok(n > 4000);
});

test('TSV readers reject a line without a tab, an empty id and a repeated id, with file and line', async () => {
  const s = await scratch();
  try {
    const noTab = await s.write('q1.tsv', '1\tone\n2 two\n');
    await assert.rejects(readMsMarcoQueries(noTab), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === noTab && e.line === 2);
    const noId = await s.write('q2.tsv', '\tone\n');
    await assert.rejects(readMsMarcoQueries(noId), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === 'id');
    const dup = await s.write('q3.tsv', '1\tone\n\n1\tagain\n');
    await assert.rejects(readMsMarcoQueries(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 3);
    const empty = await s.write('q4.tsv', '\n');
    await assert.rejects(readMsMarcoCollection(empty), (e) => isSemsearchError(e, 'EMPTY_INPUT'));
    const tabs = await s.write('q5.tsv', '7\ta\tb\n');
    assert.equal((await readMsMarcoCollection(tabs)).get('7'), 'a\tb');
  } finally {
    await s.remove();
  }
});
