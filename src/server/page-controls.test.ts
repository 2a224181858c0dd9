// The search page's controls, in the bundled headless Chromium: mode, metadata filters, the re-rank toggle, metadata
// on hits and the placeholder, each held to what the HTTP API answers for the same request. Screenshots at 1280 and
// 390 px go to PAGE_SHOTS (default: <tmpdir>/page-shots), outside the repository, to be looked at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { buildIndex } from '../store/build-index.js';
import { openIndex } from '../store/search-index.js';
import { createServer, type SemsearchServer } from './server.js';
import { launchTestChromium } from './test-support/browser.js';
import { BERT, passages, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const SHOTS = process.env['PAGE_SHOTS'] ?? join(tmpdir(), 'page-shots');
const TOPICS = ['health', 'science', 'travel', 'history'];
const N = 120;

type WireHit = { id: string; score: number; retrieval_score?: number; text: string; metadata?: Record<string, string | number | boolean> };
type ShownHit = { id: string; score: string; retrieval: string | null; text: string; fields: [string, string][] };

/** Metadata of the i-th passage: a string, a number and a boolean field (one with a space in its name). */
function metadataOf(i: number): { topic: string; year: number; 'peer reviewed': boolean } {
  return { topic: TOPICS[i % TOPICS.length] as string, year: 2000 + (i % 20), 'peer reviewed': i % 3 === 0 };
}

/** The hits on screen, as the page shows them. */
async function shownHits(page: Page): Promise<ShownHit[]> {
  // Page code is given as strings: this package type-checks without the DOM library.
  return (await page.evaluate(`Array.from(document.querySelectorAll('#results .result'), (el) => ({
    id: el.querySelector('.id').textContent,
    score: el.querySelector('.score').textContent,
    retrieval: el.querySelector('.retrieval')?.textContent ?? null,
    text: el.querySelector('.text').textContent,
    fields: Array.from(el.querySelectorAll('.fields li'), (li) => [li.querySelector('.name').textContent, li.querySelector('.value').textContent]),
  }))`)) as ShownHit[];
}

/** The API's hits as the page would show them. */
function asShown(hits: WireHit[]): ShownHit[] {
  return hits.map((h) => ({
    id: `passage ${h.id}`,
    score: h.score.toFixed(4),
    retrieval: h.retrieval_score !== undefined ? `retrieval ${h.retrieval_score.toFixed(4)}` : null,
    text: h.text,
    fields: Object.entries(h.metadata ?? {}).map(([k, v]) => [k, String(v)]),
  }));
}

async function apiHits(url: string, request: Record<string, unknown>): Promise<WireHit[]> {
  const r = await postJson(`${url}/search`, request);
  assert.equal(r.status, 200, r.text);
  return (r.json['results'] as { hits: WireHit[] }[])[0]?.hits as WireHit[];
}

/** Submit the form (Enter in the query box) and return the /search body the page posted, once its hits are shown. */
async function submit(page: Page): Promise<Record<string, unknown>> {
  const [req] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/search') && r.method() === 'POST'), page.press('#query', 'Enter')]);
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]');
  assert.equal(await page.getAttribute('body', 'data-state'), 'done', (await page.textContent('#status')) ?? '');
  return req.postDataJSON() as Record<string, unknown>;
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('body[data-info="loaded"]');
}

/** Every visible control lies inside the viewport's width, and the page does not scroll sideways. */
async function assertFits(page: Page, width: number): Promise<void> {
  const selectors = ['#query', '#mode', '#k', '#go', '#filters summary', '#results .result .fields'];
  for (const sel of selectors) {
    const loc = page.locator(sel).first();
    if (!(await loc.isVisible())) continue;
    const box = await loc.boundingBox();
    assert.ok(box !== null, sel);
    assert.ok(box.x >= 0 && box.x + box.width <= width, `${sel} spans ${box.x}..${box.x + box.width} at ${width} px`);
  }
  const inputs = await page.locator('#filter-fields input, #filter-fields select').all();
  for (const loc of inputs) {
    if (!(await loc.isVisible())) continue;
    const box = await loc.boundingBox();
    assert.ok(box !== null && box.x >= 0 && box.x + box.width <= width && box.width >= 40, `a filter input spans ${box?.x}..${(box?.x ?? 0) + (box?.width ?? 0)} at ${width} px`);
  }
  assert.ok((await page.evaluate('document.scrollingElement.scrollWidth')) as number <= width, `the page scrolls sideways at ${width} px`);
}

