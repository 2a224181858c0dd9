// Issue 28, item 4: text is never changed on its way in. Input files must be UTF-8 and strings well-formed
// Unicode; anything else is INVALID_ENCODING naming the file, line and field (before, Node's decoder put U+FFFD
// in place of bad bytes, and a JSON "\ud800" escape became an id SQLite stores as U+FFFD: both silently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSemsearchError, type SemsearchError } from '../errors.js';
import { scratch } from '../test-support/files.js';
import { readLines } from './line-reader.js';
import { readMetadataFile } from './metadata.js';
import { iteratePassages, readPassages } from './passages.js';
import { readQueries } from './queries.js';

async function rejects(p: Promise<unknown>, want: { file?: string; line?: number; field?: string; message: RegExp }): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSemsearchError(e, 'INVALID_ENCODING'), String(e));
    const err = e as SemsearchError;
    if (want.file !== undefined) assert.equal(err.file, want.file);
    assert.equal(err.line, want.line);
    assert.equal(err.field, want.field);
    assert.match(err.message, want.message);
    return true;
  });
}

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}

test('a TSV, JSONL, folder, candidates or topics file that is not UTF-8 is INVALID_ENCODING naming its file and line; nothing is replaced', async () => {
  const s = await scratch();
  try {
    const tsv = join(s.dir, 'collection.tsv');
    // Latin-1 "café" (0xE9 alone) on line 3.
    await writeFile(tsv, Buffer.concat([Buffer.from('1\tone\n2\ttwo\n3\tcaf'), Buffer.from([0xe9]), Buffer.from('\n4\tfour\n')]));
    await rejects(drain(iteratePassages(tsv)), { file: tsv, line: 3, message: /collection\.tsv:3: not valid UTF-8 \(bytes e9 0a/ });
    // A UTF-8-encoded lone surrogate (CESU-8 "\xed\xa0\x80") is not UTF-8 either; a last line without newline too.
    const last = join(s.dir, 'last.tsv');
    await writeFile(last, Buffer.concat([Buffer.from('1\tone\n2\t'), Buffer.from([0xed, 0xa0, 0x80])]));
    await rejects(drain(iteratePassages(last)), { file: last, line: 2, message: /last\.tsv:2: not valid UTF-8 \(bytes ed a0 80\)/ });

    const beir = join(s.dir, 'corpus.jsonl');
    await writeFile(beir, Buffer.concat([Buffer.from('{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": "bad '), Buffer.from([0xff]), Buffer.from('"}\n')]));
    await rejects(drain(iteratePassages(beir)), { file: beir, line: 2, message: /not valid UTF-8/ });

    const folder = join(s.dir, 'docs');
    await mkdir(folder);
    const doc = join(folder, 'a.txt');
    await writeFile(doc, Buffer.concat([Buffer.from('first paragraph\n\nsecond '), Buffer.from([0xc3]), Buffer.from(' end\n')]));
    await rejects(readPassages([folder]), { file: doc, line: 3, message: /a\.txt:3: not valid UTF-8/ });

    const cands = join(s.dir, 'cands.json');
    await writeFile(cands, Buffer.concat([Buffer.from('[{"query": "q", "hits": [\n{"qid": 1, "docid": "d", "rank": 1, "score": 1, "content": "x'), Buffer.from([0x80]), Buffer.from('"}]}]\n')]));
    await rejects(drain(iteratePassages(cands)), { file: cands, line: 2, message: /not valid UTF-8/ });

    const topics = join(s.dir, 'topics.txt');
    await writeFile(topics, Buffer.concat([Buffer.from('<top>\n<num> Number: 1\n<title> caf'), Buffer.from([0xe9]), Buffer.from('\n</top>\n')]));
    await rejects(readQueries(topics), { file: topics, line: 3, message: /not valid UTF-8/ });
  } finally {
    await s.remove();
  }
});

test('valid UTF-8 still reads as before: characters split across read chunks, a BOM, CRLF', async () => {
  const s = await scratch();
  try {
    // 1 MiB chunks: put a 4-byte and a 2-byte character across the first border.
    const pad = 'x'.repeat((1 << 20) - 2);
    const p = join(s.dir, 'big.tsv');
    await writeFile(p, '\uFEFF' + `1\t${pad}😀é\r\n2\tdeux\n`);
    const got: string[] = [];
    for await (const l of readLines(p)) got.push(l.text);
    assert.deepEqual(got, [`1\t${pad}😀é`, '2\tdeux']);
    const tiny = await s.write('tiny.txt', '\uFEFF');
    const none: string[] = [];
    for await (const l of readLines(tiny)) none.push(l.text);
    assert.deepEqual(none, []);
  } finally {
    await s.remove();
  }
});

test('a JSON escape that decodes to a lone surrogate in an id, a text or metadata is INVALID_ENCODING naming file, line and field', async () => {
  const s = await scratch();
  try {
    // The file is valid UTF-8 (the escape is ASCII); JSON.parse makes the lone surrogate.
    const beir = await s.write('corpus.jsonl', '{"_id": "d1", "text": "ok"}\n{"_id": "d\\ud800", "text": "fine"}\n');
    await rejects(drain(iteratePassages(beir)), { file: beir, line: 2, field: 'id', message: /corpus\.jsonl:2: id: the passage id holds a lone UTF-16 surrogate \(U\+D800 at index 1\)/ });
    const text = await s.write('text.jsonl', '{"_id": "d1", "text": "a \\udc00 b"}\n');
    await rejects(drain(iteratePassages(text)), { file: text, line: 1, field: 'text', message: /text of passage d1 holds a lone UTF-16 surrogate \(U\+DC00 at index 2\)/ });
    const meta = await s.write('meta.jsonl', '{"_id": "d1", "text": "ok", "lang": "e\\ud83d"}\n');
    await rejects(drain(iteratePassages(meta)), { file: meta, line: 1, field: 'lang', message: /metadata field lang of passage d1/ });
    // A surrogate pair is one character, and fine.
    const pair = await s.write('pair.jsonl', '{"_id": "d\\ud83d\\ude00", "text": "ok"}\n');
    const ids: string[] = [];
    for await (const p of iteratePassages(pair)) ids.push(p.id);
    assert.deepEqual(ids, ['d😀']);

    const side = await s.write('side.jsonl', '{"id": "p1", "year": 2020}\n{"id": "p\\udfff", "year": 2021}\n');
    await rejects(readMetadataFile(side), { file: side, line: 2, field: 'id', message: /metadata id holds a lone UTF-16 surrogate/ });
    const sideBytes = join(s.dir, 'side-bytes.jsonl');
    await writeFile(sideBytes, Buffer.concat([Buffer.from('{"id": "p'), Buffer.from([0xfe]), Buffer.from('", "year": 1}\n')]));
    await rejects(readMetadataFile(sideBytes), { file: sideBytes, line: 1, message: /not valid UTF-8/ });
  } finally {
    await s.remove();
  }
});
