// Prompts across the product, against sentence-transformers 5.7's own vectors (make_prompt_fixtures.py): `index`
// encodes passages as encode_document (or with --prompt-name), records both prompts, `search` and `add` use them,
// a changed prompt config is refused, and the server's /search, /encode and TEI /embed follow the same prompts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMatrix, materializePromptVariant, readPromptVectors, readTexts, type PromptVariant, type StoredMatrix } from '../encoder/test-support/fixtures.js';
import { readManifest } from '../store/manifest.js';
import { createServer } from '../server/server.js';
import { postJson } from '../server/test-support/fixture.js';
import type { Matrix } from '../tensor/matrix.js';
import { runCaptured } from './test-support/run-cli.js';

const texts = readTexts();
const vectors = readPromptVectors();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

// The corpus: texts.json's distinct non-blank texts (an index refuses empty passages and repeated ids), as BEIR jsonl.
const docRows: number[] = [];
{
  const seen = new Set<string>();
  texts.forEach((t, i) => {
    if (t.trim() === '' || seen.has(t)) return;
    seen.add(t);
    docRows.push(i);
  });
}
// Queries the CLI can take as one argument.
const queryRows = docRows.filter((i) => !(texts[i] as string).startsWith('-') && (texts[i] as string).length < 200).slice(0, 4);

function corpusFile(dir: string, rows: number[], name: string): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map((i) => JSON.stringify({ _id: `t${i}`, text: texts[i] })).join('\n') + '\n');
  return file;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return d / Math.sqrt(na * nb);
}

/** Hits checked against brute force over Python's vectors: each hit's score, and the k best scores. */
function checkHits(hits: { id: string; score: number }[], q: Float32Array, docs: Matrix, k: number, what: string): void {
  const expected = new Map(docRows.map((i) => [`t${i}`, cosine(q, docs.row(i))]));
  assert.equal(hits.length, k, what);
  for (const h of hits) assert.ok(Math.abs(h.score - (expected.get(h.id) as number)) <= 1e-5, `${what}: ${h.id} scored ${h.score}, Python ${expected.get(h.id)}`);
  const best = [...expected.values()].sort((a, b) => b - a).slice(0, k);
  hits.forEach((h, r) => assert.ok(Math.abs(h.score - (best[r] as number)) <= 1e-5, `${what}: rank ${r} scored ${h.score}, brute force ${best[r]}`));
}

function setup(name: PromptVariant): { model: string; dir: string } {
  const { dir: model, cleanup } = materializePromptVariant(name);
  const dir = mkdtempSync(join(tmpdir(), `semsearch-prompts-cli-${name}-`));
  cleanups.push(cleanup, () => rmSync(dir, { recursive: true, force: true }));
  return { model, dir };
}

async function searchAll(out: string, queries: Matrix, docs: Matrix, what: string): Promise<void> {
  for (const qi of queryRows) {
    const r = await runCaptured(['search', out, texts[qi] as string, '-k', '5', '--json']);
    assert.equal(r.code, 0, r.err);
    checkHits((JSON.parse(r.out) as { hits: { id: string; score: number }[] }).hits, queries.row(qi), docs, 5, `${what}, query t${qi}`);
  }
}

const m = (s: StoredMatrix): Matrix => decodeMatrix(s);

