import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, toFloat16Bits } from './float16.js';

test('float16 round trip: exact halves survive, others round to nearest even, extremes saturate', () => {
  for (const v of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 0.333251953125]) assert.equal(fromFloat16Bits(toFloat16Bits(v)), v);
  assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00); // a tie rounds to the even mantissa
  assert.equal(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN))));
  const xs = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
  const back = decodeFloat16(encodeFloat16(xs));
  for (let i = 0; i < xs.length; i++) assert.ok(Math.abs((back[i] as number) - (xs[i] as number)) <= 2 ** -11 * Math.abs(xs[i] as number) + 1e-7);
});
