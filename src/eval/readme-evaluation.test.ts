import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { docBlock } from '../test-support/doc-blocks.js';
import { scratch, skipWithoutShared } from '../test-support/files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The section's TypeScript blocks: scoring a run (0), re-ranking candidate lists (1), evaluating a model (4).
const blocks = [docBlock('README.md', 'Evaluation', 0), docBlock('README.md', 'Evaluation', 1), docBlock('README.md', 'Evaluation', 4)];

interface Block {
  measures: string[];
  aggregate: number[];
}
const fixture = JSON.parse(readFileSync(join(ROOT, 'src/eval/fixtures/parity/BM25.dl19.json'), 'utf8')) as { trec: Block[] };

/** The source entry behind a package specifier: 'semsearch' → src/index.ts, 'semsearch/eval' → src/eval/index.ts. */
const entry = (specifier: string): string => join(ROOT, 'src', specifier === 'semsearch' ? 'index.ts' : `${specifier.slice('semsearch/'.length)}/index.ts`);

/** A README block made runnable from a scratch folder: each package import points at its source entry. */
const runnable = (block: string): string => block.replace(/from '(semsearch(?:\/[a-z]+)?)'/g, (_, spec: string) => `from '${pathToFileURL(entry(spec)).href}'`);

test('the README Evaluation section has its three examples, importing only what semsearch and its subpaths export', async () => {
  assert.equal(blocks.length, 3);
  for (const b of blocks) {
    const imports = [...b.matchAll(/import \{([^}]*)\} from '(semsearch(?:\/[a-z]+)?)'/g)];
    assert.ok(imports.length > 0);
    for (const [, list, spec] of imports) {
      const api = (await import(pathToFileURL(entry(spec as string)).href)) as Record<string, unknown>;
      for (const n of (list as string).split(',').map((x) => x.trim())) assert.equal(typeof api[n], 'function', `${n} from ${spec}`);
    }
  }
});

test('the README evaluation example runs and prints the reference trec_eval means', { skip: skipWithoutShared('msmarco-passage-trec-dl-candidates', 'BM25') }, async () => {
  const s = await scratch();
  try {
    const code = runnable(blocks[0] as string);
    const file = await s.write('readme-evaluation.mts', code);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    const json = JSON.parse(lines.at(-1) as string) as { trecEval: { summary: Record<string, number> } };
    const trec = fixture.trec[0] as Block;
    for (const m of ['ndcg_cut_10', 'recip_rank', 'map', 'recall_1000']) {
      const ref = trec.aggregate[trec.measures.indexOf(m)] as number;
      assert.ok(Math.abs((json.trecEval.summary[m] as number) - ref) <= 1e-6, m);
    }
    const ndcg = trec.aggregate[trec.measures.indexOf('ndcg_cut_10')] as number;
    assert.ok(lines.some((l) => /^\s+ndcg_cut_10\s/.test(l) && l.trim().endsWith(ndcg.toFixed(4))), 'table row for ndcg_cut_10');
    assert.ok(lines.some((l) => /^\s+MRR@10\s/.test(l)));
  } finally {
    await s.remove();
  }
});

test('the README semsearch eval library example runs (with the small test model in place of the real one)', { skip: skipWithoutShared('cranfield') }, async () => {
  const s = await scratch();
  try {
    const model = join(ROOT, 'src/model/fixtures/models/bert');
    const code = runnable(blocks[2] as string)
      .replace("'sentence-transformers/all-MiniLM-L6-v2'", JSON.stringify(model))
      .replace("'cranfield-minilm.run'", JSON.stringify(join(s.dir, 'cranfield.run')));
    assert.ok(code.includes(model), 'the example loads a model by name');
    const file = await s.write('readme-eval-model.mts', code);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\s+MRR@10\s+\d\.\d{4}$/m);
    assert.match(run.stdout, /^\s+ndcg_cut_10\s+\d\.\d{4}$/m);
    assert.match(readFileSync(join(s.dir, 'cranfield.run'), 'utf8'), /^1 Q0 \d+ 1 /);
  } finally {
    await s.remove();
  }
});

test('the README re-ranking example runs (the small test model in place of the real one) and writes a run of every DL19 list', { skip: skipWithoutShared('msmarco-passage-trec-dl-candidates', 'BM25') }, async () => {
  const s = await scratch();
  try {
    const model = join(ROOT, 'src/model/fixtures/models/bert');
    const code = runnable(blocks[1] as string)
      .replace("'msmarco-MiniLM-L6-cos-v5'", JSON.stringify(model))
      .replace("'bm25-minilm.dl19.run'", JSON.stringify(join(s.dir, 'bm25-minilm.dl19.run')));
    assert.ok(code.includes(model) && code.includes(s.dir), 'the substitutions apply');
    const file = await s.write('readme-rerank-candidates.mts', code);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const mrr = Number(run.stdout.trim().split('\n').at(-1));
    assert.ok(mrr >= 0 && mrr <= 1, run.stdout);
    const written = readFileSync(join(s.dir, 'bm25-minilm.dl19.run'), 'utf8').trim().split('\n');
    assert.equal(new Set(written.map((l) => l.split(' ')[0])).size, 43, 'the 43 DL19 queries');
    assert.match(written[0] ?? '', /^\d+ Q0 \d+ 1 \S+ minilm$/);
  } finally {
    await s.remove();
  }
});
