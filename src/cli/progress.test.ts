import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from './progress.js';

function sink(isTTY: boolean): { out: { isTTY: boolean; write: (s: string) => void }; text: () => string } {
  let text = '';
  return { out: { isTTY, write: (s: string) => void (text += s) }, text: () => text };
}

test('off a terminal: a plain line every interval, never one per update, and the final state at the end', () => {
  let t = 0;
  const s = sink(false);
  const p = createProgress(s.out, 'passages', { now: () => t, lineEveryMs: 10_000 });
  for (let i = 1; i <= 1000; i++) {
    t += 50; // 50 s in all
    p.update('indexed', i * 10, 10_000);
  }
  p.finish();
  const lines = s.text().trim().split('\n');
  assert.equal(lines.length, 5, s.text()); // 10, 20, 30 and 40 s after the first update, and the final state
  assert.match(lines[0] as string, /^indexed: 2010\/10000 passages \(20%\), 200\.0 passages\/s, ETA 00:40$/);
  assert.match(lines[4] as string, /^indexed: 10000\/10000 passages \(100%\)/);
  assert.ok(!s.text().includes('\r') && !s.text().includes('\u001b'), 'no carriage returns or escape codes');
});

test('at a terminal: one line redrawn in place with a bar, rate and ETA; a new phase starts a new line', () => {
  let t = 0;
  const s = sink(true);
  const p = createProgress(s.out, 'texts', { now: () => t, redrawEveryMs: 100 });
  t = 1000;
  p.update('encoding queries', 50, 100);
  t = 2000;
  p.update('encoding documents', 10, 1000);
  t = 3000;
  p.update('encoding documents', 510, 1000);
  p.finish();
  const text = s.text();
  assert.ok(text.includes('\r[##########..........]  50% encoding queries: 50/100 texts'), text);
  assert.ok(text.includes('50/100 texts\u001b[K\n\r[....................]   1% encoding documents: 10/1000 texts'), 'a new phase starts a new line');
  assert.ok(text.includes('\r[##########..........]  51% encoding documents: 510/1000 texts, 500.0 texts/s, ETA 00:01\u001b[K'), text);
  assert.ok(text.endsWith('\n'));
});
