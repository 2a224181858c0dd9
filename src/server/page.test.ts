import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { createServer, type SemsearchServer } from './server.js';
import { launchTestChromium } from './test-support/browser.js';
import { buildTestIndex, passages, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url));

let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
let server: SemsearchServer;
let context: BrowserContext;
let profile: string;

before(async () => {
  if (SKIP_WITHOUT_SHARED !== false) return;
  fixture = await buildTestIndex(120);
  server = await createServer({ index: fixture.index, limits: { maxTextChars: 300 }, log: () => undefined });
  profile = mkdtempSync(join(tmpdir(), 'semsearch-chromium-'));
  // The Chromium shipped in the devDependency @sparticuz/chromium, or CHROMIUM_PATH (see test-support/browser.ts).
  context = await launchTestChromium(profile, { width: 1000, height: 900 });
});

after(async () => {
  await context?.close();
  await server?.close();
  fixture?.cleanup();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

test('the search page: type a query, read scored results with the query terms marked and the latency', { skip: SKIP_WITHOUT_SHARED }, async () => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(`${server.url}/`);
  // Page code is given as strings: this package type-checks without the DOM library.
  await page.waitForFunction(`/passages/.test(document.getElementById('index-info').textContent)`);
  assert.match((await page.textContent('#index-info')) ?? '', /120 passages · bert · float32, 32 dims/);

  // A passage's own text as the query: even the random-weight test model ranks that passage first.
  const target = passages(120).find((p) => p.id === '182370') as { id: string; text: string };
  await page.selectOption('#k', '5');
  await page.locator('#query').pressSequentially(target.text);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state="done"]');

  const results = (await page.evaluate(`Array.from(document.querySelectorAll('#results .result'), (el) => ({
    score: el.querySelector('.score').textContent,
    id: el.querySelector('.id').textContent,
    text: el.querySelector('.text').textContent,
    marks: Array.from(el.querySelectorAll('mark'), (m) => m.textContent),
  }))`)) as { score: string; id: string; text: string; marks: string[] }[];
  assert.equal(results.length, 5);
  assert.equal(results[0]?.id, `passage ${target.id}`);
  assert.equal(results[0]?.text, target.text);
  assert.equal(results[0]?.score, '1.0000');
  const scores = results.map((r) => Number(r.score));
  assert.ok(scores.every((s, i) => i === 0 || s <= (scores[i - 1] as number)), `scores best first: ${scores}`);
  // Query terms are marked where they start a word, stopwords are not, and the text itself is unchanged.
  const terms = ['contour', 'plowing', 'definitions', 'meanings', 'translations', 'word'];
  for (const t of terms) assert.ok(results[0]?.marks.some((m) => m.toLowerCase() === t), `"${t}" is marked: ${results[0]?.marks}`);
  for (const r of results) for (const m of r.marks) assert.ok(!['the', 'of', 'what', 'are'].includes(m.toLowerCase()), `stopword marked: ${m}`);
  assert.match((await page.textContent('#status')) ?? '', /^5 results in [\d.]+ ms \(server [\d.]+ ms\)$/);
  assert.match(page.url(), /\?q=What\+does\+Contour/);

  mkdirSync(OUTPUT, { recursive: true });
  const shot = join(OUTPUT, 'serve-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000);

  // A query over the server's limit shows the server's error instead of results.
  await page.fill('#query', 'x'.repeat(301));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#status.error');
  assert.match((await page.textContent('#status')) ?? '', /^LIMIT_EXCEEDED: query: has 301 characters/);
  assert.equal(await page.locator('#results .result').count(), 0);
  assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
  await page.close();
});

test('the search page runs the query in its URL, so a search can be shared as a link', { skip: SKIP_WITHOUT_SHARED }, async () => {
  const page = await context.newPage();
  await page.goto(`${server.url}/?q=${encodeURIComponent('contour plowing')}&k=20`);
  await page.waitForSelector('body[data-state="done"]');
  assert.equal(await page.inputValue('#query'), 'contour plowing');
  assert.equal(await page.locator('#results .result').count(), 20);
  assert.ok((await page.locator('#results mark').allTextContents()).map((t) => t.toLowerCase()).includes('contour'));
  await page.close();
});

test('a k from the URL that the menu lacks is sent as is: the server\'s own limit error, never "k must be at least 1, got 0"', { skip: SKIP_WITHOUT_SHARED }, async () => {
  const page = await context.newPage();
  await page.goto(`${server.url}/?q=${encodeURIComponent('contour plowing')}&k=1000`);
  await page.waitForSelector('#status.error');
  assert.match((await page.textContent('#status')) ?? '', /^LIMIT_EXCEEDED: k: must be at most 100, got 1000/);
  await page.goto(`${server.url}/?q=${encodeURIComponent('contour plowing')}&k=7`);
  await page.waitForSelector('body[data-state="done"]');
  assert.equal(await page.inputValue('#k'), '7');
  assert.equal(await page.locator('#results .result').count(), 7);
  await page.close();
});

test('"More results" pages through the hits with offset: the next k, in the order of one longer search', { skip: SKIP_WITHOUT_SHARED }, async () => {
  const page = await context.newPage();
  await page.goto(`${server.url}/?q=${encodeURIComponent('contour plowing')}&k=5`);
  await page.waitForSelector('body[data-state="done"]');
  const ids = async (): Promise<string[]> => page.locator('#results .result .id').allTextContents();
  const first = await ids();
  await page.click('#more');
  await page.waitForSelector('#results .result:nth-child(10)');
  assert.match((await page.textContent('#status')) ?? '', /^results 6–10 in /);
  const both = await ids();
  assert.deepEqual(both.slice(0, 5), first);
  const r = await fetch(`${server.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'contour plowing', k: 10 }) });
  const ten = ((await r.json()) as { results: { hits: { id: string }[] }[] }).results[0]?.hits.map((h) => `passage ${h.id}`);
  assert.deepEqual(both, ten);
  await page.close();
});

test('on a 390 px wide phone the query box, the menu and the Search button are all on screen', { skip: SKIP_WITHOUT_SHARED }, async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${server.url}/`);
  for (const sel of ['#query', '#k', '#go']) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(box !== null, sel);
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `${sel} spans ${box.x}..${box.x + box.width}`);
  }
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'serve-page-390.png'), fullPage: true });
  await page.close();
});
