// Hard-negative mining against sentence-transformers' mine_hard_negatives on the same random models and texts
// (tools/reference/make_mine_fixtures.py): the same rows, in the same order, with scores within float rounding.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCrossEncoderFromDir, type CrossEncoder } from '../encoder/cross-encoder.js';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { FIXTURES, materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { isSemsearchError } from '../errors.js';
import { mineHardNegatives, type MineOptions } from './mine.js';
import { CRANFIELD, cranfieldPairs } from './test-support/cranfield-pairs.js';
import { skipWithoutShared } from '../test-support/files.js';

interface Case {
  options: Record<string, unknown>;
  columns: string[];
  rows: Record<string, unknown>[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/mine.json', import.meta.url), 'utf8')) as {
  columns: [string, string];
  anchors: string[];
  positives: string[];
  corpus: string[];
  cases: Record<string, Case>;
  cranfield: { anchorIds: string[]; positiveIds: string[]; corpusIds: string[]; cases: Record<string, Case> };
};

/** Python's keyword arguments, in the library's names. */
function optionsOf(c: Case, ce: CrossEncoder): MineOptions {
  const o = c.options;
  const num = (k: string): number | undefined => (o[k] as number | undefined);
  return {
    anchorColumn: fixture.columns[0],
    positiveColumn: fixture.columns[1],
    batchSize: 8,
    ...(o['cross'] === true ? { crossEncoder: ce } : {}),
    ...(o['corpus'] === true ? { corpus: fixture.corpus } : {}),
    ...(o['output_format'] !== undefined ? { outputFormat: o['output_format'] as MineOptions['outputFormat'] } : {}),
    ...(o['output_scores'] === true ? { outputScores: true } : {}),
    ...(o['include_positives'] === true ? { includePositives: true } : {}),
    ...(num('range_min') !== undefined ? { rangeMin: num('range_min') } : {}),
    ...(num('range_max') !== undefined ? { rangeMax: num('range_max') } : {}),
    ...(num('num_negatives') !== undefined ? { numNegatives: num('num_negatives') } : {}),
    ...(num('absolute_margin') !== undefined ? { absoluteMargin: num('absolute_margin') } : {}),
    ...(num('relative_margin') !== undefined ? { relativeMargin: num('relative_margin') } : {}),
    ...(num('max_score') !== undefined ? { maxScore: num('max_score') } : {}),
    ...(num('min_score') !== undefined ? { minScore: num('min_score') } : {}),
  };
}

/** Texts equal; numbers (scores) within 2e-6; labels exact. */
function assertRow(got: Record<string, unknown>, want: Record<string, unknown>, where: string): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), `${where}: columns`);
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    if (typeof w === 'number' && !Number.isInteger(w)) assert.ok(Math.abs((g as number) - w) < 2e-6, `${where}.${k}: ${String(g)} vs ${w}`);
    else if (Array.isArray(w) && w.some((x) => typeof x === 'number' && !Number.isInteger(x))) {
      assert.equal((g as number[]).length, w.length, `${where}.${k}`);
      w.forEach((x, i) => assert.ok(Math.abs(((g as number[])[i] as number) - (x as number)) < 2e-6, `${where}.${k}[${i}]: ${String((g as number[])[i])} vs ${String(x)}`));
    } else assert.deepEqual(g, w, `${where}.${k}`);
  }
}