describe('prompts through the CLI: index, add, search', () => {
  const cases: { name: PromptVariant; flags: string[]; docs: (v: (typeof vectors)[PromptVariant]) => StoredMatrix; prompts: { query: string; document: string } }[] = [
    // e5's "passage" is not what ST 5.7's encode_document picks ("document", "" by default, comes first).
    { name: 'e5', flags: [], docs: (v) => v.encode_document, prompts: { query: 'query: ', document: '' } },
    { name: 'e5', flags: ['--prompt-name', 'passage'], docs: (v) => v.by_prompt_name['passage'] as StoredMatrix, prompts: { query: 'query: ', document: 'passage: ' } },
    { name: 'bge', flags: [], docs: (v) => v.encode_document, prompts: { query: 'Represent this sentence for searching relevant passages: ', document: '' } },
    { name: 'instructor', flags: [], docs: (v) => v.encode_document, prompts: { query: 'Represent the question: ', document: 'Represent the document: ' } },
  ];
  for (const c of cases) {
    test(`${c.name} ${c.flags.join(' ') || '(defaults)'}: manifest prompts, then every search within 1e-5 of brute force over Python's vectors`, async () => {
      const v = vectors[c.name];
      const { model, dir } = setup(c.name);
      const out = join(dir, 'idx');
      // Half by `index`, half by `add`: both must encode passages with the recorded prompt.
      const half = Math.floor(docRows.length / 2);
      const built = await runCaptured(['index', corpusFile(dir, docRows.slice(0, half), 'a.jsonl'), '-m', model, '-o', out, ...c.flags]);
      assert.equal(built.code, 0, built.err);
      assert.deepEqual(readManifest(out).model.prompts, c.prompts);
      const added = await runCaptured(['add', out, corpusFile(dir, docRows.slice(half), 'b.jsonl')]);
      assert.equal(added.code, 0, added.err);
      await searchAll(out, m(v.encode_query), m(c.docs(v)), `${c.name} ${c.flags.join(' ')}`);
    });
  }

  test('--query-prompt-name is recorded and used by search; an unknown prompt name is refused before any work', async () => {
    const v = vectors.e5;
    const { model, dir } = setup('e5');
    const out = join(dir, 'idx');
    const built = await runCaptured(['index', corpusFile(dir, docRows, 'c.jsonl'), '-m', model, '-o', out, '--prompt-name', 'passage', '--query-prompt-name', 'passage']);
    assert.equal(built.code, 0, built.err);
    assert.deepEqual(readManifest(out).model.prompts, { query: 'passage: ', document: 'passage: ' });
    const passage = m(v.by_prompt_name['passage'] as StoredMatrix);
    await searchAll(out, passage, passage, 'query prompt passage');
    const bad = await runCaptured(['index', corpusFile(dir, docRows, 'c.jsonl'), '-m', model, '-o', join(dir, 'idx2'), '--prompt-name', 'nope', '--json']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out + bad.err, /INVALID_ARGUMENT/);
    assert.match(bad.out + bad.err, /nope/);
  });

  test('an index built before a model\'s prompts changed is refused (INDEX_MISMATCH), not searched with the new prompt', async () => {
    const { model, dir } = setup('e5');
    const out = join(dir, 'idx');
    assert.equal((await runCaptured(['index', corpusFile(dir, docRows, 'c.jsonl'), '-m', model, '-o', out])).code, 0);
    const file = join(model, 'config_sentence_transformers.json');
    const st = JSON.parse(readFileSync(file, 'utf8')) as { prompts: Record<string, string> };
    st.prompts['query'] = 'question: ';
    writeFileSync(file, JSON.stringify(st));
    const r = await runCaptured(['search', out, 'london', '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.out + r.err, /INDEX_MISMATCH/);
  });
});

describe('prompts through the server', () => {
  test("/search takes the index's query prompt; /encode and TEI /embed take prompt_name (absent: default_prompt_name)", async () => {
    const v = vectors.instructor;
    const { model, dir } = setup('instructor');
    const out = join(dir, 'idx');
    assert.equal((await runCaptured(['index', corpusFile(dir, docRows, 'c.jsonl'), '-m', model, '-o', out])).code, 0);
    const server = await createServer({ index: out, log: () => undefined });
    try {
      const queries = m(v.encode_query);
      const docs = m(v.encode_document);
      for (const qi of queryRows) {
        const r = await postJson(`${server.url}/search`, { query: texts[qi], k: 5 });
        assert.equal(r.status, 200, r.text);
        checkHits((r.json.results as { hits: { id: string; score: number }[] }[])[0]?.hits ?? [], queries.row(qi), docs, 5, `/search t${qi}`);
      }
      const some = docRows.slice(0, 6);
      const rowsOf = (s: StoredMatrix): Float32Array[] => some.map((i) => m(s).row(i));
      const close = (got: number[][], want: Float32Array[], what: string, normalize = false): void => {
        assert.equal(got.length, want.length, what);
        got.forEach((g, r) => {
          const w = want[r] as Float32Array;
          const n = normalize ? Math.sqrt(w.reduce((a, x) => a + x * x, 0)) : 1;
          g.forEach((x, d) => assert.ok(Math.abs(x - (w[d] as number) / n) <= 1e-5, `${what} row ${r}[${d}]: ${x} vs ${(w[d] as number) / n}`));
        });
      };
      const input = some.map((i) => texts[i] as string);
      const plain = await postJson(`${server.url}/encode`, { texts: input });
      assert.equal(plain.status, 200, plain.text);
      // No prompt_name: model.encode, where default_prompt_name ("query") applies.
      close(plain.json.embeddings as number[][], rowsOf(v.encode), '/encode');
      const doc = await postJson(`${server.url}/encode`, { texts: input, prompt_name: 'document' });
      close(doc.json.embeddings as number[][], rowsOf(v.by_prompt_name['document'] as StoredMatrix), '/encode prompt_name document');
      // Two requests in flight with different prompt names: each gets its own.
      const [a, b] = await Promise.all([
        postJson(`${server.url}/embed`, { inputs: input, prompt_name: 'document' }),
        postJson(`${server.url}/embed`, { inputs: input, prompt_name: 'query' }),
      ]);
      close(a.json as unknown as number[][], rowsOf(v.by_prompt_name['document'] as StoredMatrix), '/embed document', true);
      close(b.json as unknown as number[][], rowsOf(v.by_prompt_name['query'] as StoredMatrix), '/embed query', true);
      const unknown = await postJson(`${server.url}/encode`, { texts: input, prompt_name: 'nope' });
      assert.equal(unknown.status, 400, unknown.text);
      assert.equal((unknown.json.error as { field?: string }).field, 'prompt_name');
      const teiUnknown = await postJson(`${server.url}/embed`, { inputs: input, prompt_name: 'nope' });
      assert.equal(teiUnknown.status, 422, teiUnknown.text);
    } finally {
      await server.close();
    }
  });
});

describe('prompts through eval', () => {
  /** The run file's scores, query by query: every document's score against brute force over Python's vectors. */
  function checkRun(run: string, queries: Matrix, docs: Matrix, what: string): void {
    const lines = run.trim().split('\n');
    assert.equal(lines.length, evalQueries.length * docRows.length, what);
    for (const line of lines) {
      const [qid, , docid, , score] = line.split(/\s+/);
      const want = cosine(queries.row(Number((qid as string).slice(1))), docs.row(Number((docid as string).slice(1))));
      assert.ok(Math.abs(Number(score) - want) <= 1e-5, `${what}: ${qid} ${docid} scored ${score}, Python ${want}`);
    }
  }
  // One line per query in a tsv: texts without tabs or line breaks.
  const evalQueries = docRows.filter((i) => !/[\t\n\r]/.test(texts[i] as string)).slice(0, 5);
  function taskFiles(dir: string): string[] {
    const queries = join(dir, 'queries.tsv');
    writeFileSync(queries, evalQueries.map((i) => `q${i}\t${texts[i]}`).join('\n') + '\n');
    const qrels = join(dir, 'qrels.txt');
    writeFileSync(qrels, evalQueries.map((i) => `q${i} 0 t${i} 1`).join('\n') + '\n');
    return ['--queries', queries, '--qrels', qrels];
  }

  test('eval --corpus: queries as encode_query, passages as encode_document (instructor: include_prompt false)', async () => {
    const v = vectors.instructor;
    const { model, dir } = setup('instructor');
    const run = join(dir, 'run.txt');
    const r = await runCaptured(['eval', '-m', model, '--corpus', corpusFile(dir, docRows, 'c.jsonl'), ...taskFiles(dir), '-o', run]);
    assert.equal(r.code, 0, r.err);
    checkRun(readFileSync(run, 'utf8'), m(v.encode_query), m(v.encode_document), 'eval --corpus');
  });

  test("eval --index: queries take the index's recorded query prompt", async () => {
    const v = vectors.e5;
    const { model, dir } = setup('e5');
    const out = join(dir, 'idx');
    const built = await runCaptured(['index', corpusFile(dir, docRows, 'c.jsonl'), '-m', model, '-o', out, '--prompt-name', 'passage', '--query-prompt-name', 'passage']);
    assert.equal(built.code, 0, built.err);
    const run = join(dir, 'run.txt');
    const r = await runCaptured(['eval', '-m', model, '--index', out, ...taskFiles(dir), '-o', run]);
    assert.equal(r.code, 0, r.err);
    const passage = m(v.by_prompt_name['passage'] as StoredMatrix);
    checkRun(readFileSync(run, 'utf8'), passage, passage, 'eval --index');
  });
});

test('encode --prompt-name: as encode(prompt_name=…); without it, the default_prompt_name applies', async () => {
  const v = vectors.instructor;
  const { model } = setup('instructor');
  const rows = queryRows.slice(0, 3);
  const args = rows.map((i) => texts[i] as string);
  for (const [flags, want] of [[['--prompt-name', 'document'], v.by_prompt_name['document'] as StoredMatrix], [[], v.encode]] as const) {
    const r = await runCaptured(['encode', '-m', model, ...flags, ...args]);
    assert.equal(r.code, 0, r.err);
    const got = (JSON.parse(r.out) as { embeddings: number[][] }).embeddings;
    got.forEach((row, k) => row.forEach((x, d) => assert.ok(Math.abs(x - (m(want).row(rows[k] as number)[d] as number)) <= 1e-5, `${flags.join(' ')} row ${k}[${d}]`)));
  }
});
