import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { readManifest } from '../store/manifest.js';
import { openIndex } from '../store/search-index.js';
import { cleanBuild, passageMeta, passageText, type Content } from '../store/test-support/living.js';
import { IndexWriter } from '../store/write-index.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';
import { validate } from './validate.js';

const LIMITS = { ...DEFAULT_LIMITS, maxTexts: 8 };
const schemas = buildSchemas(LIMITS);

interface Hit {
  id: string;
  score: number;
  text: string;
  metadata?: Record<string, unknown>;
}

async function del(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'DELETE' });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function hitsOf(json: Record<string, unknown>): Hit[][] {
  return (json.results as { hits: Hit[] }[]).map((r) => r.hits);
}

describe('semsearch serve: writes over HTTP', () => {
  let tmp: string;
  let dir: string;
  let model: SentenceTransformer;
  let server: SemsearchServer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-writes-'));
    model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>();
    for (let i = 0; i < 60; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
    dir = await cleanBuild(tmp, 'serve', content, model, BERT);
    // Two workers, each with its own copy of the index: a write through one is seen by the other.
    server = await createServer({ index: dir, workers: 2, limits: LIMITS, log: () => undefined });
  });
  after(async () => {
    await server?.close();
    await model?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('POST /documents upserts, DELETE /documents/{id} deletes; every worker answers with the committed state, as the library does', async () => {
    const docs = [
      { id: 'new one', text: 'a passage about the harbour castle and the ocean island', metadata: { year: 2030, lang: 'en', draft: false } },
      { id: 'p1', text: 'the first passage rewritten about coffee and bread', metadata: { year: 1991 } },
      { id: 'a/b', text: passageText(700) },
    ];
    const w = await postJson(`${server.url}/documents`, { documents: docs });
    assert.equal(w.status, 200, w.text);
    assert.equal(validate(w.json, schemas.writeResponse), undefined);
    assert.deepEqual({ ...w.json, took_ms: 0 }, { generation: 1, added: 2, replaced: 1, deleted: 0, live: 62, took_ms: 0 });

    // Concurrent searches reach both workers; each sees the write.
    const queries = ['a passage about the harbour castle and the ocean island', 'the first passage rewritten about coffee and bread'];
    const answers = await Promise.all(Array.from({ length: 6 }, () => postJson(`${server.url}/search`, { queries, k: 5 })));
    const library = await openIndex(dir, { model });
    const want = await library.search(queries, 5);
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      assert.equal(validate(a.json, schemas.searchResponse), undefined);
      const got = hitsOf(a.json);
      assert.deepEqual(got.map((h) => h.map((x) => x.id)), want.map((h) => h.map((x) => x.id)));
      assert.equal(got[0]?.[0]?.id, 'new one');
      assert.deepEqual(got[0]?.[0]?.metadata, { year: 2030, lang: 'en', draft: false });
      assert.equal(got[1]?.[0]?.text, 'the first passage rewritten about coffee and bread');
    }

    const filtered = await postJson(`${server.url}/search`, { query: 'passage', k: 50, filter: { and: [{ year: { gte: 2000 } }, { not: { lang: 'de' } }] } });
    assert.equal(filtered.status, 200, filtered.text);
    const fh = hitsOf(filtered.json)[0] ?? [];
    const fw = (await library.search('passage', 50, { filter: { and: [{ year: { gte: 2000 } }, { not: { lang: 'de' } }] } }))[0] ?? [];
    assert.deepEqual(fh.map((h) => h.id), fw.map((h) => h.id));
    assert.ok(fh.length > 0 && fh.every((h) => (h.metadata?.year as number) >= 2000 && h.metadata?.lang !== 'de'));

    const d = await del(`${server.url}/documents/${encodeURIComponent('a/b')}`);
    assert.equal(d.status, 200, JSON.stringify(d.json));
    assert.deepEqual({ ...d.json, took_ms: 0 }, { generation: 2, added: 0, replaced: 0, deleted: 1, live: 61, took_ms: 0 });
    const after = await Promise.all(Array.from({ length: 4 }, () => postJson(`${server.url}/search`, { query: passageText(700), k: 61 })));
    for (const a of after) assert.ok(!hitsOf(a.json)[0]?.some((h) => h.id === 'a/b'));
    const again = await del(`${server.url}/documents/${encodeURIComponent('a/b')}`);
    assert.equal(again.status, 404);
    assert.equal((again.json.error as { code: string }).code, 'UNKNOWN_DOCUMENT');
    await library.close();
  });

  test('a write by another process (the CLI, a script) is seen by the server without a restart', async () => {
    const writer = await IndexWriter.open(dir, { model });
    await writer.upsert([{ id: 'outside', text: 'a passage written by another process about winter snow' }]);
    await writer.close();
    const r = await postJson(`${server.url}/search`, { query: 'a passage written by another process about winter snow', k: 1 });
    assert.equal(hitsOf(r.json)[0]?.[0]?.id, 'outside');
  });

  test('bad writes and filters are 4xx with a code, and change nothing', async () => {
    const before = await postJson(`${server.url}/search`, { query: 'passage', k: 50 });
    const cases: [unknown, number, string, string?][] = [
      [{ documents: [{ id: 'x', text: 'a' }, { id: 'x', text: 'b' }] }, 400, 'DUPLICATE_ENTRY', 'documents[1].id'],
      [{ documents: [{ id: 'y', text: 'a', metadata: { year: 'soon' } }] }, 400, 'METADATA_INVALID', 'year'],
      [{ documents: [{ id: 'y', text: 'a', metadata: { year: { n: 1 } } }] }, 400, 'METADATA_INVALID', 'year'],
      [{ documents: [] }, 400, 'EMPTY_INPUT', 'documents'],
      [{ documents: Array.from({ length: 9 }, (_, i) => ({ id: `z${i}`, text: 'a' })) }, 400, 'LIMIT_EXCEEDED', 'documents'],
      [{ documents: [{ id: 'y' }] }, 400, 'INVALID_ARGUMENT', 'documents[0].text'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await postJson(`${server.url}/documents`, body);
      assert.equal(r.status, status, r.text);
      assert.equal((r.json.error as { code: string }).code, code, r.text);
      if (field !== undefined) assert.equal((r.json.error as { field?: string }).field, field, r.text);
    }
    const bad = await postJson(`${server.url}/search`, { query: 'x', filter: { colour: 'red' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.error, { code: 'FILTER_INVALID', message: (bad.json.error as { message: string }).message, field: 'filter.colour' });
    const del2 = await fetch(`${server.url}/documents`, { method: 'DELETE' });
    assert.equal(del2.status, 405);
    const after = await postJson(`${server.url}/search`, { query: 'passage', k: 50 });
    assert.deepEqual(hitsOf(after.json), hitsOf(before.json));
  });

  test('ids and texts are stored as sent or refused (issue 28): a lone surrogate is 400 INVALID_ENCODING naming the field; a body or path that is not UTF-8 is refused', async () => {
    const generation = readManifest(dir).generation;
    // JSON.stringify writes a lone surrogate as the escape "\ud800", which JSON.parse on the server turns back into one.
    const id = await postJson(`${server.url}/documents`, { documents: [{ id: 'fine', text: 'a passage' }, { id: 'bad\ud800', text: 'a passage' }] });
    assert.equal(id.status, 400, id.text);
    assert.deepEqual((id.json.error as { code: string; field: string }).code, 'INVALID_ENCODING');
    assert.equal((id.json.error as { field: string }).field, 'documents[1].id');
    const text = await postJson(`${server.url}/documents`, { documents: [{ id: 'fine', text: 'half an emoji \ud83d' }] });
    assert.equal(text.status, 400, text.text);
    assert.equal((text.json.error as { field: string }).field, 'documents[0].text');
    // Bytes that are not UTF-8 were decoded to U+FFFD and stored changed; now the body is refused.
    const raw = await fetch(`${server.url}/documents`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"documents": [{"id": "caf'), Buffer.from([0xe9]), Buffer.from('", "text": "x"}]}')]),
    });
    assert.equal(raw.status, 400);
    assert.match(JSON.stringify(await raw.json()), /INVALID_JSON.*not valid UTF-8/);
    // A DELETE path whose escapes are not UTF-8 (a lone surrogate, %ED%A0%80) names the id, rather than "no endpoint".
    const d = await del(`${server.url}/documents/p%ED%A0%80`);
    assert.equal(d.status, 400);
    assert.deepEqual(d.json.error, { code: 'INVALID_ENCODING', message: 'the id in /documents/p%ED%A0%80 is not percent-encoded UTF-8: ids are well-formed Unicode, sent as UTF-8 bytes', field: 'id' });
    assert.equal(readManifest(dir).generation, generation);
  });

  test('a read-only server serves no write endpoints', async () => {
    const ro = await createServer({ index: dir, readOnly: true, log: () => undefined });
    try {
      const r = await postJson(`${ro.url}/documents`, { documents: [{ id: 'q', text: 'x' }] });
      assert.equal(r.status, 404);
      assert.equal((await fetch(`${ro.url}/documents/p2`, { method: 'DELETE' })).status, 404);
    } finally {
      await ro.close();
    }
  });
});
