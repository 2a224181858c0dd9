// kill -9 during `semsearch add` into a chunked index: every printed commit is there with all its windows, no
// document is left with some of its windows, and search equals a clean chunked build of the same documents.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { seededRandom } from '../tensor/random.js';
import { buildIndex } from './build-index.js';
import { documentRows } from './chunk-rows.js';
import { DocStore } from './doc-store.js';
import { DEFAULT_DOCS_FILE, readManifest, type ChunkingInfo } from './manifest.js';
import { openIndex } from './search-index.js';
import { assertSameHits, passageText } from './test-support/living.js';
import { IndexWriter } from './write-index.js';
import { WRITER_LOCK } from './writer-lock.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const DISTILBERT = join(ROOT, 'src/model/fixtures/models/distilbert');
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain'];
let tmp: string;
let model: SentenceTransformer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-chunk-crash-'));
  model = await loadModelFromDir(DISTILBERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** A document of `n` sentences (distilbert reads 64 tokens: from 3 sentences on, several windows). */
function doc(i: number, n: number): string {
  return Array.from({ length: n }, (_, s) => `${passageText(i * 17 + s)}.`).join(' ');
}

function writeTsv(file: string, docs: ReadonlyMap<string, string>): void {
  writeFileSync(file, [...docs].map(([id, t]) => `${id}\t${t}`).join('\n') + '\n');
}

async function chunkedBuild(name: string, docs: ReadonlyMap<string, string>): Promise<string> {
  const corpus = join(tmp, `${name}.tsv`);
  writeTsv(corpus, docs);
  const out = join(tmp, name);
  await buildIndex({ corpus, out, model, modelRef: DISTILBERT, chunk: true, shardSize: 16 });
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('kill -9 during semsearch add into a chunked index: printed commits stay whole, no document keeps part of its windows, search equals a clean build', async () => {
  const base = new Map<string, string>();
  for (let i = 0; i < 10; i++) base.set(`b${i}`, doc(i, 1 + (i % 6)));
  const baseDir = await chunkedBuild('base', base);
  const chunking = readManifest(baseDir).chunking as ChunkingInfo;
  let midway = 0;
  for (let trial = 0; trial < 4; trial++) {
    const random = seededRandom(100 + trial);
    const dir = join(tmp, `trial-${trial}`);
    cpSync(baseDir, dir, { recursive: true });
    // 16 documents in 4 commits of 4: long new ones, and replacements of base documents (long by short and short by long).
    const docs = Array.from({ length: 16 }, (_, i) => ({ id: i % 4 === 0 ? `b${i / 4}` : `n${trial}-${i}`, text: doc(1000 + trial * 20 + i, 1 + ((i * 7 + trial) % 8)) }));
    const file = join(tmp, `add-${trial}.tsv`);
    writeTsv(file, new Map(docs.map((d) => [d.id, d.text])));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'add', dir, file, '--commit-size', '4'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    child.stdout.on('data', (d) => (printed += String(d)));
    const acked = (): number => printed.split('\n').filter((l) => l.startsWith('committed generation')).length;
    const target = Math.floor(random() * 4);
    const end = Date.now() + 60_000;
    while (child.exitCode === null && Date.now() < end && !(acked() >= target && (target > 0 || existsSync(join(dir, WRITER_LOCK))))) await sleep(2);
    await sleep(Math.floor(random() * 150));
    const alive = child.exitCode === null;
    child.kill('SIGKILL');
    if (alive) midway++;
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    const n = acked();

    // Recover (the next writer undoes what was left uncommitted), then read what the index holds.
    const w = await IndexWriter.open(dir, { model });
    await w.close();
    const m = readManifest(dir);
    const store = new DocStore(join(dir, m.docs ?? DEFAULT_DOCS_FILE), { readonly: true });
    const windows = new Map<string, { text: string; chunk?: { number: number; start: number; end: number } }[]>();
    for (const r of store.liveDocs({ count: m.count, generation: m.generation ?? 0 }, {})) windows.set(r.id, [...(windows.get(r.id) ?? []), { text: r.text, ...(r.chunk !== undefined ? { chunk: r.chunk } : {}) }]);
    store.close();
    let committed = -1;
    for (const j of [n, n + 1]) {
      if (j > 4) continue;
      const want = new Map(base);
      for (const d of docs.slice(0, 4 * j)) want.set(d.id, d.text);
      // Each document holds exactly the windows the chunker makes of its text, no more and no fewer.
      const same =
        want.size === windows.size &&
        [...want].every(([id, text]) => {
          const rows = documentRows(model, { id, text }, chunking);
          const got = windows.get(id) ?? [];
          return rows.length === got.length && rows.every((r, c) => r.text === got[c]?.text && JSON.stringify(r.chunk) === JSON.stringify(got[c]?.chunk));
        });
      if (same && (m.generation ?? 0) === j) {
        committed = j;
        assert.equal(m.documents, want.size, `trial ${trial}: the manifest counts the documents`);
        const clean = await openIndex(await chunkedBuild(`clean-${trial}`, want), { model });
        const index = await openIndex(dir, { model });
        try {
          for (const k of [3, 20]) assertSameHits(await index.search(QUERIES, k), await clean.search(QUERIES, k), `trial ${trial} k=${k}`);
        } finally {
          await index.close();
          await clean.close();
        }
        break;
      }
    }
    assert.ok(committed >= 0, `trial ${trial}: after ${n} printed commits the index holds ${windows.size} documents at generation ${m.generation}, no whole-commit state`);
  }
  assert.ok(midway > 0, 'at least one kill landed while the add ran');
});
