import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readCacmQueries, readCranfieldQueries, readSmartDocs, readSmartQueries, smartDocumentText } from './smart.js';
import { WarningTally } from './warnings.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const CRAN = (f: string): string => sharedFile('cranfield', f);
const CACM = (f: string): string => sharedFile('cacm', f);

test('Cranfield: queries are numbered by position, as cranqrel numbers them', { skip: skipWithoutShared('cranfield', 'cran.qry') }, async () => {
  const raw = (await readFile(CRAN('cran.qry'), 'utf8')).split(/\r?\n/);
  const ids = raw.filter((l) => l.startsWith('.I ')).map((l) => l.slice(3).trim());
  const queries = await readCranfieldQueries(CRAN('cran.qry'));
  assert.deepEqual([...queries.keys()], ids.map((_, i) => String(i + 1)));
  // The third record is ".I 004": by id it would be query 4, but cranqrel calls it query 3.
  assert.equal(ids[2], '004');
  const third = raw.indexOf('.I 004');
  assert.equal(queries.get('3'), [raw[third + 2], raw[third + 3]].join('\n').trim());
  const byId = await readSmartQueries(CRAN('cran.qry'), { numbering: 'id' });
  assert.equal(byId.get('4'), queries.get('3'));
  assert.ok(!byId.has('3'));
});

test('Cranfield docs: ids 1..1400, title and abstract, repeated markers kept inside the record', { skip: skipWithoutShared('cranfield', 'cran.all.1400') }, async () => {
  const docs = await readSmartDocs(CRAN('cran.all.1400'));
  assert.deepEqual([...docs.keys()], Array.from({ length: docs.size }, (_, i) => String(i + 1)));
  const d1 = docs.get('1');
  assert.ok(d1 !== undefined);
  assert.ok(d1.text.startsWith(d1.title));
  assert.equal(smartDocumentText(d1), d1.text);
  assert.ok([...docs.values()].every((d) => !d.text.includes('\r')));
});

test('CACM: 64 queries with the stray empty ".I 0" skipped and counted; qids "01" match "1"', { skip: skipWithoutShared('cacm', 'query.text') }, async () => {
  const tally = new WarningTally();
  const queries = await readCacmQueries(CACM('query.text'), tally.add);
  assert.equal(tally.count('EMPTY_QUERY'), 1);
  assert.ok(!queries.has('0'));
  const ids = (await readFile(CACM('query.text'), 'utf8')).split('\n').filter((l) => l.startsWith('.I ')).map((l) => String(Number(l.slice(3))));
  assert.deepEqual([...queries.keys()], ids.filter((id) => id !== '0'));
  const docs = await readSmartDocs(CACM('cacm.all'));
  // Many CACM documents have no abstract: their text is the title alone.
  const noAbstract = [...docs.values()].find((d) => d.text === '');
  assert.ok(noAbstract !== undefined && smartDocumentText(noAbstract) === noAbstract.title);
});

test('SMART readers reject malformed records with the file and line', async () => {
  const s = await scratch();
  try {
    const before = await s.write('a', 'stray text\n.I 1\n.W\nx\n');
    await assert.rejects(readSmartDocs(before), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 1 && e.file === before);
    const fieldFirst = await s.write('b', '.W\nx\n');
    await assert.rejects(readSmartDocs(fieldFirst), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 1);
    const noId = await s.write('c', '.I 1\n.W\nx\n.I\n.W\ny\n');
    await assert.rejects(readSmartDocs(noId), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 4);
    const dup = await s.write('d', '.I 1\n.W\nx\n.I 001\n.W\ny\n');
    await assert.rejects(readSmartDocs(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 4);
  } finally {
    await s.remove();
  }
});
