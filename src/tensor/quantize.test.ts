import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { Matrix } from './matrix.js';
import { quantizeEmbeddings } from './quantize.js';

test('int8 ranges read off a single embedding are refused with a coded error instead of all −128', () => {
  const one = new Matrix(1, 4, Float32Array.from([0.1, -0.2, 0.3, 0.4]));
  for (const precision of ['int8', 'uint8'] as const) {
    assert.throws(
      () => quantizeEmbeddings(one, precision),
      (e) => isSemsearchError(e, 'QUANTIZATION_INVALID') && e.field === 'ranges' && /taken from 1 embedding are degenerate \(min = max in every dimension\)/.test(e.message),
    );
  }
  assert.throws(() => quantizeEmbeddings(one, 'int8', { calibrationEmbeddings: one }), (e) => isSemsearchError(e, 'QUANTIZATION_INVALID') && e.field === 'calibrationEmbeddings');
  // With ranges, or calibration that spans each dimension, one text quantizes as sentence-transformers does.
  const ranges = { min: Float32Array.from([-1, -1, -1, -1]), max: Float32Array.from([1, 1, 1, 1]) };
  assert.deepEqual(Array.from(quantizeEmbeddings(one, 'int8', { ranges }).data), [12, -27, 37, 50]);
  const cal = new Matrix(2, 4, Float32Array.from([-1, -1, -1, -1, 1, 1, 1, 1]));
  assert.deepEqual(Array.from(quantizeEmbeddings(one, 'int8', { calibrationEmbeddings: cal }).data), [12, -27, 37, 50]);
  // Binary needs no ranges.
  assert.equal(quantizeEmbeddings(one, 'ubinary').data[0], 0b10110000);
});
