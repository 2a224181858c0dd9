import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { formatTrecRun, readTrecRun, toRun, writeTrecRun } from './run.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const RUN = ['msmarco-passage-trec-dl-candidates', 'REP_LLAMA', 'trec_results_dl19.txt'];

test('readTrecRun keeps every line of a real run, per query in file order', { skip: skipWithoutShared(...RUN) }, async () => {
  const path = sharedFile(...RUN);
  const run = await readTrecRun(path);
  const raw = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => l.split(' '));
  const expected = new Map<string, { docids: string[]; scores: number[] }>();
  for (const f of raw) {
    const l = expected.get(f[0] as string) ?? { docids: [], scores: [] };
    l.docids.push(f[2] as string);
    l.scores.push(Number(f[4]));
    expected.set(f[0] as string, l);
  }
  assert.deepEqual([...run.keys()], [...expected.keys()]);
  for (const [qid, l] of expected) assert.deepEqual(run.get(qid), l);
});

test('readTrecRun rejects bad input with the file and line', async () => {
  const s = await scratch();
  try {
    const few = await s.write('few.run', 'q1 Q0 d1 1 2.5 tag\nq1 Q0 d2 2 2.0\n');
    await assert.rejects(readTrecRun(few), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.file === few && e.line === 2);
    const score = await s.write('score.run', 'q1 Q0 d1 1 high tag\n');
    await assert.rejects(readTrecRun(score), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 1 && e.field === 'score');
    const nan = await s.write('nan.run', 'q1 Q0 d1 1 NaN tag\n');
    await assert.rejects(readTrecRun(nan), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === 'score');
    const dup = await s.write('dup.run', 'q1 Q0 d1 1 3 t\nq2 Q0 d1 1 3 t\nq1 Q0 d1 2 2 t\n');
    await assert.rejects(readTrecRun(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 3);
    const unknown = await s.write('unknown.run', 'q1 Q0 d1 1 3 t\nq9 Q0 d1 1 3 t\n');
    await assert.rejects(
      readTrecRun(unknown, { queries: new Map([['q1', 'text']]) }),
      (e) => isSemsearchError(e, 'UNKNOWN_QUERY') && e.line === 2 && e.file === unknown,
    );
    const empty = await s.write('empty.run', '\n# only a comment\n');
    await assert.rejects(readTrecRun(empty), (e) => isSemsearchError(e, 'EMPTY_INPUT'));
  } finally {
    await s.remove();
  }
});

test('readTrecRun ignores fields after the tag, as trec_eval does', async () => {
  const s = await scratch();
  try {
    const p = await s.write('extra.run', 'q1 Q0 d1 1 -1.5e-3 tag extra stuff\n');
    assert.deepEqual((await readTrecRun(p)).get('q1'), { docids: ['d1'], scores: [-0.0015] });
  } finally {
    await s.remove();
  }
});

test('writeTrecRun writes ranks from 1 and scores that read back to the same doubles', async () => {
  const s = await scratch();
  try {
    const run = toRun({ b: { x: 0.1 + 0.2, y: 1 / 3 }, a: { z: -2e-300 } });
    const p = `${s.dir}/out.run`;
    await writeTrecRun(p, run, { tag: 'mine' });
    const text = await readFile(p, 'utf8');
    assert.equal(text, formatTrecRun(run, { tag: 'mine' }));
    assert.deepEqual(text.split('\n')[1]?.split(' '), ['b', 'Q0', 'y', '2', String(1 / 3), 'mine']);
    assert.deepEqual(await readTrecRun(p), run);
  } finally {
    await s.remove();
  }
});

test('writeTrecRun streams a large run and refuses ids a run file cannot hold', async () => {
  const s = await scratch();
  try {
    const big = new Map([['q', { docids: Array.from({ length: 20000 }, (_, i) => `doc${i}`), scores: Array.from({ length: 20000 }, (_, i) => -i) }]]);
    const p = `${s.dir}/big.run`;
    await writeTrecRun(p, big);
    assert.deepEqual(await readTrecRun(p), big);
    assert.throws(() => formatTrecRun(toRun({ q: { 'has space': 1 } })), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(writeTrecRun(`${s.dir}/no/such/dir/x.run`, big), (e) => isSemsearchError(e, 'FILE_WRITE_FAILED'));
  } finally {
    await s.remove();
  }
});
