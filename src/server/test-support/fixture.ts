import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../../store/build-index.js';
import type { IndexPrecision } from '../../store/manifest.js';
import { sharedFile, skipWithoutShared } from '../../test-support/files.js';

export const BERT = fileURLToPath(new URL('../../model/fixtures/models/bert', import.meta.url));
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];
export const COLLECTION = sharedFile(...SUBSET);
/** The skip reason of every test that serves an index over the shared subset (false where ../shared is there). */
export const SKIP_WITHOUT_SHARED = skipWithoutShared(...SUBSET);

/** The first `n` passages of the shared MS MARCO subset, one per line as in the collection. */
export function passages(n: number): { id: string; text: string }[] {
  return readFileSync(COLLECTION, 'utf8')
    .split('\n')
    .slice(0, n)
    .map((l) => {
      const tab = l.indexOf('\t');
      return { id: l.slice(0, tab), text: l.slice(tab + 1) };
    });
}

/** A small index over the shared MS MARCO subset, built with the tiny BERT fixture in a temp folder. */
export async function buildTestIndex(n = 120, precision: IndexPrecision = 'float32'): Promise<{ dir: string; index: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-serve-'));
  const corpus = join(dir, 'c.tsv');
  writeFileSync(corpus, passages(n).map((p) => `${p.id}\t${p.text}`).join('\n') + '\n');
  const index = join(dir, 'idx');
  await buildIndex({ corpus, out: index, model: BERT, shardSize: 50, precision });
  return { dir, index, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // the caller asserts on text when the body is not JSON
  }
  return { status: res.status, headers: res.headers, json, text };
}
