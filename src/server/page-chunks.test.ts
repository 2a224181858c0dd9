// The search page over a chunked index (index --chunk), in the bundled headless Chromium: each hit is a document,
// labelled with its best window, whose text is shown and marked as that window; all of it as the HTTP API answers.
// Screenshots at 1280 and 390 px go to PAGE_SHOTS (default: <tmpdir>/page-shots), outside the repository.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { buildIndex } from '../store/build-index.js';
import { createServer, type SemsearchServer } from './server.js';
import { launchTestChromium } from './test-support/browser.js';
import { BERT, passages, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const SHOTS = process.env['PAGE_SHOTS'] ?? join(tmpdir(), 'page-shots');

type WireHit = { id: string; score: number; text: string; chunk: { number: number; start: number; end: number; score: number } };
type Shown = { id: string; score: string; label: string | null; window: boolean; text: string };

async function shown(page: Page): Promise<Shown[]> {
  return (await page.evaluate(`Array.from(document.querySelectorAll('#results .result'), (el) => ({
    id: el.querySelector('.id').textContent,
    score: el.querySelector('.score').textContent,
    label: el.querySelector('.chunk')?.textContent ?? null,
    window: el.querySelector('.text').classList.contains('window'),
    text: el.querySelector('.text').textContent,
  }))`)) as Shown[];
}

describe('the search page over a chunked index', { skip: SKIP_WITHOUT_SHARED }, () => {
  let dir: string;
  let server: SemsearchServer;
  let context: BrowserContext;
  let profile: string;
  const docs: { id: string; text: string }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-page-chunks-'));
    // Documents of 6 MS MARCO passages each, paragraphs apart: longer than the 32-token windows asked for.
    const ps = passages(60);
    for (let d = 0; d < 10; d++) docs.push({ id: `doc${d}`, text: ps.slice(d * 6, d * 6 + 6).map((p) => p.text).join('\n\n') });
    writeFileSync(join(dir, 'docs.jsonl'), docs.map((d) => JSON.stringify({ _id: d.id, title: '', text: d.text })).join('\n') + '\n');
    const index = join(dir, 'idx');
    await buildIndex({ corpus: join(dir, 'docs.jsonl'), out: index, model: BERT, chunk: { maxTokens: 32 } });
    server = await createServer({ index, threads: 1, log: () => undefined });
    profile = mkdtempSync(join(tmpdir(), 'semsearch-chromium-'));
    context = await launchTestChromium(profile, { width: 1280, height: 900 });
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('/info counts the documents and their windows; the page says so', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as { count: number; chunking: { maxTokens: number; overlap: number; windows: number; documents: number } };
    assert.equal(info.chunking.documents, docs.length);
    assert.equal(info.chunking.maxTokens, 32);
    assert.equal(info.chunking.windows, info.count);
    assert.ok(info.chunking.windows > docs.length);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-info="loaded"]');
    assert.match((await page.textContent('#index-info')) ?? '', new RegExp(`^${docs.length} documents \\(${info.chunking.windows} windows\\) · `));
    await page.close();
  });

  test('each hit is a document with its best window: label, marked text and score as the API gives them; screenshots', async () => {
    const query = (passages(60)[20] as { text: string }).text.split(/\s+/).slice(0, 6).join(' ');
    const r = await postJson(`${server.url}/search`, { query, k: 5 });
    assert.equal(r.status, 200, r.text);
    const hits = (r.json['results'] as { hits: WireHit[] }[])[0]?.hits as WireHit[];
    assert.equal(hits.length, 5);
    assert.equal(new Set(hits.map((h) => h.id)).size, 5, 'one hit per document');
    // The window text is a span of its document, where the chunk says.
    for (const h of hits) assert.equal(h.text, (docs.find((d) => d.id === h.id) as { text: string }).text.slice(h.chunk.start, h.chunk.end));
    assert.ok(hits.some((h) => h.chunk.number > 0), 'some best window is not the first: the check of the label below could fail');
    mkdirSync(SHOTS, { recursive: true });
    for (const width of [1280, 390]) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await page.goto(`${server.url}/?q=${encodeURIComponent(query)}&k=5`);
      await page.waitForSelector('body[data-state="done"]');
      assert.deepEqual(
        await shown(page),
        hits.map((h) => ({ id: `document ${h.id}`, score: h.score.toFixed(4), label: `best window ${h.chunk.number + 1}`, window: true, text: h.text })),
      );
      assert.ok((await page.evaluate('document.scrollingElement.scrollWidth')) as number <= width, `the page scrolls sideways at ${width} px`);
      const shot = join(SHOTS, `page-chunks-${width}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      await page.close();
    }
  });
});
