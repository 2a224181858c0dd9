import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** `{"not": … {"year": 2000} …}` nested `depth` deep, as JSON text (built without recursion). */
function deepNot(depth: number): string {
  return '{"not":'.repeat(depth) + '{"id":"p1"}' + '}'.repeat(depth);
}

describe('semsearch search --where: depth and size are checked when the option is parsed', () => {
  let dir: string;
  let index: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-where-depth-'));
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, 'p1\ta passage about london\np2\ta passage about rivers\n');
    index = join(dir, 'idx');
    const built = await runCaptured(['index', corpus, '-m', BERT, '-o', index]);
    assert.equal(built.code, 0, built.err);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a filter nested 5,000 deep: exit 1 with FILTER_INVALID naming --where and the limit, in a real process (was a segfault, exit 139)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'search', index, 'london', '--json', '--where', deepNot(5_000)], { encoding: 'utf8' });
    assert.equal(r.status, 1, `signal ${r.signal}, stderr ${r.stderr.slice(0, 300)}`);
    const error = (JSON.parse(r.stderr) as { error: { code: string; field: string; message: string } }).error;
    assert.equal(error.code, 'FILTER_INVALID');
    assert.equal(error.field, '--where');
    assert.match(error.message, /^--where: the filter's JSON nests more than 67 levels; filters nest and\/or\/not at most 32 deep$/);
  });

  test('a filter nested 100,000 deep (longer than one argument may be in execve, so in process) and a deep value are refused the same way', async () => {
    const deep = await runCaptured(['search', index, 'london', '--where', deepNot(100_000)]);
    assert.equal(deep.code, 1);
    assert.match(deep.err, /^semsearch search: FILTER_INVALID: --where: the filter's JSON nests more than 67 levels/);
    const value = await runCaptured(['search', index, 'london', '--where', `{"id": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`]);
    assert.match(value.err, /FILTER_INVALID: --where: the filter's JSON nests more than 67 levels/);
    const wide = await runCaptured(['search', index, 'london', '--where', JSON.stringify({ or: Array.from({ length: 60_000 }, (_, i) => ({ id: `p${i}` })) })]);
    assert.match(wide.err, /FILTER_INVALID: --where: a filter holds at most 50000 JSON values/);
    // Checked before the index is opened: a folder that is no index still gets the filter's error.
    const first = await runCaptured(['search', join(dir, 'nope'), 'london', '--where', deepNot(100)]);
    assert.match(first.err, /FILTER_INVALID: --where/);
    // A filter within the bounds still runs.
    const ok = await runCaptured(['search', index, 'london', '--json', '--where', '{"not": {"not": {"id": "p1"}}}']);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual((JSON.parse(ok.out) as { hits: { id: string }[] }).hits.map((h) => h.id), ['p1']);
  });
});
