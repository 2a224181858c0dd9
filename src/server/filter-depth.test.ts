import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFromDir } from '../encoder/load-model.js';
import { cleanBuild, passageMeta, passageText, type Content } from '../store/test-support/living.js';
import { createServer, type SemsearchServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';

/** `{"not": … {"year": 2000} …}` nested `depth` deep, as JSON text (built without recursion). */
function deepNot(depth: number): string {
  return '{"not":'.repeat(depth) + '{"year":2000}' + '}'.repeat(depth);
}

describe('semsearch serve: filter depth and size are checked on the HTTP thread', () => {
  let tmp: string;
  let server: SemsearchServer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-filter-depth-'));
    const model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>();
    for (let i = 0; i < 12; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
    const dir = await cleanBuild(tmp, 'f', content, model, BERT);
    await model.dispose();
    server = await createServer({ index: dir, workers: 1, log: () => undefined });
  });
  after(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const depth of [5_000, 100_000]) {
    test(`a filter nested ${depth} deep is a 400 FILTER_INVALID naming the field and the limit`, async () => {
      const body = `{"query": "passage", "filter": ${deepNot(depth)}}`;
      const r = await postJson(`${server.url}/search`, body);
      assert.equal(r.status, 400, r.text.slice(0, 300));
      const error = r.json.error as { code: string; message: string; field?: string };
      assert.equal(error.code, 'FILTER_INVALID');
      assert.equal(error.field, 'filter');
      assert.match(error.message, /at most \d+/);
    });
  }

  test('a deep value inside a condition and an oversized filter are refused the same way; the server still answers', async () => {
    const deepValue = `{"query": "passage", "filter": {"id": ${'['.repeat(50_000)}${']'.repeat(50_000)}}}`;
    const v = await postJson(`${server.url}/search`, deepValue);
    assert.equal(v.status, 400, v.text.slice(0, 300));
    assert.equal((v.json.error as { code: string }).code, 'FILTER_INVALID');
    const wide = { query: 'passage', filter: { or: Array.from({ length: 60_000 }, (_, i) => ({ year: i })) } };
    const w = await postJson(`${server.url}/search`, wide);
    assert.equal(w.status, 400, w.text.slice(0, 300));
    assert.equal((w.json.error as { code: string; field?: string }).code, 'FILTER_INVALID');
    const ok = await postJson(`${server.url}/search`, { query: 'passage', k: 3, filter: { not: { not: { year: { gte: 2000 } } } } });
    assert.equal(ok.status, 200, ok.text);
  });
});
