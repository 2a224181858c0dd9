import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import { buildIndex } from '../build-index.js';
import type { Metadata } from '../filter.js';
import type { IndexPrecision } from '../manifest.js';
import type { IndexHit } from '../searcher.js';

const WORDS = (
  'london paris river bridge tower museum garden train station market harbour castle church library school ' +
  'football music dinner recipe rice bread coffee winter summer rain snow mountain forest ocean island city ' +
  'history war king queen science physics chemistry biology computer network search engine vector passage'
).split(' ');

/** A deterministic passage text for number i: ten words picked by a small LCG. */
export function passageText(i: number): string {
  let x = (i * 2654435761 + 12345) >>> 0;
  const words: string[] = [];
  for (let w = 0; w < 10; w++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    words.push(WORDS[(x >>> 8) % WORDS.length] as string);
  }
  return `passage ${i} about ${words.join(' ')}`;
}

/** Metadata for passage i: a number, a string and a boolean field. */
export function passageMeta(i: number): Metadata {
  return { year: 1990 + (i % 30), lang: ['en', 'de', 'fr', 'es'][i % 4] as string, draft: i % 5 === 0 };
}

export interface Content {
  text: string;
  metadata?: Metadata;
}

/** Write content as an MS MARCO collection.tsv and a metadata side file. */
export function writeCorpus(dir: string, name: string, content: ReadonlyMap<string, Content>): { corpus: string; metadata: string } {
  const corpus = join(dir, `${name}.tsv`);
  const metadata = join(dir, `${name}.meta.jsonl`);
  writeFileSync(corpus, [...content].map(([id, c]) => `${id}\t${c.text}`).join('\n') + '\n');
  writeFileSync(metadata, [...content].filter(([, c]) => c.metadata !== undefined).map(([id, c]) => JSON.stringify({ id, ...c.metadata })).join('\n') + '\n');
  return { corpus, metadata };
}

/** A clean build of the given content: what every sequence of writes must end up equal to. */
export async function cleanBuild(dir: string, name: string, content: ReadonlyMap<string, Content>, model: SentenceTransformer, modelRef: string, precision: IndexPrecision = 'float32'): Promise<string> {
  const { corpus, metadata } = writeCorpus(dir, name, content);
  const out = join(dir, `${name}-index`);
  await buildIndex({ corpus, out, model, modelRef, precision, shardSize: 64, metadata });
  return out;
}

/** Two searches agree: the same ids in the same order (scores within 1e-5; equal scores may swap places), the same texts and metadata. */
export function assertSameHits(got: readonly (readonly IndexHit[])[], want: readonly (readonly IndexHit[])[], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, qi) => {
    const w = want[qi] ?? [];
    assert.equal(g.length, w.length, `${what}: query ${qi} has ${g.length} hits, want ${w.length}`);
    g.forEach((h, j) => {
      const x = w[j] as IndexHit;
      assert.ok(Math.abs(h.score - x.score) <= 1e-5, `${what}: query ${qi} hit ${j} scores ${h.score} vs ${x.score}`);
      if (h.id !== x.id) {
        // Only a tie may reorder.
        assert.ok(g.some((y) => y.id === x.id && Math.abs(y.score - x.score) <= 1e-5), `${what}: query ${qi} hit ${j} is ${h.id}, want ${x.id}`);
      } else {
        assert.equal(h.text, x.text);
        assert.deepEqual(h.metadata ?? {}, x.metadata ?? {}, `${what}: metadata of ${h.id}`);
      }
    });
  });
}
