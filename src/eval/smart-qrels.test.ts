import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readCacmQueries, readCranfieldQueries, readSmartDocs } from '../corpus/smart.js';
import { WarningTally } from '../corpus/warnings.js';
import { isSemsearchError } from '../errors.js';
import { readJudgments } from './judgments.js';
import { readCacmQrels, readCranfieldQrels, readSmartQrels } from './smart-qrels.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const CRAN = (f: string): string => sharedFile('cranfield', f);
const CACM = (f: string): string => sharedFile('cacm', f);

test('Cranfield: qrels become grades where higher is better; every judged query and doc exists', { skip: skipWithoutShared('cranfield', 'cranqrel') }, async () => {
  const qrels = await readCranfieldQrels(CRAN('cranqrel'));
  const raw = await readCranfieldQrels(CRAN('cranqrel'), { raw: true });
  const queries = await readCranfieldQueries(CRAN('cran.qry'));
  const docs = await readSmartDocs(CRAN('cran.all.1400'));
  assert.equal(qrels.size, queries.size);
  for (const [qid, judged] of raw) {
    assert.ok(queries.has(qid), `query ${qid}`);
    for (const [docid, code] of judged) {
      assert.ok(docs.has(docid), `doc ${docid}`);
      assert.equal(qrels.get(qid)?.get(docid), code === -1 ? 0 : 5 - code);
    }
  }
  assert.deepEqual(new Set([...raw.values()].flatMap((m) => [...m.values()])), new Set([-1, 1, 2, 3, 4]));
});

test('CACM: every judged query and document exists, every listed pair is relevant', { skip: skipWithoutShared('cacm', 'qrels.text') }, async () => {
  const queries = await readCacmQueries(CACM('query.text'));
  const qrels = await readCacmQrels(CACM('qrels.text'));
  const docs = await readSmartDocs(CACM('cacm.all'));
  for (const [qid, judged] of qrels) {
    assert.ok(queries.has(qid), `query ${qid}`);
    for (const [docid, rel] of judged) {
      assert.ok(docs.has(docid), `doc ${docid}`);
      assert.equal(rel, 1);
    }
  }
  const lines = (await readFile(CACM('qrels.text'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  assert.equal([...qrels.values()].reduce((n, m) => n + m.size, 0), lines.length);
});

test('SMART qrels readers reject malformed lines with the file and line', async () => {
  const s = await scratch();
  try {
    const qrels = await s.write('e', '1 184 2\n1 29\n');
    await assert.rejects(readCranfieldQrels(qrels), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 2);
    const cacm = await s.write('f', '01 1410 0 0\nx 12 0 0\n');
    await assert.rejects(readCacmQrels(cacm), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 2);
    const notANumber = await s.write('h', '1 28 0 0.000000\n1 29 0 abc\n');
    await assert.rejects(readSmartQrels(notANumber), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 2 && /"abc"/.test(e.message));
    const odd = await s.write('g', '1 5 7\n1 6 2\n');
    const tally = new WarningTally();
    const q = await readCranfieldQrels(odd, { onWarning: tally.add });
    assert.equal(q.get('1')?.get('5'), 0);
    assert.equal(tally.count('UNDEFINED_RELEVANCE_CODE'), 1);
  } finally {
    await s.remove();
  }
});

test('SMART-style qrels with a float fourth column (CISI, MED: "1 28 0 0.000000") are recognised, not refused', async () => {
  const s = await scratch();
  try {
    const path = await s.write('CISI.REL', '     1     28 0 0.000000\n     1     35 0 0.000000\n    02    412 0 0.000000\n');
    const qrels = await readJudgments(path);
    assert.deepEqual(
      [...qrels].map(([q, m]) => [q, [...m]]),
      [
        ['1', [['28', 1], ['35', 1]]],
        ['2', [['412', 1]]],
      ],
    );
    // Named explicitly, under the new name and the old one.
    assert.deepEqual(await readJudgments(path, 'smart'), qrels);
    assert.deepEqual(await readJudgments(path, 'cacm'), qrels);
    // A TREC file keeps being read as TREC, and a float grade in one is still refused there.
    const trec = await s.write('run.qrels', '1 0 28 1\n1 0 35 0\n');
    assert.equal((await readJudgments(trec)).get('1')?.get('28'), 1);
    await assert.rejects(readJudgments(path, 'trec'), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 1);
  } finally {
    await s.remove();
  }
});