describe('the search page: mode, filters, re-rank, metadata, placeholder', { skip: SKIP_WITHOUT_SHARED }, () => {
  let dir: string;
  let index: string;
  let ceDir: { dir: string; cleanup: () => void };
  let plain: SemsearchServer;
  let reranking: SemsearchServer;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-page-'));
    const ps = passages(N);
    writeFileSync(join(dir, 'c.tsv'), ps.map((p) => `${p.id}\t${p.text}`).join('\n') + '\n');
    writeFileSync(join(dir, 'meta.jsonl'), ps.map((p, i) => JSON.stringify({ id: p.id, ...metadataOf(i) })).join('\n') + '\n');
    index = join(dir, 'idx');
    await buildIndex({ corpus: join(dir, 'c.tsv'), metadata: join(dir, 'meta.jsonl'), out: index, model: BERT, shardSize: 50 });
    ceDir = materializeCrossEncoder('bert-1');
    plain = await createServer({ index, threads: 1, log: () => undefined });
    reranking = await createServer({ index, rerank: ceDir.dir, threads: 1, log: () => undefined });
    profile = mkdtempSync(join(tmpdir(), 'semsearch-chromium-'));
    context = await launchTestChromium(profile, { width: 1280, height: 900 });
  });

  after(async () => {
    await context?.close();
    await plain?.close();
    await reranking?.close();
    ceDir?.cleanup();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('/info lists the metadata fields with their types and a sample; the placeholder is that sample, nothing hard-coded', async () => {
    const info = (await (await fetch(`${plain.url}/info`)).json()) as { fields: unknown; sample: string };
    assert.deepEqual(info.fields, { topic: 'string', year: 'number', 'peer reviewed': 'boolean' });
    // The first passage of the index, its first eight words.
    const first = (passages(1)[0] as { text: string }).text;
    assert.equal(info.sample, first.split(/\s+/).slice(0, 8).join(' '));
    const page = await context.newPage();
    await open(page, `${plain.url}/`);
    assert.equal(await page.getAttribute('#query', 'placeholder'), `e.g. ${info.sample}…`);
    // The page's own file names no example: before /info arrives the box only says what it is for.
    const html = readFileSync(new URL('page/index.html', import.meta.url), 'utf8');
    assert.match(html, /placeholder="Search the passages"/);
    assert.doesNotMatch(html, /hurricane|jamaica/i);
    await page.close();
  });

  test('each mode (vector, keyword, hybrid) shows the hits the API returns for the same request', async () => {
    const page = await context.newPage();
    await open(page, `${plain.url}/`);
    const query = 'contour plowing definition';
    const seen = new Map<string, string[]>();
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      await page.selectOption('#mode', mode);
      await page.fill('#query', query);
      const sent = await submit(page);
      const want = { query, k: 10, ...(mode !== 'vector' ? { mode } : {}) };
      assert.deepEqual(sent, want);
      const hits = await shownHits(page);
      assert.ok(hits.length > 0, mode);
      assert.deepEqual(hits, asShown(await apiHits(plain.url, want)), mode);
      seen.set(mode, hits.map((h) => h.id));
      assert.match(page.url(), mode === 'vector' ? /\?q=contour\+plowing\+definition&k=10$/ : new RegExp(`&mode=${mode}$`));
    }
    // The modes are different searches, not one search three times.
    assert.notDeepEqual(seen.get('keyword'), seen.get('vector'));
    // The address brings the mode back.
    await open(page, `${plain.url}/?q=${encodeURIComponent(query)}&k=5&mode=keyword`);
    await page.waitForSelector('body[data-state="done"]');
    assert.equal(await page.inputValue('#mode'), 'keyword');
    assert.deepEqual(await shownHits(page), asShown(await apiHits(plain.url, { query, k: 5, mode: 'keyword' })));
    await page.close();
  });

  test('filters built from the field types narrow the hits exactly as the API filter does; the address keeps them', async () => {
    const page = await context.newPage();
    await open(page, `${plain.url}/`);
    // One control per field, labelled with its name, of the kind its type takes.
    assert.equal(await page.isVisible('#filters summary'), true);
    await page.click('#filters summary');
    assert.equal(await page.getByLabel('topic', { exact: true }).getAttribute('type'), 'text');
    assert.equal(await page.getByLabel('year at least').getAttribute('type'), 'number');
    assert.equal(await page.getByLabel('year at most').getAttribute('type'), 'number');
    assert.deepEqual(await page.getByLabel('peer reviewed', { exact: true }).locator('option').allTextContents(), ['any', 'true', 'false']);

    const query = 'what is the weather like';
    await page.fill('#query', query);
    await submit(page);
    const unfiltered = await shownHits(page);

    await page.getByLabel('topic', { exact: true }).fill('health, travel');
    await page.getByLabel('year at least').fill('2005');
    await page.getByLabel('year at most').fill('2012');
    await page.getByLabel('peer reviewed', { exact: true }).selectOption('true');
    assert.equal(await page.textContent('#filter-count'), '(3 set)');
    const sent = await submit(page);
    const filter = { topic: { in: ['health', 'travel'] }, year: { gte: 2005, lte: 2012 }, 'peer reviewed': true };
    assert.deepEqual(sent, { query, k: 10, filter });
    const hits = await shownHits(page);
    const api = await apiHits(plain.url, { query, k: 10, filter });
    assert.deepEqual(hits, asShown(api));
    assert.ok(hits.length > 0 && hits.length <= 10);
    assert.notDeepEqual(hits.map((h) => h.id), unfiltered.map((h) => h.id));
    // Every hit shown meets the filter, and every passage that meets it ranks among them (fewer than k exist).
    const all = passages(N).map((p, i) => ({ id: p.id, ...metadataOf(i) }));
    const allowed = all.filter((p) => ['health', 'travel'].includes(p.topic) && p.year >= 2005 && p.year <= 2012 && p['peer reviewed']);
    assert.ok(allowed.length < 10, `${allowed.length} passages meet the filter`);
    assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(allowed.map((p) => `passage ${p.id}`)));

    // The address holds the filter; opening it shows the same controls and the same hits.
    const address = page.url();
    assert.match(address, /f\.topic=health%2C\+travel&f\.year\.gte=2005&f\.year\.lte=2012&f\.peer\+reviewed=true/);
    const again = await context.newPage();
    await open(again, address);
    await again.waitForSelector('body[data-state="done"]');
    assert.equal(await again.getAttribute('#filters', 'open'), '');
    assert.equal(await again.inputValue('#f-0'), 'health, travel');
    assert.deepEqual(await shownHits(again), hits);
    await again.close();

    // One string value is equality; a keyword search is filtered the same way.
    await page.click('#clear-filters');
    await page.getByLabel('topic', { exact: true }).fill('science');
    await page.selectOption('#mode', 'keyword');
    const one = await submit(page);
    assert.deepEqual(one, { query, k: 10, mode: 'keyword', filter: { topic: 'science' } });
    const sci = await shownHits(page);
    assert.deepEqual(sci, asShown(await apiHits(plain.url, { query, k: 10, mode: 'keyword', filter: { topic: 'science' } })));
    assert.ok(sci.length > 0 && sci.every((h) => h.fields.some(([k, v]) => k === 'topic' && v === 'science')));
    await page.close();
  });

  test('hits show their metadata fields', async () => {
    const page = await context.newPage();
    await open(page, `${plain.url}/?q=${encodeURIComponent('contour plowing')}&k=5`);
    await page.waitForSelector('body[data-state="done"]');
    const hits = await shownHits(page);
    assert.equal(hits.length, 5);
    const byId = new Map(passages(N).map((p, i) => [`passage ${p.id}`, metadataOf(i)]));
    for (const h of hits) {
      const m = byId.get(h.id) as Record<string, unknown>;
      assert.deepEqual(Object.fromEntries(h.fields), Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])), h.id);
    }
    await page.close();
  });

  test('the re-rank toggle appears only where the server has a cross-encoder, and shows the API\'s re-ranked hits', async () => {
    const page = await context.newPage();
    await open(page, `${plain.url}/`);
    assert.equal(await page.isVisible('#rerank'), false);
    await open(page, `${reranking.url}/`);
    const toggle = page.getByLabel(/re-rank with/);
    assert.equal(await toggle.isVisible(), true);
    assert.match((await page.textContent('#rerank-label')) ?? '', new RegExp(`re-rank with ${ceDir.dir.split('/').pop()}`));

    const query = 'how long is the flu contagious';
    await toggle.check();
    await page.fill('#query', query);
    const sent = await submit(page);
    assert.deepEqual(sent, { query, k: 10, rerank: true });
    const hits = await shownHits(page);
    const api = await apiHits(reranking.url, { query, k: 10, rerank: true });
    assert.ok(api.every((h) => h.retrieval_score !== undefined));
    assert.deepEqual(hits, asShown(api));
    assert.notDeepEqual(hits.map((h) => h.id), asShown(await apiHits(reranking.url, { query, k: 10 })).map((h) => h.id));
    assert.match((await page.textContent('#status')) ?? '', / · re-ranked by /);
    assert.match(page.url(), /&rerank=1$/);

    // With a mode and a filter, and on the next page.
    await page.selectOption('#mode', 'hybrid');
    await page.click('#filters summary');
    await page.getByLabel('year at least').fill('2010');
    await page.selectOption('#k', '5');
    const mixed = await submit(page);
    const request = { query, k: 5, mode: 'hybrid', filter: { year: { gte: 2010 } }, rerank: true };
    assert.deepEqual(mixed, request);
    assert.deepEqual(await shownHits(page), asShown(await apiHits(reranking.url, request)));
    await page.click('#more');
    await page.waitForSelector('#results .result:nth-child(10)');
    assert.deepEqual(await shownHits(page), asShown(await apiHits(reranking.url, { ...request, k: 10 })));
    await page.close();
  });

  test('screenshots at 1280 and 390 px: every control on screen, nothing scrolls sideways', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const address = `${reranking.url}/?q=${encodeURIComponent('what is the weather like in december')}&k=5&mode=hybrid&rerank=1&f.topic=${encodeURIComponent('health, travel')}&f.year.gte=2003`;
    for (const width of [1280, 390]) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await open(page, address);
      await page.waitForSelector('body[data-state="done"]');
      assert.equal(await page.locator('#results .result').count(), 5);
      await assertFits(page, width);
      const shot = join(SHOTS, `page-${width}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      // The first screenful at its own size, as a reader sees it (the full page is scaled down to be looked at).
      await page.screenshot({ path: join(SHOTS, `page-${width}-top.png`) });
      // Before a search: the placeholder from the index, the filters folded away.
      await open(page, `${plain.url}/`);
      await assertFits(page, width);
      await page.screenshot({ path: join(SHOTS, `page-${width}-empty.png`) });
      await page.close();
    }
  });

  // Last: it changes the index the tests above search.
  test('the placeholder follows the index: with its first passage deleted, a server started after shows the next one\'s words', async () => {
    const ps = passages(2) as { id: string; text: string }[];
    // Through the library, not the server's write routes: the page reads, and only /info is under test here.
    const writer = await openIndex(index);
    try {
      assert.equal((await writer.delete(ps[0]?.id as string)).deleted, 1);
    } finally {
      await writer.close();
    }
    const after = await createServer({ index, threads: 1, log: () => undefined });
    try {
      const words = (ps[1]?.text as string).split(/\s+/).slice(0, 8).join(' ');
      assert.equal(((await (await fetch(`${after.url}/info`)).json()) as { sample: string }).sample, words);
      const page = await context.newPage();
      await open(page, `${after.url}/`);
      assert.equal(await page.getAttribute('#query', 'placeholder'), `e.g. ${words}…`);
      await page.close();
    } finally {
      await after.close();
    }
  });
});
