import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLines, splitFields, isSkippable } from './line-reader.js';
import { isSemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';

async function collect(path: string): Promise<{ text: string; line: number }[]> {
  const out: { text: string; line: number }[] = [];
  for await (const l of readLines(path)) out.push(l);
  return out;
}

test('readLines drops CRLF and a BOM, keeps a lone \\r inside a line, and yields a last line without newline', async () => {
  const s = await scratch();
  try {
    const p = await s.write('a.txt', '\uFEFFone\r\ntwo\rstill two\n\nlast');
    assert.deepEqual(await collect(p), [
      { text: 'one', line: 1 },
      { text: 'two\rstill two', line: 2 },
      { text: '', line: 3 },
      { text: 'last', line: 4 },
    ]);
    assert.deepEqual(await collect(await s.write('empty.txt', '')), []);
  } finally {
    await s.remove();
  }
});

test('readLines keeps lines whole and numbered across read chunks', async () => {
  const s = await scratch();
  try {
    // ~3 MB with lines of varying length, so chunk borders (1 MiB) fall inside lines and inside "\r\n".
    const lines: string[] = [];
    for (let i = 0; i < 60000; i++) lines.push(`${i}\t${'x'.repeat(i % 97)}é`);
    const p = await s.write('big.txt', lines.join('\r\n') + '\r\n');
    const got = await collect(p);
    assert.equal(got.length, lines.length);
    for (let i = 0; i < lines.length; i += 997) assert.deepEqual(got[i], { text: lines[i], line: i + 1 });
    assert.deepEqual(got.at(-1), { text: lines.at(-1), line: lines.length });
  } finally {
    await s.remove();
  }
});

test('readLines: a missing file or a folder is FILE_NOT_FOUND naming the path', async () => {
  const s = await scratch();
  try {
    await assert.rejects(collect(`${s.dir}/nope.txt`), (e) => isSemsearchError(e, 'FILE_NOT_FOUND') && e.file === `${s.dir}/nope.txt`);
    await assert.rejects(collect(s.dir), (e) => isSemsearchError(e, 'FILE_NOT_FOUND'));
  } finally {
    await s.remove();
  }
});

test('splitFields splits on any run of blanks; isSkippable spots blank and comment lines', () => {
  assert.deepEqual(splitFields('  01 1410  0\t0 \r'), ['01', '1410', '0', '0']);
  assert.deepEqual(splitFields('   '), []);
  assert.ok(isSkippable('   '));
  assert.ok(isSkippable('  # comment'));
  assert.ok(!isSkippable('1 Q0 d 1 2 t'));
});