describe('mineHardNegatives: parity with sentence-transformers mine_hard_negatives (sampling "top")', () => {
  let model: SentenceTransformer;
  let ce: CrossEncoder;
  let ceDir: { dir: string; cleanup: () => void };
  before(async () => {
    model = await loadModelFromDir(join(FIXTURES, 'models', 'bert'), { workers: 1 });
    ceDir = materializeCrossEncoder('bert-1');
    ce = await loadCrossEncoderFromDir(ceDir.dir, { workers: 1 });
  });
  after(async () => {
    await model?.dispose();
    await ce?.dispose();
    ceDir?.cleanup();
  });

  for (const [name, c] of Object.entries(fixture.cases)) {
    test(`${name}: ${JSON.stringify(c.options)}`, async () => {
      const r = await mineHardNegatives(model, fixture.anchors, fixture.positives, optionsOf(c, ce));
      assert.deepEqual(r.columns, c.columns);
      assert.equal(r.rows.length, c.rows.length, 'row count');
      r.rows.forEach((row, i) => assertRow(row, c.rows[i] as Record<string, unknown>, `row ${i}`));
    });
  }

  test('Cranfield (real text from ../shared): the rows of mine_hard_negatives on the same judged pairs and documents', { skip: skipWithoutShared(...CRANFIELD) }, async () => {
    const d = await cranfieldPairs();
    const c = fixture.cranfield;
    assert.deepEqual([d.anchorIds, d.positiveIds, d.corpusIds], [c.anchorIds, c.positiveIds, c.corpusIds], 'the same pairs and documents as the fixture');
    const text = (id: string): string => (id.startsWith('q:') ? d.texts.queries[id.slice(2)] : d.texts.docs[id.slice(2)]) as string;
    const asText = (v: unknown): unknown => (Array.isArray(v) ? v.map(asText) : typeof v === 'string' ? text(v) : v);
    const anchors = d.anchorIds.map((q) => d.texts.queries[q] as string);
    const positives = d.positiveIds.map((p) => d.texts.docs[p] as string);
    const corpus = d.corpusIds.map((p) => d.texts.docs[p] as string);
    for (const [name, want] of Object.entries(c.cases)) {
      const r = await mineHardNegatives(model, anchors, positives, { ...optionsOf(want, ce), corpus, batchSize: 16 });
      assert.deepEqual(r.columns, want.columns, name);
      assert.equal(r.rows.length, want.rows.length, `${name}: row count`);
      assert.ok(r.rows.length > 0, `${name}: some rows`);
      r.rows.forEach((row, i) => {
        const expected = Object.fromEntries(Object.entries(want.rows[i] as Record<string, unknown>).map(([k, v]) => [k, ['scores', 'score', 'label', 'labels'].includes(k) ? v : asText(v)]));
        assertRow(row, expected, `${name} row ${i}`);
      });
    }
  });

  test('random sampling: seeded, negatives drawn from the allowed candidates, best first; bad options refused', async () => {
    const a = await mineHardNegatives(model, fixture.anchors, fixture.positives, { samplingStrategy: 'random', seed: 7, outputFormat: 'n-tuple', outputScores: true, rangeMax: 15, numNegatives: 3 });
    const b = await mineHardNegatives(model, fixture.anchors, fixture.positives, { samplingStrategy: 'random', seed: 7, outputFormat: 'n-tuple', outputScores: true, rangeMax: 15, numNegatives: 3 });
    const top = await mineHardNegatives(model, fixture.anchors, fixture.positives, { outputFormat: 'n-tuple', outputScores: true, rangeMax: 15, numNegatives: 3 });
    assert.deepEqual(a.rows, b.rows, 'the same seed, the same draw');
    assert.notDeepEqual(a.rows, top.rows, 'a draw, not the top');
    for (const row of a.rows) {
      const s = row['scores'] as number[];
      assert.ok(s.slice(1).every((x, i, xs) => i === 0 || (xs[i - 1] as number) >= x), 'negatives best first');
      assert.ok(![row['negative_1'], row['negative_2'], row['negative_3']].includes(row['positive']), 'no positive among the negatives');
    }
    const bad: [MineOptions, string][] = [
      [{ numNegatives: 0 }, 'numNegatives'],
      [{ rangeMin: 5, rangeMax: 5 }, 'rangeMax'],
      [{ rangeMin: 2, rangeMax: 4, numNegatives: 3 }, 'numNegatives'],
      [{ outputFormat: 'triplets' as never }, 'outputFormat'],
      [{ samplingStrategy: 'best' as never }, 'samplingStrategy'],
    ];
    for (const [o, field] of bad) {
      await assert.rejects(mineHardNegatives(model, fixture.anchors, fixture.positives, o), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === field, JSON.stringify(o));
    }
    await assert.rejects(mineHardNegatives(model, [], []), (e) => isSemsearchError(e, 'EMPTY_INPUT'));
    await assert.rejects(mineHardNegatives(model, ['a'], []), (e) => isSemsearchError(e, 'SHAPE_MISMATCH'));
  });
});
