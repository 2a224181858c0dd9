import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';
import { CORPUS_FORMATS, detectFormat, detectQueriesFormat } from './formats.js';
import { iteratePassages, readPassages } from './passages.js';

test('readPassages: tsv, BEIR jsonl, SMART, candidate JSON and a folder; the first file listing an id keeps its text', async () => {
  const s = await scratch();
  try {
    const tsv = await s.write('collection.tsv', '1\tfirst text\n2\tsecond\n');
    const jsonl = await s.write('corpus.jsonl', '{"_id": "2", "title": "T", "text": "other"}\n{"_id": "b", "title": "Title", "text": "body"}\n');
    const smart = await s.write('docs.all', '.I 001\n.T\nwing flow\n.W\nwing flow\nover a plate .\n.I 2\n.T\nonly a title\n');
    const cands = await s.write(
      'c.json',
      JSON.stringify([{ query: 'q', hits: [{ qid: 7, docid: '1', rank: 1, score: 2, content: 'ignored' }, { qid: 7, docid: 'x', rank: 2, score: 1, content: 'x text' }] }]),
    );
    const folder = join(s.dir, 'notes');
    await mkdir(folder);
    await writeFile(join(folder, 'a.txt'), 'one paragraph\n\nanother one\n');
    const p = await readPassages([tsv, jsonl, smart, cands, folder], { maxWords: 2 });
    // SMART ids are normalised ("001" → "1"), so its docs 1 and 2 are the tsv's and keep the tsv texts.
    assert.deepEqual([...p], [
      ['1', 'first text'],
      ['2', 'second'],
      ['b', 'Title body'],
      ['x', 'x text'],
      ['a.txt#0', 'one paragraph'],
      ['a.txt#1', 'another one'],
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

test('detectFormat: one guess for every command, by folder, extension and first line', async () => {
  const s = await scratch();
  try {
    const cases: [string, string, string][] = [
      ['collection.tsv', '1\tx\n', 'msmarco'],
      ['passages.txt', '1\tx\n', 'msmarco'],
      ['collection', '7\tno extension, a tab\n', 'msmarco'],
      ['corpus.jsonl', '{"_id":"1","text":"x"}\n', 'beir'],
      ['cands.json', '[]', 'candidates'],
      ['cran.all.1400', '\n.I 1\n.W\nx\n', 'smart'],
      ['docs.txt', '.I 1\n.W\nx\n', 'smart'],
    ];
    for (const [name, content, format] of cases) assert.equal(await detectFormat(await s.write(name, content)), format, name);
    assert.equal(await detectFormat(s.dir), 'folder');
    const unknown = await s.write('notes.csv', 'a,b\n');
    await assert.rejects(detectFormat(unknown), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.file === unknown && e.field === 'format');
    await assert.rejects(detectFormat(join(s.dir, 'missing.tsv')), (e) => isSemsearchError(e, 'FILE_NOT_FOUND'));
    assert.deepEqual([...CORPUS_FORMATS].sort(), ['beir', 'candidates', 'folder', 'msmarco', 'smart']);
    assert.equal(await detectQueriesFormat(await s.write('cran.qry', '.I 001\n.W\nq\n')), 'cranfield');
    assert.equal(await detectQueriesFormat(await s.write('query.text', '.I 1\n.W\nq\n')), 'smart');
    assert.equal(await detectQueriesFormat(await s.write('q.jsonl', '{}\n')), 'beir');
    assert.equal(await detectQueriesFormat(await s.write('topics.txt', '1\tq\n')), 'trec');
  } finally {
    await s.remove();
  }
});

test('iteratePassages streams SMART documents with their normalised ids and file', async () => {
  const s = await scratch();
  try {
    const smart = await s.write('cacm.all', '.I 01\n.T\nTitle\n.W\nBody text\n.I 2\n.T\nAlone\n');
    const got = [];
    for await (const p of iteratePassages(smart)) got.push([p.id, p.text, p.file]);
    assert.deepEqual(got, [['1', 'Title\nBody text', smart], ['2', 'Alone', smart]]);
  } finally {
    await s.remove();
  }
});
