import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints } from './codepoint-order.js';

test('compareCodePoints orders like UTF-8 bytes (strcmp), not like UTF-16 code units', () => {
  const words = ['10', '9', '1', '', 'a', 'B', 'é', '\uFFFD', '\u{1F600}', '\uE000x', 'ab', 'a\u0000'];
  const byBytes = [...words].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  assert.deepEqual([...words].sort(compareCodePoints), byBytes);
  // The case where they differ: U+FFFD sorts before an emoji by code point, after it by code unit.
  assert.ok(compareCodePoints('\uFFFD', '\u{1F600}') < 0);
  assert.ok('\uFFFD' > '\u{1F600}');
  assert.equal(compareCodePoints('same', 'same'), 0);
  assert.ok(compareCodePoints('9', '10') > 0);
});
