import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressBar, formatBytes, formatDuration, type DownloadProgress } from './progress.js';

function fakeStream(isTTY: boolean): { isTTY: boolean; columns: number; out: string[]; write: (s: string) => boolean } {
  const out: string[] = [];
  return { isTTY, columns: 200, out, write: (s: string) => out.push(s) > 0 };
}

const step = (downloadedBytes: number): DownloadProgress => ({
  repoId: 'sentence-transformers/x',
  file: 'onnx/model.onnx',
  downloadedBytes,
  totalBytes: 100_000_000,
  filesDone: 0,
  filesTotal: 3,
});

test('on a terminal the bar shows bytes done and total, speed and ETA', () => {
  const stream = fakeStream(true);
  let t = 0;
  const bar = createProgressBar(stream, { now: () => t, intervalMs: 0 });
  bar.update(step(0));
  t = 2000;
  bar.update(step(20_000_000));
  bar.finish();
  const line = stream.out.find((s) => s.includes('20.0 MB/100 MB')) ?? '';
  assert.match(line, /^\r/);
  assert.match(line, / 20% /);
  assert.match(line, /10\.0 MB\/s/);
  assert.match(line, /ETA 00:08/);
  assert.equal(stream.out.at(-1), '\n');
});

test('when stderr is not a terminal nothing at all is written', () => {
  const stream = fakeStream(false);
  const bar = createProgressBar(stream, { intervalMs: 0 });
  bar.update(step(5));
  bar.update(step(100_000_000));
  bar.finish();
  assert.deepEqual(stream.out, []);
});

test('redraws are throttled, but the last state is always drawn', () => {
  const stream = fakeStream(true);
  let t = 0;
  const bar = createProgressBar(stream, { now: () => t, intervalMs: 100 });
  for (let i = 1; i <= 50; i++) {
    t += 1;
    bar.update(step(i * 1000));
  }
  assert.ok(stream.out.length <= 2, `${stream.out.length} redraws`);
  bar.finish();
  assert.ok(stream.out.some((s) => s.includes('50.0 kB/100 MB')));
});

test('byte and duration formats', () => {
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(265_000_000), '265 MB');
  assert.equal(formatDuration(0), '00:00');
  assert.equal(formatDuration(75), '01:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Infinity), '--:--');
});
