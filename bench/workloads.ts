import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seededRandom } from './stats.js';

/** A list of texts to encode, in the order handed to every system. */
export interface Workload {
  name: 'queries' | 'docs';
  texts: string[];
  source: string;
}

/** The shared data folder: SEMSEARCH_DATA, else ../shared/data beside the repository. */
export function dataDir(repoRoot: string): string {
  return resolve(process.env['SEMSEARCH_DATA'] ?? join(repoRoot, '..', 'shared', 'data'));
}

function readTsvTexts(file: string): string[] {
  if (!existsSync(file)) throw new Error(`benchmark data ${file} is missing (set SEMSEARCH_DATA to the shared data folder)`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.slice(l.indexOf('\t') + 1));
}

/**
 * `n` texts spread evenly over the length distribution (every (len/n)-th text of the list sorted by length),
 * shuffled with a fixed seed: a small sample keeps the mix of short and long texts of the whole set, and
 * the order given to the systems is not already sorted.
 */
export function sampleByLength(texts: readonly string[], n: number, seed: number): string[] {
  const sorted = [...texts].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  let picked: string[];
  if (n >= sorted.length) picked = sorted;
  else picked = Array.from({ length: n }, (_, i) => sorted[Math.floor(((i + 0.5) * sorted.length) / n)] as string);
  const rnd = seededRandom(seed);
  for (let i = picked.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [picked[i], picked[j]] = [picked[j] as string, picked[i] as string];
  }
  return picked;
}

/** TREC DL 2019 + 2020 topics (243 queries) and the MS MARCO passages of the DL19 relevant subset (4,103). */
export function loadCorpora(repoRoot: string): { queries: string[]; docs: string[]; files: string[] } {
  const d = dataDir(repoRoot);
  const files = [
    join(d, 'msmarco-passage-topics-qrels', 'topics.dl19-passage.txt'),
    join(d, 'msmarco-passage-topics-qrels', 'topics.dl20.txt'),
    join(d, 'msmarco-passage-dl19-relevant-subset', 'collection.tsv'),
  ];
  const queries = [...readTsvTexts(files[0] as string), ...readTsvTexts(files[1] as string)];
  const docs = readTsvTexts(files[2] as string);
  return { queries, docs, files };
}
