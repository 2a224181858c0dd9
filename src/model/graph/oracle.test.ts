// The differential test of built graphs (short run): every committed random config of
// tools/reference/make_graph_configs.py (src/model/fixtures/graph-oracle/), built from its checkpoint alone, within
// 1e-5 of sentence-transformers on torch, or refused as the config expects. The long run: npm run graph-oracle.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../../encoder/test-support/fixtures.js';
import { checkConfig, describeSettings, readOracleManifest } from './test-support/oracle.js';

const ROOT = join(FIXTURES, 'graph-oracle');
const manifest = readOracleManifest(ROOT);
// Builds go to a scratch cache, not the user's.
const cache = mkdtempSync(join(tmpdir(), 'semsearch-oracle-cache-'));
process.env['SEMSEARCH_BUILD_CACHE'] = cache;
after(() => rmSync(cache, { recursive: true, force: true }));

describe('built graphs against torch on random configs (make_graph_configs.py)', () => {
  test('the committed set covers every family, both kinds, and refusals', () => {
    const kinds = new Set(manifest.configs.map((c) => `${c.kind}-${c.family}`));
    assert.deepEqual([...kinds].sort(), ['bi-bert', 'bi-distilbert', 'bi-electra', 'bi-mpnet', 'bi-roberta', 'bi-xlm-roberta', 'cross-bert', 'cross-distilbert', 'cross-electra', 'cross-mpnet', 'cross-roberta', 'cross-xlm-roberta']);
    assert.ok(manifest.configs.some((c) => c.settings.expect !== 'match'));
  });
  for (const c of manifest.configs) {
    test(`${c.name} (${c.settings.expect === 'match' ? 'within 1e-5 of torch' : `refused: ${c.settings.expect}`}): ${describeSettings(c)}`, async () => {
      const r = await checkConfig(ROOT, manifest, c);
      assert.ok(r.ok, r.detail);
    });
  }
});
