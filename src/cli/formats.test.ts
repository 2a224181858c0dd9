import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_FORMATS, type CorpusFormat } from '../corpus/formats.js';
import { scratch } from '../test-support/files.js';
import { runCaptured, type CliRun } from './test-support/run-cli.js';

// One corpus layer: every corpus format `semsearch index` reads, `semsearch eval --corpus` reads too, with the
// same passages and ids, and both rank them the same way.

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

const PASSAGES: [string, string][] = [
  ['1', 'London has 9,787,426 inhabitants at the 2011 census'],
  ['2', 'London is known for its financial district'],
  ['3', 'Paris is the capital of France'],
  ['4', 'The Thames flows through London'],
];

/** Writes the passages in one format; returns the corpus path and the id each passage gets in that format. */
async function writeCorpus(dir: string, format: CorpusFormat): Promise<{ path: string; id: (plain: string) => string }> {
  const same = (plain: string): string => plain;
  switch (format) {
    case 'msmarco': {
      const path = join(dir, 'collection.tsv');
      await writeFile(path, PASSAGES.map(([id, t]) => `${id}\t${t}\n`).join(''));
      return { path, id: same };
    }
    case 'beir': {
      const path = join(dir, 'corpus.jsonl');
      await writeFile(path, PASSAGES.map(([id, t]) => JSON.stringify({ _id: id, title: '', text: t }) + '\n').join(''));
      return { path, id: same };
    }
    case 'candidates': {
      const path = join(dir, 'candidates.json');
      const hits = PASSAGES.map(([id, t], i) => ({ qid: 1, docid: id, rank: i + 1, score: 4 - i, content: t }));
      await writeFile(path, JSON.stringify([{ query: 'how many people live in London', hits }]));
      return { path, id: same };
    }
    case 'smart': {
      // No extension, as cran.all.1400 ships: told by its first line.
      const path = join(dir, 'docs.all');
      await writeFile(path, PASSAGES.map(([id, t]) => `.I ${id.padStart(3, '0')}\n.W\n${t}\n`).join(''));
      return { path, id: same };
    }
    case 'folder': {
      const path = join(dir, 'notes');
      await mkdir(path);
      for (const [id, t] of PASSAGES) await writeFile(join(path, `${id}.txt`), `${t}\n`);
      return { path, id: (plain) => `${plain}.txt#0` };
    }
  }
}

const cli = (argv: string[]): Promise<CliRun> => runCaptured(argv);

interface EvalOut {
  task: { documents: number };
  report: { trecEval: { summary: Record<string, number> } };
}

test('every corpus format works in semsearch index, search and eval (--corpus and --index agree)', async () => {
  const s = await scratch();
  try {
    const queries = await s.write('queries.tsv', 'q1\thow many people live in London\nq2\twhat is the capital of France\n');
    const byFormat = new Map<CorpusFormat, Record<string, number>>();
    for (const format of CORPUS_FORMATS) {
      const dir = join(s.dir, format);
      await mkdir(dir);
      const { path, id } = await writeCorpus(dir, format);
      const qrels = await s.write(`${format}.qrels`, `q1 0 ${id('1')} 1\nq2 0 ${id('3')} 1\n`);

      const out = join(dir, 'index');
      const built = await cli(['index', path, '-m', BERT, '-o', out]);
      assert.equal(built.code, 0, `${format}: ${built.err}`);
      assert.match(built.out, /^complete: 4 passages/, format);
      const found = await cli(['search', out, 'how many people live in London', '--json', '-k', '4']);
      assert.equal(found.code, 0, `${format}: ${found.err}`);
      const hits = (JSON.parse(found.out) as { hits: { id: string }[] }).hits.map((h) => h.id);
      assert.deepEqual([...hits].sort(), PASSAGES.map(([p]) => id(p)).sort(), format);

      const fromCorpus = await cli(['eval', '-m', BERT, '--corpus', path, '--queries', queries, '--qrels', qrels, '--json']);
      assert.equal(fromCorpus.code, 0, `${format}: ${fromCorpus.err}`);
      const c = JSON.parse(fromCorpus.out) as EvalOut;
      assert.equal(c.task.documents, 4, format);
      const fromIndex = await cli(['eval', '-m', BERT, '--index', out, '--queries', queries, '--qrels', qrels, '--json']);
      assert.equal(fromIndex.code, 0, `${format}: ${fromIndex.err}`);
      assert.deepEqual((JSON.parse(fromIndex.out) as EvalOut).report.trecEval.summary, c.report.trecEval.summary, format);
      byFormat.set(format, c.report.trecEval.summary);
    }
    // The same texts score the same whatever file they came in (the BEIR text adds no title here).
    const first = byFormat.get('msmarco');
    for (const [format, summary] of byFormat) assert.deepEqual(summary, first, format);
  } finally {
    await s.remove();
  }
});
