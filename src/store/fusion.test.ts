import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ftsQuery } from './doc-store.js';
import { fuse, RRF_K } from './fusion.js';

test('reciprocal rank fusion: 1/(60 + rank) summed over the rankings a passage is in, ties by row', () => {
  const vector = [{ index: 7, score: 0.9 }, { index: 3, score: 0.8 }, { index: 5, score: 0.1 }];
  const keyword = [{ index: 3, score: 12 }, { index: 9, score: 11 }, { index: 7, score: 2 }];
  const f = fuse(vector, keyword);
  const r = (rank: number): number => 1 / (RRF_K + rank);
  assert.deepEqual(
    f.map((h) => h.index),
    [3, 7, 9, 5],
  );
  assert.equal(f[0]?.score, r(2) + r(1));
  assert.equal(f[1]?.score, r(1) + r(3));
  // 9 (keyword rank 2) and 5 (vector rank 3): 1/62 > 1/63.
  assert.equal(f[2]?.score, r(2));
  assert.deepEqual(fuse([{ index: 4, score: 1 }], [{ index: 2, score: 1 }]).map((h) => h.index), [2, 4], 'equal fused scores: lower row first');
});

test('weighted fusion: min-max normalised scores, vectorWeight on the vector side; bad options are coded errors', () => {
  const vector = [{ index: 1, score: 0.9 }, { index: 2, score: 0.5 }];
  const keyword = [{ index: 2, score: 20 }, { index: 3, score: 10 }];
  const f = fuse(vector, keyword, { fusion: 'weighted', vectorWeight: 0.25 });
  assert.deepEqual(f, [
    { index: 2, score: 0.75 },
    { index: 1, score: 0.25 },
    { index: 3, score: 0 },
  ]);
  assert.deepEqual(fuse(vector, keyword, { fusion: 'weighted', vectorWeight: 1 }).map((h) => h.index), [1, 2, 3]);
  for (const [o, field] of [
    [{ fusion: 'max' }, 'fusion'],
    [{ vectorWeight: 1.5 }, 'vectorWeight'],
  ] as const) {
    assert.throws(() => fuse(vector, keyword, o as never), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === field);
  }
});

test('keyword queries become quoted words joined by OR: no word is read as an FTS5 operator', () => {
  assert.equal(ftsQuery('How big is London?'), '"how" OR "big" OR "is" OR "london"');
  assert.equal(ftsQuery('NOT london AND "paris" OR near(x)'), '"not" OR "london" OR "and" OR "paris" OR "or" OR "near" OR "x"');
  assert.equal(ftsQuery('  ?! '), '');
  assert.equal(ftsQuery('café Zürich 2011 2011'), '"café" OR "zürich" OR "2011"');
});
