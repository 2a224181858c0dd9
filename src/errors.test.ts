import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SemsearchError, isSemsearchError, ERROR_CODES } from './errors.js';

test('SemsearchError carries a code from the table and the location of the problem', () => {
  const e = new SemsearchError('CONFIG_INVALID', 'bad json', { file: 'a/config.json', field: 'model_type' });
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.ok(e.code in ERROR_CODES);
  assert.equal(e.file, 'a/config.json');
  assert.deepEqual(e.toJSON(), { code: 'CONFIG_INVALID', message: 'bad json', file: 'a/config.json', field: 'model_type' });
  assert.ok(isSemsearchError(e, 'CONFIG_INVALID'));
  assert.ok(!isSemsearchError(e, 'EMPTY_INPUT'));
  assert.ok(!isSemsearchError(new Error('x')));
});
