import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

const WORDS = 'london paris river bridge tower museum garden train station coffee bread winter summer é 中文'.split(' ');
/** 100 distinct texts of 1 to 12 words; line i of a long input is TEXTS[i % 100]. */
const TEXTS = Array.from({ length: 100 }, (_, i) => {
  let x = (i * 2654435761 + 7) >>> 0;
  const n = 1 + (i % 12);
  const w: string[] = [];
  for (let j = 0; j < n; j++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    w.push(WORDS[(x >>> 8) % WORDS.length] as string);
  }
  return `${w.join(' ')} ${i}`;
});

interface EncodeJson {
  model: string;
  precision: string;
  dim: number;
  embeddings: number[][];
}

describe('semsearch encode streams standard input', () => {
  let dir: string;
  let model: SentenceTransformer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-encode-stream-'));
    model = await loadModelFromDir(BERT);
  });
  after(async () => {
    await model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('20,000 lines through a process whose heap is capped at 32 MB: output starts before the input ends, and is complete and correct', async (t) => {
    // Holding every line, every embedding and the whole JSON text at once (as encode did) needs more than 32 MB
    // of heap for 20,000 lines: that process ran out of memory (SIGABRT). One group at a time needs far less.
    const lines = 20_000;
    const child = spawn(process.execPath, ['--max-old-space-size=32', '--import', 'tsx', MAIN, 'encode', '-m', BERT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.on('data', (d) => (err += String(d)));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.on('close', (code, signal) => ok({ code, signal })));
    // A failed check must not leave the process waiting on its open standard input.
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    // The first 3,000 lines, then wait for output while standard input is still open: the first group of
    // 1,024 texts is written before the rest of the input exists.
    const first = 3_000;
    child.stdin.write(Array.from({ length: first }, (_, i) => `${TEXTS[i % 100]}\n`).join(''));
    const early = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no output 60 s after the first ${first} lines; stderr: ${err}`)), 60_000);
      const onData = (d: string): void => {
        out += d;
        if (out.includes('],[')) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          ok(out);
        }
      };
      child.stdout.on('data', onData);
      void closed.then(({ code, signal }) => fail(new Error(`encode ended (code ${code}, signal ${signal}) before writing; stderr: ${err}`)));
    });
    assert.match(early, /^\{"model":".*","precision":"float32","dim":32,"embeddings":\[\[/);
    child.stdout.on('data', (d: string) => (out += d));
    for (let i = first; i < lines; i += 1000) {
      const piece = Array.from({ length: Math.min(1000, lines - i) }, (_, j) => `${TEXTS[(i + j) % 100]}\n`).join('');
      if (!child.stdin.write(piece)) await new Promise((ok) => child.stdin.once('drain', ok));
    }
    child.stdin.end();
    const { code, signal } = await closed;
    assert.equal(signal, null, `the process was killed by ${signal}: ${err.slice(-500)}`);
    assert.equal(code, 0, err);
    const json = JSON.parse(out) as EncodeJson;
    assert.equal(json.embeddings.length, lines);
    const want = await model.encode(TEXTS);
    for (let i = 0; i < lines; i++) {
      const got = json.embeddings[i] as number[];
      const w = want.row(i % 100);
      assert.equal(got.length, 32);
      for (let d = 0; d < 32; d++) assert.ok(Math.abs((got[d] as number) - (w[d] as number)) <= 1e-5, `line ${i + 1} dimension ${d}: ${got[d]} vs ${w[d]}`);
    }
  });

  test('the bytes are what JSON.stringify of the whole result gives, at every precision, from arguments, stdin and -o, over several groups', async () => {
    const whole = async (texts: string[], precision: 'float32' | 'int8' | 'uint8' | 'binary' | 'ubinary', normalize = false): Promise<string> => {
      // encode's overloads type the result by precision; every precision's result has rows, dim and data.
      const r = await model.encode(texts, { precision: precision as 'float32', batchSize: 1, normalize });
      const rows: number[][] = [];
      for (let i = 0; i < r.rows; i++) rows.push(Array.from(r.data.subarray(i * r.dim, (i + 1) * r.dim)));
      return JSON.stringify({ model: BERT, precision, dim: r.dim, embeddings: rows });
    };
    // --batch-size 1: groups of 32 texts, so 70 lines are 3 groups (int8 and uint8 then wait in a temporary file
    // for the ranges of all of them); one text per batch keeps every float equal to encoding them all at once.
    const texts = TEXTS.slice(0, 70);
    const stdin = texts.join('\n') + '\n\n';
    for (const precision of ['float32', 'int8', 'uint8', 'binary', 'ubinary'] as const) {
      const r = await runCaptured(['encode', '-m', BERT, '--batch-size', '1', '--precision', precision], { stdin });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, (await whole(texts, precision)) + '\n', precision);
    }
    const normalized = await runCaptured(['encode', '-m', BERT, '--batch-size', '1', '--normalize', ...TEXTS.slice(0, 40)]);
    assert.equal(normalized.out, (await whole(TEXTS.slice(0, 40), 'float32', true)) + '\n');
    const dash = await runCaptured(['encode', '-m', BERT, '--batch-size', '1', '-'], { stdin: TEXTS.slice(0, 3).join('\n') });
    assert.equal(dash.out, (await whole(TEXTS.slice(0, 3), 'float32')) + '\n');
    // -o: the same document without the final newline, through a temporary file that is gone afterwards.
    const sub = join(dir, 'o');
    mkdirSync(sub);
    const file = join(sub, 'e.json');
    const o = await runCaptured(['encode', '-m', BERT, '--batch-size', '1', '--precision', 'int8', '-o', file], { stdin });
    assert.equal(o.code, 0, o.err);
    assert.equal(readFileSync(file, 'utf8'), await whole(texts, 'int8'));
    assert.deepEqual(readdirSync(sub), ['e.json']);
  });

  test('a failed encode leaves the -o file as it was; -o naming a folder or a missing folder is refused before the model loads', async () => {
    const file = join(dir, 'keep.json');
    writeFileSync(file, 'old contents');
    const empty = await runCaptured(['encode', '-m', BERT, '-o', file], { stdin: '\n\n' });
    assert.equal(empty.code, 1);
    assert.match(empty.err, /EMPTY_INPUT/);
    assert.equal(readFileSync(file, 'utf8'), 'old contents');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('keep')), ['keep.json']);
    // The model does not exist: these are refused before it would be looked for.
    const folder = await runCaptured(['encode', '-m', '/nonexistent/model', '-o', dir, 'x']);
    assert.equal(folder.code, 1);
    assert.match(folder.err, /FILE_WRITE_FAILED: --out .* is a folder; give the name of a file to write/);
    const missing = await runCaptured(['encode', '-m', '/nonexistent/model', '-o', join(dir, 'no', 'such', 'e.json'), 'x']);
    assert.match(missing.err, /FILE_WRITE_FAILED: --out .*: the folder .* does not exist/);
    assert.equal(existsSync(join(dir, 'no')), false);
  });
});
