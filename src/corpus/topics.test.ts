import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSgmlTopics, readTrecTopics } from './topics.js';
import { readMsMarcoQueries } from '../corpus/msmarco.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const DL19 = ['msmarco-passage-topics-qrels', 'topics.dl19-passage.txt'];

test('readTrecTopics reads the tab-separated DL topics like a queries.tsv', { skip: skipWithoutShared(...DL19) }, async () => {
  const path = sharedFile(...DL19);
  const topics = await readTrecTopics(path);
  assert.deepEqual(topics, await readMsMarcoQueries(path));
  assert.ok(topics.size > 0);
});

const SGML = `<top>
<num> Number: 301
<title> International Organized Crime

<desc> Description:
Identify organizations that participate in
international criminal activity.

<narr> Narrative:
A relevant document must name the organization.
</top>

<top>
<num> Number: 302 
<title> Poliomyelitis and Post-Polio
<desc> Description:
Is the disease under control?
<narr> Narrative:
Relevant documents discuss it.
</top>
`;

test('readTrecTopics reads classic <top> topics, title by default or another field', async () => {
  const s = await scratch();
  try {
    const p = await s.write('topics.301-302', SGML.replace(/\n/g, '\r\n'));
    assert.deepEqual(await readTrecTopics(p), new Map([['301', 'International Organized Crime'], ['302', 'Poliomyelitis and Post-Polio']]));
    const desc = await readTrecTopics(p, { field: 'description' });
    assert.equal(desc.get('301'), 'Identify organizations that participate in international criminal activity.');
    const full = await readSgmlTopics(p);
    assert.equal(full.get('302')?.narrative, 'Relevant documents discuss it.');
  } finally {
    await s.remove();
  }
});

test('readSgmlTopics reports an unclosed topic, a missing number and a repeated one with the line', async () => {
  const s = await scratch();
  try {
    const open = await s.write('open.txt', '<top>\n<num> Number: 1\n<title> a\n</top>\n\n<top>\n<num> Number: 2\n');
    await assert.rejects(readSgmlTopics(open), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.line === 6);
    const nonum = await s.write('nonum.txt', '<top>\n<title> a\n</top>\n');
    await assert.rejects(readSgmlTopics(nonum), (e) => isSemsearchError(e, 'MALFORMED_LINE') && e.field === 'num' && e.line === 1);
    const dup = await s.write('dup.txt', '<top>\n<num> 5\n<title> a\n</top>\n<top>\n<num> 5\n<title> b\n</top>\n');
    await assert.rejects(readSgmlTopics(dup), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.line === 5);
  } finally {
    await s.remove();
  }
});
