import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitIdOf, readFolder, startHubServer } from '../hub/test-support/hub-server.js';
import { loadModel, loadModelFromDir } from './load-model.js';
import { FIXTURES, maxAbsDiff, readTexts } from './test-support/fixtures.js';

const cache = mkdtempSync(join(tmpdir(), 'semsearch-byname-'));
after(() => rmSync(cache, { recursive: true, force: true }));

test('loadModel by bare name downloads from a hub look-alike into the cache, then loads offline, same vectors', async () => {
  const files = readFolder(join(FIXTURES, 'models', 'distilbert'));
  const commit = commitIdOf(files);
  const hub = await startHubServer([{ id: 'sentence-transformers/msmarco-tiny-dot-v5', commits: new Map([[commit, files]]), refs: new Map([['main', commit]]) }]);
  try {
    const texts = readTexts().slice(0, 8);
    const local = await loadModelFromDir(join(FIXTURES, 'models', 'distilbert'));
    const want = await local.encode(texts);
    await local.dispose();

    const env = { HF_HUB_DISABLE_PROGRESS_BARS: '1' };
    const online = await loadModel('msmarco-tiny-dot-v5', { endpoint: hub.endpoint, cacheDir: cache, env });
    assert.ok(online.config.dir.startsWith(join(cache, 'models--sentence-transformers--msmarco-tiny-dot-v5', 'snapshots')));
    assert.ok(maxAbsDiff(await online.encode(texts), want) === 0);
    await online.dispose();

    const before = hub.requests.length;
    const offline = await loadModel('msmarco-tiny-dot-v5', { cacheDir: cache, localFilesOnly: true, env });
    assert.equal(hub.requests.length, before, 'no request while offline');
    assert.ok(maxAbsDiff(await offline.encode(texts), want) === 0);
    await offline.dispose();
    await assert.rejects(loadModel('msmarco-other-dot-v5', { cacheDir: cache, localFilesOnly: true, env }), { code: 'HUB_OFFLINE_MISSING' });
  } finally {
    await hub.close();
  }
});
